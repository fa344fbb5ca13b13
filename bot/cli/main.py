"""`sadar` command line: run the bot, migrate the database, train the model, and the
operators' commands, one module per command group (bot/cli/<group>.py)."""

from __future__ import annotations

import typer

from bot.cli import (
    admin,
    agents,
    conversations,
    db,
    model,
    participants,
    payments,
    reminders,
    report,
    submissions,
    telegram,
    villages,
)
from bot.cli.conversations import encrypt_old_conversations
from bot.infra.settings import get_settings

app = typer.Typer(help="Sadar: BPJS Ketenagakerjaan registration bot.", no_args_is_help=True)
app.add_typer(participants.participants_app, name="participants")
app.add_typer(db.db_app, name="db")
app.add_typer(model.model_app, name="model")
app.add_typer(telegram.telegram_app, name="telegram")
app.add_typer(reminders.reminders_app, name="reminders")
app.add_typer(payments.payments_app, name="payments")
app.add_typer(agents.agents_app, name="agents")
app.add_typer(villages.villages_app, name="villages")
app.add_typer(report.report_app, name="report")
app.add_typer(conversations.conversations_app, name="conversations")
app.add_typer(admin.admin_app, name="admin")
app.add_typer(submissions.submissions_app, name="submissions")


@app.callback()
def redacted_logs() -> None:
    """Every command's log lines go through the redaction of NIKs and phone numbers
    (bot/infra/log_redaction.py), whether or not the command configures logging further."""
    from bot.infra import log_redaction

    log_redaction.install()


@app.command("run")
def run() -> None:
    """Start the Rasa server, the action server and the gateway; Ctrl-C stops them all."""
    from bot.db.migrate import upgrade
    from bot.infra.rasa_model import ensure_model
    from bot.processes.devserver import run_all

    settings = get_settings()
    ensure_model(settings.rasa_venv / "bin" / "rasa", settings.rasa_model_dir)
    upgrade(settings.database_url)
    encrypt_old_conversations()
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


if __name__ == "__main__":
    app()
