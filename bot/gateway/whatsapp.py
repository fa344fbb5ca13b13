"""Inbound WhatsApp messages from Twilio: signature check, then the shared conversation path.

Replies go back as TwiML in the webhook response; buttons become numbered options."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot import messages
from bot.conversation import BotReply, ConversationRouter, RasaUnavailable
from bot.domain.senders import Channel, make_sender_id
from bot.privacy import mask_sender
from bot.settings import Settings

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/whatsapp"


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio signed: the configured public origin when behind a proxy."""
    if settings.public_base_url:
        query = f"?{request.url.query}" if request.url.query else ""
        return settings.public_base_url.rstrip("/") + request.url.path + query
    return str(request.url)


def render_whatsapp_text(reply: BotReply) -> str:
    """WhatsApp text has no buttons here: list them as numbered options."""
    lines = [reply.text or ""]
    lines += [f"{i}. {button.title}" for i, button in enumerate(reply.buttons, start=1)]
    return "\n".join(line for line in lines if line)


def whatsapp_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.post(WEBHOOK_PATH)
    async def inbound(request: Request) -> Response:
        if settings.twilio_auth_token is None:
            log.error("WhatsApp webhook called but SADAR_TWILIO_AUTH_TOKEN is not set")
            return Response("WhatsApp channel is not configured", status_code=503)
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        signature = request.headers.get("X-Twilio-Signature", "")
        url = public_url(request, settings)
        validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
        if not signature or not validator.validate(url, form, signature):
            log.warning("rejected WhatsApp webhook with a bad signature for %s", url)
            return Response("invalid signature", status_code=403)

        sender_id = make_sender_id(Channel.WHATSAPP, form.get("From", "").removeprefix("whatsapp:"))
        conversation: ConversationRouter = request.app.state.router
        try:
            replies = await conversation.handle(sender_id, form.get("Body", ""))
        except RasaUnavailable as error:
            log.error("WhatsApp message from %s not processed: %s", mask_sender(sender_id), error)
            replies = [BotReply(text=messages.RASA_UNAVAILABLE)]
        twiml = MessagingResponse()
        for reply in replies:
            if not reply.is_empty:
                twiml.message(render_whatsapp_text(reply))
        return Response(str(twiml), media_type="application/xml")

    return router
