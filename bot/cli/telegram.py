"""`sadar telegram …`: The Telegram channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.common import configure_logging
from bot.infra.settings import get_settings

if TYPE_CHECKING:
    pass


telegram_app = typer.Typer(help="The Telegram channel.", no_args_is_help=True)


@telegram_app.command("set-webhook")
def telegram_set_webhook() -> None:
    """Point Telegram at SADAR_PUBLIC_BASE_URL/webhooks/telegram with the secret token."""
    import asyncio

    from telegram import Bot

    from bot.gateway.telegram import WEBHOOK_PATH

    settings = get_settings()
    token, secret = settings.telegram_bot_token, settings.telegram_webhook_secret
    if not (token and secret):
        raise typer.BadParameter(
            "set SADAR_TELEGRAM_BOT_TOKEN and SADAR_TELEGRAM_WEBHOOK_SECRET first"
        )
    if not settings.public_base_url.startswith("https://"):
        raise typer.BadParameter("SADAR_PUBLIC_BASE_URL must be the gateway's https:// address")
    url = settings.public_base_url.rstrip("/") + WEBHOOK_PATH

    async def register() -> None:
        bot = Bot(
            token.get_secret_value(),
            base_url=settings.telegram_api_base_url,
        )
        async with bot:
            await bot.set_webhook(
                url=url,
                secret_token=secret.get_secret_value(),
                allowed_updates=["message", "callback_query"],
            )

    asyncio.run(register())
    typer.echo(f"Telegram will post updates to {url}")


@telegram_app.command("poll")
def telegram_poll() -> None:
    """Receive Telegram updates by long polling (for a machine without a public address)."""
    from bot.app_context import get_app_context
    from bot.processes.telegram_poller import run_polling

    configure_logging()
    run_polling(get_app_context())
