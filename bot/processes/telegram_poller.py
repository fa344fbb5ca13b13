"""`sadar telegram poll`, a process of its own: Telegram by long polling, for a machine
without a public address (with a webhook secret, the gateway receives Telegram's webhook
calls instead). Wired by the composition root exactly as the gateway is."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application

from bot import bootstrap
from bot.app_context import AppContext
from bot.bootstrap import Conversations
from bot.channels.telegram import build_application

log = logging.getLogger(__name__)


def build_poller(context: AppContext) -> tuple[Application, Conversations]:
    """The poller's Telegram application and what it holds, wired by the composition root
    exactly as the gateway's webhook is (same router interceptors); closed when polling
    stops."""
    wiring = bootstrap.conversations(context)

    async def close(_: Application) -> None:
        await wiring.aclose()

    application = build_application(
        context.settings, wiring.router, wiring.outbox, context.channel_log
    )
    application.post_shutdown = close
    return application, wiring


def run_polling(context: AppContext) -> None:
    """Blocks: polls Telegram until stopped."""
    application, _ = build_poller(context)
    log.info("Telegram polling started")
    application.run_polling(allowed_updates=Update.ALL_TYPES)
