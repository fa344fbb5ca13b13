"""Twilio's WhatsApp webhooks: inbound messages and delivery status callbacks.

Every request is checked against ``X-Twilio-Signature`` first. An inbound message is
acknowledged at once (Twilio waits at most 15 s) and handled in the background; replies
go out through the Outbox (Twilio REST API), never as TwiML, so a slow Rasa never makes
Twilio retry and a failed send is retried and recorded."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from twilio.request_validator import RequestValidator

from bot import messages
from bot.channels.options import resolve_option
from bot.channels.outbound import Outbox
from bot.channels.whatsapp import (
    STATUS_CALLBACK_PATH,
    InboundKind,
    InboundWhatsApp,
    buttons_as_json,
    buttons_from_json,
)
from bot.conversation import ConversationRouter, RasaUnavailable
from bot.domain.replies import BotReply
from bot.domain.senders import Channel, make_sender_id
from bot.gateway.number_change import NotMeHandler
from bot.privacy import mask_sender
from bot.services.channel_log import ChannelLog, record_inbound_safely
from bot.settings import Settings
from bot.shared_state import SharedStore

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/whatsapp"
#: Twilio retries a webhook that failed or timed out; a day covers every retry.
DEDUP_TTL_SECONDS = 24 * 3600
#: Numbered options stay answerable for as long as WhatsApp's service window.
OPTIONS_TTL_SECONDS = 24 * 3600
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio signed: the configured public origin when behind a proxy."""
    if settings.public_base_url:
        query = f"?{request.url.query}" if request.url.query else ""
        return settings.public_base_url.rstrip("/") + request.url.path + query
    return str(request.url)


class WhatsAppConversations:
    """Turns one verified inbound message into replies sent through the outbox."""

    def __init__(
        self,
        router: ConversationRouter,
        outbox: Outbox,
        store: SharedStore,
        channel_log: ChannelLog | None,
        not_me: NotMeHandler | None = None,
    ):
        self._router = router
        self._outbox = outbox
        self._store = store
        self._channel_log = channel_log
        self._not_me = not_me

    def _options_key(self, sender_id: str) -> str:
        digest = self._channel_log.sender_hash(sender_id) if self._channel_log else sender_id
        return f"wa:options:{digest}"

    async def _as_button_press(self, sender_id: str, text: str) -> str:
        """A reply of just a number (or an option's words) presses that option."""
        saved = await self._store.get(self._options_key(sender_id))
        if not saved:
            return text
        buttons = buttons_from_json(saved)
        index = resolve_option(text, [b.title for b in buttons])
        return text if index is None else buttons[index].payload

    async def _remember_options(self, sender_id: str, replies: list[BotReply]) -> None:
        buttons = next((r.buttons for r in reversed(replies) if r.buttons), ())
        key = self._options_key(sender_id)
        if buttons:
            await self._store.put(key, buttons_as_json(buttons), OPTIONS_TTL_SECONDS)
        else:
            await self._store.delete(key)

    async def process(self, message: InboundWhatsApp) -> None:
        sender_id = make_sender_id(Channel.WHATSAPP, message.sender_number)
        # The turn is taken before anything else awaits: the number pressed in "2" must be
        # read against the options of the message before it, in the order they came.
        async with self._router.turn(sender_id):
            await self._process_in_turn(sender_id, message)

    async def _process_in_turn(self, sender_id: str, message: InboundWhatsApp) -> None:
        await record_inbound_safely(self._channel_log, sender_id)
        if message.kind is InboundKind.MEDIA:
            await self._outbox.send(sender_id, BotReply(text=messages.NON_TEXT_MESSAGE))
            return
        if message.kind is InboundKind.LOCATION:
            await self._outbox.send(sender_id, BotReply(text=messages.LOCATION_MESSAGE))
            return

        async def deliver(replies: list[BotReply]) -> None:
            for reply in replies:
                await self._outbox.send(sender_id, reply)
            await self._remember_options(sender_id, replies)

        if self._not_me is not None:
            reported = await self._not_me(sender_id, message.body)
            if reported is not None:  # a number change this number did not ask for
                await deliver(reported)
                return
        text = await self._as_button_press(sender_id, message.body)
        try:
            await self._router.converse(sender_id, text, deliver=deliver)
        except RasaUnavailable as error:
            log.error("WhatsApp message from %s not processed: %s", mask_sender(sender_id), error)
            await self._outbox.send(sender_id, BotReply(text=messages.RASA_UNAVAILABLE))


async def _verified_form(request: Request, settings: Settings) -> dict[str, str] | Response:
    if settings.twilio_auth_token is None:
        log.error("WhatsApp webhook called but SADAR_TWILIO_AUTH_TOKEN is not set")
        return Response("WhatsApp channel is not configured", status_code=503)
    try:
        text = (await request.body()).decode("utf-8")
        form = dict(parse_qsl(text, keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError:
        return Response("the form is not UTF-8", status_code=400)
    signature = request.headers.get("X-Twilio-Signature", "")
    url = public_url(request, settings)
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    if not signature or not validator.validate(url, form, signature):
        log.warning("rejected a Twilio webhook with a bad signature for %s", url)
        return Response("invalid signature", status_code=403)
    return form


def whatsapp_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.post(WEBHOOK_PATH)
    async def inbound(request: Request) -> Response:
        form = await _verified_form(request, settings)
        if isinstance(form, Response):
            return form
        if not form.get("From", "").startswith("whatsapp:+"):
            # Signed, but not a WhatsApp message (an SMS or a malformed sender): not ours.
            return Response("only WhatsApp senders (whatsapp:+…) are accepted", status_code=422)
        conversations: WhatsAppConversations | None = request.app.state.whatsapp
        if conversations is None:
            log.error(
                "WhatsApp message received but replies cannot be sent: set "
                "SADAR_TWILIO_ACCOUNT_SID and SADAR_TWILIO_WHATSAPP_FROM as well"
            )
            return Response("WhatsApp replies are not configured", status_code=503)
        message = InboundWhatsApp.from_form(form)
        store: SharedStore = request.app.state.store
        if message.message_sid and not await store.claim(
            f"wa:msg:{message.message_sid}", DEDUP_TTL_SECONDS
        ):
            log.info("ignored a repeated delivery of WhatsApp message %s", message.message_sid)
        else:
            request.app.state.background.spawn(conversations.process(message))
        return Response(EMPTY_TWIML, media_type="application/xml")

    @router.post(STATUS_CALLBACK_PATH)
    async def status_callback(request: Request) -> Response:
        form = await _verified_form(request, settings)
        if isinstance(form, Response):
            return form
        channel_log: ChannelLog = request.app.state.channel_log
        sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
        error = form.get("ErrorCode") or None
        if error and form.get("ErrorMessage"):
            error = f"{error}: {form['ErrorMessage']}"
        known = await asyncio.to_thread(channel_log.record_status, sid, status, error)
        if not known:
            log.info("status %r for a message Sadar did not record (%s)", status, sid)
        return Response(status_code=204)

    return router
