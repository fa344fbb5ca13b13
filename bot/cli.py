"""`sadar` command line: run the bot, migrate the database, train the model."""

from __future__ import annotations

import logging

import typer

from bot.app_context import get_app_context
from bot.settings import get_settings

app = typer.Typer(help="Sadar: BPJS Ketenagakerjaan registration bot.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
model_app = typer.Typer(help="The Rasa model.", no_args_is_help=True)
telegram_app = typer.Typer(help="The Telegram channel.", no_args_is_help=True)
participants_app = typer.Typer(
    help="Registered participants (identifiers masked unless --unmasked).", no_args_is_help=True
)
app.add_typer(participants_app, name="participants")
app.add_typer(db_app, name="db")
app.add_typer(model_app, name="model")
app.add_typer(telegram_app, name="telegram")


def _configure_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from sqlalchemy.engine import make_url

    from bot.db.migrate import upgrade

    settings = get_settings()
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    typer.echo(f"Migrating database {shown} ...")
    upgrade(settings.database_url, revision)
    typer.echo("Database is at the latest schema.")


@model_app.command("ensure")
def model_ensure() -> None:
    """Train the Rasa model if config.yml, domain.yml or nlu/ changed since the last training."""
    from bot.rasa_model import ensure_model

    settings = get_settings()
    ensure_model(settings.rasa_venv / "bin" / "rasa", settings.rasa_model_dir)


@app.command("run")
def run() -> None:
    """Start the Rasa server, the action server and the gateway; Ctrl-C stops them all."""
    from bot.db.migrate import upgrade
    from bot.devserver import run_all
    from bot.rasa_model import ensure_model

    settings = get_settings()
    ensure_model(settings.rasa_venv / "bin" / "rasa", settings.rasa_model_dir)
    upgrade(settings.database_url)
    url = f"http://{settings.gateway_host}:{settings.gateway_port}/"
    typer.secho(
        f"\nSadar is starting. When Rasa reports 'Rasa server is up and running' "
        f"(about 30 s), chat at {url}\n"
        + (
            "Telegram polling is on.\n"
            if settings.telegram_bot_token
            else "Telegram is off (set SADAR_TELEGRAM_BOT_TOKEN to enable polling).\n"
        )
        + f"WhatsApp webhook: POST {url}webhooks/whatsapp\nPress Ctrl-C to stop.\n",
        fg=typer.colors.GREEN,
    )
    raise typer.Exit(run_all(settings))


def _as_dict(view) -> dict:  # type: ignore[no-untyped-def]
    from dataclasses import asdict

    data = asdict(view)
    data["first_period"] = view.first_period.isoformat()
    data["next_due_date"] = view.next_due_date.isoformat()
    return data


@participants_app.command("show")
def participants_show(
    nik: str = typer.Option(None, help="16-digit NIK"),
    reference: str = typer.Option(None, help="Sadar reference, e.g. SDR-7K3M-9QXA"),
    as_json: bool = typer.Option(False, "--json", help="JSON output for scripts"),
    unmasked: bool = typer.Option(False, help="show NIK, name and phone in full"),
) -> None:
    """Find one participant by NIK or reference."""
    import json

    from bot.services.participants import find_participant

    if not nik and not reference:
        raise typer.BadParameter("give --nik or --reference")
    context = get_app_context()
    view = find_participant(
        context.sessions,
        context.cipher,
        context.hash_key,
        nik="".join(ch for ch in nik if ch.isdigit()) if nik else None,
        reference=reference,
        masked=not unmasked,
    )
    if view is None:
        typer.echo("No participant found.", err=True)
        raise typer.Exit(1)
    data = _as_dict(view)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for key, value in data.items():
            typer.echo(f"{key:>22}: {value}")


@participants_app.command("export")
def participants_export(
    output: str = typer.Option("-", help="CSV file to write, '-' for standard output"),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of CSV"),
    unmasked: bool = typer.Option(False, help="export NIK, name and phone in full"),
) -> None:
    """Export all participants."""
    import csv
    import json
    import sys

    from bot.services.participants import all_participants

    context = get_app_context()
    views = all_participants(context.sessions, context.cipher, masked=not unmasked)
    rows = [_as_dict(v) for v in views]
    stream = sys.stdout if output == "-" else open(output, "w", newline="", encoding="utf-8")  # noqa: SIM115
    try:
        if as_json:
            for row in rows:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            fields = list(rows[0]) if rows else ["reference"]
            writer = csv.DictWriter(stream, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if stream is not sys.stdout:
            stream.close()
    if output != "-":
        typer.echo(f"Exported {len(rows)} participants to {output}", err=True)


@telegram_app.command("set-webhook")
def telegram_set_webhook() -> None:
    """Point Telegram at SADAR_PUBLIC_BASE_URL/webhooks/telegram with the secret token."""
    import asyncio

    from telegram import Bot

    from bot.gateway.telegram import WEBHOOK_PATH

    settings = get_settings()
    if not (settings.telegram_bot_token and settings.telegram_webhook_secret):
        raise typer.BadParameter(
            "set SADAR_TELEGRAM_BOT_TOKEN and SADAR_TELEGRAM_WEBHOOK_SECRET first"
        )
    if not settings.public_base_url.startswith("https://"):
        raise typer.BadParameter("SADAR_PUBLIC_BASE_URL must be the gateway's https:// address")
    url = settings.public_base_url.rstrip("/") + WEBHOOK_PATH

    async def register() -> None:
        bot = Bot(
            settings.telegram_bot_token.get_secret_value(),  # type: ignore[union-attr]
            base_url=settings.telegram_api_base_url,
        )
        async with bot:
            await bot.set_webhook(
                url=url,
                secret_token=settings.telegram_webhook_secret.get_secret_value(),  # type: ignore[union-attr]
                allowed_updates=["message", "callback_query"],
            )

    asyncio.run(register())
    typer.echo(f"Telegram will post updates to {url}")


@telegram_app.command("poll")
def telegram_poll() -> None:
    """Receive Telegram updates by long polling (for a machine without a public address)."""
    from bot.channels.telegram import run_polling

    _configure_logging()
    run_polling(get_settings())


if __name__ == "__main__":
    app()
