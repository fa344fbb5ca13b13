"""`sadar admin …`: The administrator's dashboard."""

from __future__ import annotations

import sys

import typer

admin_app = typer.Typer(help="The administrator's dashboard.", no_args_is_help=True)

MIN_PASSWORD_CHARS = 12


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def read_password() -> str:
    """A hidden prompt, twice, at a terminal; one line of stdin from a script. Never an
    argument: shell history and `ps` would keep it."""
    if stdin_is_terminal():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@admin_app.command("hash-password")
def admin_hash_password() -> None:
    """Print the value for SADAR_ADMIN_PASSWORD_HASH (the password itself is not stored).

    Asks for the password (hidden); a script may pipe it in on stdin instead."""
    from bot.gateway.admin_auth import hash_password

    password = read_password()
    if len(password) < MIN_PASSWORD_CHARS:
        raise typer.BadParameter(f"use at least {MIN_PASSWORD_CHARS} characters")
    typer.echo(hash_password(password))
