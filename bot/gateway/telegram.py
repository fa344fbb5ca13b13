"""Telegram webhook mode: Telegram POSTs each Update here with the secret token header set
by `sadar telegram set-webhook`; anything without the right header is refused."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from telegram import Update

from bot.infra.privacy import secrets_match
from bot.infra.settings import Settings
from bot.infra.shared_state import SharedStore

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram retries an unacknowledged update for up to about a day.
DEDUP_TTL_SECONDS = 48 * 3600


def telegram_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.post(WEBHOOK_PATH)
    async def inbound(request: Request) -> Response:
        application = getattr(request.app.state, "telegram", None)
        if application is None or settings.telegram_webhook_secret is None:
            log.error("Telegram webhook called but SADAR_TELEGRAM_BOT_TOKEN/_WEBHOOK_SECRET unset")
            return Response("Telegram webhook is not configured", status_code=503)
        given = request.headers.get(SECRET_HEADER, "")
        expected = settings.telegram_webhook_secret.get_secret_value()
        if not secrets_match(given, expected):
            log.warning("rejected a Telegram webhook call without the right secret token")
            return Response("invalid secret token", status_code=403)
        data = await request.json()
        store: SharedStore = request.app.state.store
        if not await store.claim(f"tg:update:{data.get('update_id')}", DEDUP_TTL_SECONDS):
            return Response(status_code=200)  # a retry of an update already taken
        await application.update_queue.put(Update.de_json(data, application.bot))
        return Response(status_code=200)

    return router
