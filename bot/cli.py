"""`sadar` command line: run the bot, migrate the database, train the model."""

from __future__ import annotations

import logging

import typer

from bot.settings import get_settings

app = typer.Typer(help="Sadar: BPJS Ketenagakerjaan registration bot.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
model_app = typer.Typer(help="The Rasa model.", no_args_is_help=True)
telegram_app = typer.Typer(help="The Telegram channel.", no_args_is_help=True)
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


@telegram_app.command("poll")
def telegram_poll() -> None:
    """Receive Telegram updates by long polling (for a machine without a public address)."""
    from bot.channels.telegram import run_polling

    _configure_logging()
    run_polling(get_settings())


if __name__ == "__main__":
    app()
