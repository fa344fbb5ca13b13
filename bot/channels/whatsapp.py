"""WhatsApp through Twilio, both ways. Inbound: what a webhook form means (text, media,
location) and how one message becomes a turn (numbered options pressed, "BUKAN SAYA" from a
number a number change left, replies sent through the Outbox). Outbound: the REST API
(twilio's asyncio client, so the event loop never blocks), numbered options in place of
buttons. The gateway's route (bot/gateway/whatsapp.py) only verifies the request."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

# twilio imports its REST API's ~100 modules on the first use of ``Client.messages``: under
# load that blocked the gateway's event loop for about 0.7 s in its first WhatsApp reply.
# Imported here, it happens when the gateway starts.
from twilio.rest.api.v2010.account import AccountContext  # noqa: F401

from bot import messages
from bot.app_context import AppContext
from bot.channels.options import resolve_option
from bot.channels.outbound import (
    Accepted,
    Outbox,
    PermanentSendError,
    TransientSendError,
    UncertainSendError,
)
from bot.conversation import ConversationRouter, Deliver, Patience, RasaUnavailable
from bot.domain.replies import BotReply
from bot.domain.senders import Channel, make_sender_id
from bot.infra.privacy import mask_sender
from bot.infra.shared_state import SharedStore
from bot.services.channel_log import ChannelLog, record_inbound_safely
from bot.services.handoff import ticket_label
from bot.understanding.address_messages import says_not_me

log = logging.getLogger(__name__)
#: twilio logs request URLs and headers at INFO; they carry phone numbers.
logging.getLogger("sadar.twilio.http").setLevel(logging.WARNING)

#: Twilio refuses WhatsApp bodies longer than this.
MAX_BODY_CHARS = 1600
STATUS_CALLBACK_PATH = "/webhooks/whatsapp/status"
#: Twilio retries a webhook that failed or timed out; a day covers every retry.
DEDUP_TTL_SECONDS = 24 * 3600


def render_numbered(reply: BotReply) -> str:
    """WhatsApp text has no buttons here: list them as numbered options."""
    lines = [reply.text or ""]
    lines += [f"{i}. {button.title}" for i, button in enumerate(reply.buttons, start=1)]
    return "\n".join(line for line in lines if line)


def split_body(text: str, limit: int = MAX_BODY_CHARS) -> list[str]:
    """Cut a long text into messages Twilio accepts, at line or word breaks."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


class InboundKind(StrEnum):
    TEXT = "text"
    #: An image or a document: perhaps a KTP photo (a caption, if any, is not read).
    PHOTO = "photo"
    #: Voice, video, a contact card: nothing Sadar reads.
    MEDIA = "media"
    LOCATION = "location"


#: Media types sent as a possible KTP photo: images, and documents (a photo sent "as a file",
#: or a PDF, which the reader then refuses politely by its bytes). WhatsApp's stickers are
#: WebP images: a camera photo never is, so WebP is read as a sticker.
_PHOTO_TYPES = ("image/", "application/")
_STICKER_TYPE = "image/webp"


@dataclass(frozen=True)
class InboundWhatsApp:
    """The parts of Twilio's inbound webhook form that Sadar uses."""

    message_sid: str
    sender_number: str
    body: str
    kind: InboundKind
    #: Twilio's copies of the media attached (fetched with the account's credentials).
    media_urls: tuple[str, ...] = ()

    @classmethod
    def from_form(cls, form: dict[str, str]) -> InboundWhatsApp:
        body = form.get("Body", "")
        count = int(form.get("NumMedia") or 0) if (form.get("NumMedia") or "0").isdigit() else 0
        media_urls = tuple(url for i in range(count) if (url := form.get(f"MediaUrl{i}")))
        first_type = form.get("MediaContentType0", "")
        if form.get("Latitude") and form.get("Longitude"):
            kind = InboundKind.LOCATION
        elif media_urls and first_type.startswith(_PHOTO_TYPES) and first_type != _STICKER_TYPE:
            kind = InboundKind.PHOTO
        elif count > 0 and not body.strip():
            kind = InboundKind.MEDIA
        else:
            kind = InboundKind.TEXT
        return cls(
            message_sid=form.get("MessageSid") or form.get("SmsMessageSid", ""),
            sender_number=form.get("From", "").removeprefix("whatsapp:"),
            body=body,
            kind=kind,
            media_urls=media_urls,
        )


class TwilioMedia:
    """The media of inbound messages, on Twilio: fetched with the account's credentials
    (Twilio answers with a redirect to short-lived storage; httpx does not carry the
    credentials there), then deleted through the Media resource of the REST API, so no copy
    of a resident's KTP stays with Twilio. Only URLs of this account's messages on the
    configured API are fetched: the credentials go nowhere else."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base_url: str,
        max_bytes: int,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._auth = (account_sid, auth_token)
        self._prefix = f"{api_base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages/"
        self._max_bytes = max_bytes
        self._http = http or httpx.AsyncClient(timeout=20.0)

    def is_ours(self, url: str) -> bool:
        return url.startswith(self._prefix) and "/Media/" in url and ".." not in url

    async def fetch(self, url: str) -> bytes | None:
        """The media's bytes (at most one byte past the limit: the reader refuses it by its
        size); None when it cannot be had."""
        if not self.is_ours(url):
            log.warning("WhatsApp media not fetched: not a media URL of this Twilio account")
            return None
        data = bytearray()
        try:
            async with self._http.stream(
                "GET", url, auth=self._auth, follow_redirects=True
            ) as response:
                if response.status_code != 200:
                    log.warning("Twilio media fetch answered %d", response.status_code)
                    return None
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > self._max_bytes:
                        break
        except httpx.HTTPError as error:
            log.warning("Twilio media not fetched: %r", error)
            return None
        return bytes(data[: self._max_bytes + 1])

    async def delete(self, url: str) -> None:
        """Twilio's copy deleted (DELETE …/Media/{sid}.json answers 204); a failure is
        logged for the operator, never raised into the resident's turn."""
        if not self.is_ours(url):
            return
        target = url if url.endswith(".json") else f"{url}.json"
        try:
            response = await self._http.delete(target, auth=self._auth)
        except httpx.HTTPError as error:
            log.error("Twilio media not deleted (delete it in the console): %r", error)
            return
        if response.status_code not in (204, 404):
            log.error("Twilio media not deleted: Twilio answered %d", response.status_code)

    async def aclose(self) -> None:
        await self._http.aclose()


#: Replies for a report, or None when the message is an ordinary one (for Rasa).
NotMeHandler = Callable[[str, str], Awaitable[list[BotReply] | None]]


def not_me_handler(context: AppContext, outbox: Outbox) -> NotMeHandler:
    """A WhatsApp number that a number change left answers "BUKAN SAYA": reported here,
    before Rasa, because that number belongs to nobody's conversation any more (its address
    was removed). The report is an audit event and a ticket for the village agent
    (NumberChanges.report_not_me); the agent is told at once."""

    async def handle(sender_id: str, text: str) -> list[BotReply] | None:
        if not says_not_me(text):
            return None
        report = await asyncio.to_thread(
            context.number_changes.report_not_me, sender_id, text, context.clock.now()
        )
        if report is None:
            return None
        ticket = ticket_label(report.ticket_number)
        if report.agent_address is not None:
            notice = messages.NUMBER_CHANGE_REPORTED_AGENT.format(
                ticket=ticket, reference=report.reference
            )
            await outbox.send(report.agent_address, BotReply(text=notice))
        return [BotReply(text=messages.NUMBER_CHANGE_REPORTED.format(ticket=ticket))]

    return handle


#: Called with every sender that writes, after the message is logged (it opens the window).
ContactHandler = Callable[[str], Awaitable[None]]


def waiting_codes_handler(context: AppContext, outbox: Outbox) -> ContactHandler:
    """A resident whose walk-in consent code waited for them to write (outside WhatsApp's
    window, no approved template) gets it now; the agent who registered them is told."""

    async def handle(sender_id: str) -> None:
        sent = await context.on_behalf.send_awaited_codes(outbox, sender_id, context.clock.now())
        for item in sent:
            wording = (
                messages.CONSENT_CODE_SENT_ON_CONTACT
                if item.delivered
                else messages.CONSENT_CODE_NOT_SENT_ON_CONTACT
            )
            await outbox.send(
                item.agent_sender_id,
                BotReply(text=wording.format(name=item.resident_name)),
                purpose="agent_notice",
            )

    return handle


class WhatsAppConversations:
    """Turns one verified inbound message into replies sent through the outbox."""

    def __init__(
        self,
        router: ConversationRouter,
        outbox: Outbox,
        store: SharedStore,
        channel_log: ChannelLog | None,
        not_me: NotMeHandler | None = None,
        on_contact: ContactHandler | None = None,
        media: TwilioMedia | None = None,
        patience: Patience | None = None,
    ):
        self._router = router
        self._outbox = outbox
        self._store = store
        self._channel_log = channel_log
        self._not_me = not_me
        self._on_contact = on_contact
        self._media = media
        # Never dropped: a message waits its turn at Rasa, with one "mohon tunggu".
        self._patience = patience or Patience()

    async def is_new(self, message: InboundWhatsApp) -> bool:
        """False for a redelivery of a message already taken (by any gateway sharing the
        store): Twilio retries what was not acknowledged in time."""
        if not message.message_sid:
            return True
        return await self._store.claim(f"wa:msg:{message.message_sid}", DEDUP_TTL_SECONDS)

    async def _as_button_press(self, sender_id: str, text: str) -> str:
        """A reply of just a number (or an option's words) presses that option."""
        buttons = await self._router.offers.numbered(sender_id)
        if not buttons:
            return text
        index = resolve_option(text, [b.title for b in buttons])
        return text if index is None else buttons[index].payload

    async def process(self, message: InboundWhatsApp) -> None:
        sender_id = make_sender_id(Channel.WHATSAPP, message.sender_number)
        # The turn is taken before anything else awaits: the number pressed in "2" must be
        # read against the options of the message before it, in the order they came.
        deliver = self._outbox.deliverer(sender_id)
        async with self._router.turn(sender_id, deliver=deliver, patience=self._patience):
            try:
                await self._process_in_turn(sender_id, message, deliver)
            finally:
                if self._media is not None:
                    for url in message.media_urls:  # read or not, no copy stays at Twilio
                        await self._media.delete(url)

    async def _process_in_turn(
        self, sender_id: str, message: InboundWhatsApp, deliver: Deliver
    ) -> None:
        await record_inbound_safely(self._channel_log, sender_id)
        if self._on_contact is not None:
            try:
                await self._on_contact(sender_id)
            except Exception:  # the resident's own message must still be answered
                log.exception("waiting consent codes for %s not sent", mask_sender(sender_id))
        if message.kind is InboundKind.MEDIA or (
            message.kind is InboundKind.PHOTO and self._media is None
        ):  # (a photo with photos off is told to the router, which says to type)
            await self._outbox.send(sender_id, BotReply(text=messages.NON_TEXT_MESSAGE))
            return
        if message.kind is InboundKind.LOCATION:
            await self._outbox.send(sender_id, BotReply(text=messages.LOCATION_MESSAGE))
            return

        if message.kind is InboundKind.PHOTO:
            media, url = self._media, message.media_urls[0]
            assert media is not None
            try:
                await self._router.photo(
                    sender_id, lambda: media.fetch(url), deliver, patience=self._patience
                )
            except RasaUnavailable as error:
                log.error("WhatsApp photo from %s not processed: %s", mask_sender(sender_id), error)
                await self._outbox.send(sender_id, BotReply(text=messages.RASA_UNAVAILABLE))
            return

        if self._not_me is not None:
            reported = await self._not_me(sender_id, message.body)
            if reported is not None:  # a number change this number did not ask for
                await self._router.offers.remember(sender_id, reported, from_rasa=False)
                await deliver(reported)
                return
        text = await self._as_button_press(sender_id, message.body)
        try:
            await self._router.converse(sender_id, text, deliver=deliver, patience=self._patience)
        except RasaUnavailable as error:
            log.error("WhatsApp message from %s not processed: %s", mask_sender(sender_id), error)
            await self._outbox.send(sender_id, BotReply(text=messages.RASA_UNAVAILABLE))


class TwilioWhatsAppSender:
    """Sends through Twilio's Messages API from the configured WhatsApp number."""

    channel = Channel.WHATSAPP

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        api_base_url: str | None = None,
        status_callback_url: str | None = None,
    ):
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from = (
            from_number if from_number.startswith("whatsapp:") else f"whatsapp:{from_number}"
        )
        self._api_base_url = api_base_url
        self._status_callback_url = status_callback_url
        self._client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None

    def _twilio(self) -> Client:
        # Built lazily: the aiohttp session must be created inside the running loop.
        if self._client is None:
            self._http = AsyncTwilioHttpClient(logger=logging.getLogger("sadar.twilio.http"))
            self._client = Client(self._account_sid, self._auth_token, http_client=self._http)
            if self._api_base_url:
                self._client.api.base_url = self._api_base_url.rstrip("/")
        return self._client

    async def deliver(self, address: str, message: BotReply) -> list[Accepted]:
        to = f"whatsapp:{address}"
        extra = {"status_callback": self._status_callback_url} if self._status_callback_url else {}
        if message.template is not None:
            requests = [
                {
                    "content_sid": message.template.content_sid,
                    "content_variables": json.dumps(dict(message.template.variables)),
                }
            ]
        else:
            requests = [{"body": part} for part in split_body(render_numbered(message))]
        accepted = []
        for fields in requests:
            try:
                created = await self._twilio().messages.create_async(
                    to=to, from_=self._from, **fields, **extra
                )
            except TwilioRestException as error:
                detail = f"Twilio {error.status} (code {error.code}): {error.msg}"
                if error.status == 429 or error.status >= 500:
                    raise TransientSendError(detail) from error
                raise PermanentSendError(detail) from error
            except aiohttp.ConnectionTimeoutError as error:  # never reached Twilio
                raise TransientSendError(f"Twilio unreachable: {error!r}") from error
            except (TimeoutError, aiohttp.ServerDisconnectedError) as error:
                # The request may have been taken: resending could duplicate the message.
                raise UncertainSendError(f"Twilio did not answer: {error!r}") from error
            except aiohttp.ClientError as error:
                raise TransientSendError(f"Twilio unreachable: {error!r}") from error
            accepted.append(Accepted(created.sid, str(created.status or "queued")))
        return accepted

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
