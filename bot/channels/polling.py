"""`sadar telegram poll`: Telegram by long polling, for a machine without a public address
(with a webhook secret, the gateway receives Telegram's webhook calls instead)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application

from bot.app_context import get_app_context
from bot.channels.factory import build_outbox
from bot.channels.telegram import build_application
from bot.conversation import ConversationRouter, RasaClient
from bot.settings import Settings

log = logging.getLogger(__name__)


def run_polling(settings: Settings) -> None:
    context = get_app_context()
    channel_log = context.channel_log
    outbox = build_outbox(settings, channel_log)
    router = ConversationRouter(
        RasaClient(
            settings.rasa_urls,
            settings.rasa_timeout_seconds,
            channel_token=settings.rasa_channel_token_value,
        ),
        interceptor=context.handoff_relay(outbox),
    )

    async def close_outbox(_: Application) -> None:
        await outbox.aclose()

    application = build_application(settings, router, outbox, channel_log)
    application.post_shutdown = close_outbox
    log.info("Telegram polling started")
    application.run_polling(allowed_updates=Update.ALL_TYPES)
