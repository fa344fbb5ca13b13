"""Twilio's WhatsApp webhooks: inbound messages and delivery status callbacks.

Every request is checked against ``X-Twilio-Signature`` first; then it is handed over. An
inbound message is acknowledged at once (Twilio waits at most 15 s) and its turn runs in the
background (bot/channels/whatsapp.py, WhatsAppConversations); replies go out through the
Outbox (Twilio REST API), never as TwiML, so a slow Rasa never makes Twilio retry and a
failed send is retried and recorded."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from twilio.request_validator import RequestValidator

from bot.channels.whatsapp import (
    STATUS_CALLBACK_PATH,
    InboundWhatsApp,
    WhatsAppConversations,
)
from bot.infra.settings import Settings
from bot.services.channel_log import ChannelLog

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/whatsapp"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio signed: the configured public origin when behind a proxy."""
    if settings.public_base_url:
        query = f"?{request.url.query}" if request.url.query else ""
        return settings.public_base_url.rstrip("/") + request.url.path + query
    return str(request.url)


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
        if await conversations.is_new(message):
            request.app.state.background.spawn(conversations.process(message))
        else:
            log.info("ignored a repeated delivery of WhatsApp message %s", message.message_sid)
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
