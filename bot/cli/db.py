"""`sadar db …`: Database migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.conversations import encrypt_old_conversations
from bot.infra.settings import get_settings

if TYPE_CHECKING:
    pass


db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


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
    migrated = encrypt_old_conversations()
    if migrated.events:
        typer.echo(
            f"Encrypted {migrated.events} event(s) of {migrated.conversations} conversation(s) "
            "stored before encryption."
        )
