"""`sadar admin …`: The administrator's dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    pass


admin_app = typer.Typer(help="The administrator's dashboard.", no_args_is_help=True)


@admin_app.command("hash-password")
def admin_hash_password(
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Print the value for SADAR_ADMIN_PASSWORD_HASH (the password itself is not stored)."""
    from bot.admin_auth import hash_password

    if len(password) < 12:
        raise typer.BadParameter("use at least 12 characters")
    typer.echo(hash_password(password))
