"""WhatsApp through Twilio: outbound messages over the REST API (twilio's asyncio client, so
the event loop never blocks), numbered options in place of buttons, and what an inbound
webhook form means (text, media, location)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.channels.outbound import (
    Accepted,
    PermanentSendError,
    TransientSendError,
    UncertainSendError,
)
from bot.domain.replies import BotReply, Button
from bot.domain.senders import Channel

log = logging.getLogger(__name__)
#: twilio logs request URLs and headers at INFO; they carry phone numbers.
logging.getLogger("sadar.twilio.http").setLevel(logging.WARNING)

#: Twilio refuses WhatsApp bodies longer than this.
MAX_BODY_CHARS = 1600
STATUS_CALLBACK_PATH = "/webhooks/whatsapp/status"


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
    MEDIA = "media"
    LOCATION = "location"


@dataclass(frozen=True)
class InboundWhatsApp:
    """The parts of Twilio's inbound webhook form that Sadar uses."""

    message_sid: str
    sender_number: str
    body: str
    kind: InboundKind

    @classmethod
    def from_form(cls, form: dict[str, str]) -> InboundWhatsApp:
        body = form.get("Body", "")
        if form.get("Latitude") and form.get("Longitude"):
            kind = InboundKind.LOCATION
        elif int(form.get("NumMedia") or 0) > 0 and not body.strip():
            kind = InboundKind.MEDIA
        else:
            kind = InboundKind.TEXT
        return cls(
            message_sid=form.get("MessageSid") or form.get("SmsMessageSid", ""),
            sender_number=form.get("From", "").removeprefix("whatsapp:"),
            body=body,
            kind=kind,
        )


def buttons_as_json(buttons: tuple[Button, ...]) -> str:
    return json.dumps([[b.title, b.payload] for b in buttons])


def buttons_from_json(raw: str) -> tuple[Button, ...]:
    return tuple(Button(title=title, payload=payload) for title, payload in json.loads(raw))


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
