"""`sadar admin …`: the operations console's accounts (the administrator's password hash,
operators limited to a regency or villages) and the audit of what it showed."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from bot.app_context import get_app_context
from bot.infra.passwords import MIN_PASSWORD_CHARS

if TYPE_CHECKING:
    from bot.services.operators import OperatorView

admin_app = typer.Typer(
    help="The operations console at /admin: accounts and audit.", no_args_is_help=True
)

__all__ = ["MIN_PASSWORD_CHARS", "admin_app", "read_password"]


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def read_password() -> str:
    """A hidden prompt, twice, at a terminal; one line of stdin from a script. Never an
    argument: shell history and `ps` would keep it."""
    if stdin_is_terminal():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


def _new_password() -> str:
    password = read_password()
    if len(password) < MIN_PASSWORD_CHARS:
        raise typer.BadParameter(f"use at least {MIN_PASSWORD_CHARS} characters")
    return password


@admin_app.command("hash-password")
def admin_hash_password() -> None:
    """Print the value for SADAR_ADMIN_PASSWORD_HASH (the password itself is not stored).

    Asks for the password (hidden); a script may pipe it in on stdin instead."""
    from bot.infra.passwords import hash_password

    typer.echo(hash_password(_new_password()))


@admin_app.command("add-operator")
def admin_add_operator(
    username: str = typer.Argument(..., help="3-32 characters of a-z, 0-9, '.', '_', '-'"),
    regency: str = typer.Option(None, help="the regency the operator sees, e.g. Tuban"),
    village: list[str] = typer.Option(  # noqa: B008
        None, help='a village the operator sees, "Desa/Kecamatan/Kabupaten" (repeatable)'
    ),
) -> None:
    """Create an operator who sees one regency (--regency) or some villages (--village …).

    Asks for the password (hidden, twice); a script may pipe it in on stdin instead."""
    from bot.services.operators import OperatorProblem, create_operator, operator_username

    if (regency is None) == (not village):
        raise typer.BadParameter("give --regency or --village (one or more), not both")
    try:
        operator_username(username)  # before the password is typed, not after
    except OperatorProblem as error:
        raise typer.BadParameter(str(error)) from error
    password = _new_password()
    context = get_app_context()
    try:
        operator_id = create_operator(
            context.unit_of_work(),
            username,
            password,
            regency=regency,
            villages=village or (),
            now=context.clock.now(),
        )
    except OperatorProblem as error:
        raise typer.BadParameter(str(error)) from error
    view = next(o for o in _operators() if o.id == operator_id)
    typer.echo(f"operator {operator_id} created: {view.username}, sees {view.scope.describe()}")
    for name, district, regency_name in sorted(view.scope.villages):
        typer.echo(f"  {name} / {district} / {regency_name}")


def _operators() -> list[OperatorView]:
    from bot.services.operators import list_operators

    return list_operators(get_app_context().unit_of_work())


@admin_app.command("operators")
def admin_operators() -> None:
    """Every operator account and what it sees (no passwords)."""
    from bot.domain.clock import INDONESIA_TIME

    found = _operators()
    if not found:
        typer.echo("no operators yet: `sadar admin add-operator USERNAME --regency …`")
    for view in found:
        last = (
            view.last_login_at.astimezone(INDONESIA_TIME).strftime("%Y-%m-%d %H:%M WIB")
            if view.last_login_at
            else "never logged in"
        )
        state = "active" if view.active else "DEACTIVATED"
        typer.echo(
            f"{view.id:>4}  {view.username:<24} {view.scope.describe():<32} {state:<11} {last}"
        )


@admin_app.command("deactivate-operator")
def admin_deactivate_operator(username: str = typer.Argument(...)) -> None:
    """Take an operator's access away at once (their open sessions end)."""
    from bot.services.operators import OperatorProblem, deactivate_operator

    try:
        changed = deactivate_operator(get_app_context().unit_of_work(), username)
    except OperatorProblem as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(
        f"{username.strip().lower()} " + ("deactivated" if changed else "was already inactive")
    )


@admin_app.command("reset-operator-password")
def admin_reset_operator_password(username: str = typer.Argument(...)) -> None:
    """Set a new password (hidden prompt, or stdin); the operator's open sessions end."""
    from bot.services.operators import OperatorProblem, set_password

    if username.strip().lower() not in {view.username for view in _operators()}:
        raise typer.BadParameter(f"no operator {username.strip().lower()!r}")
    password = _new_password()
    try:
        set_password(get_app_context().unit_of_work(), username, password)
    except OperatorProblem as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"new password set for {username.strip().lower()}; their sessions are ended")


@admin_app.command("audit")
def admin_audit(
    limit: int = typer.Option(50, min=1, max=10_000, help="how many of the latest views"),
) -> None:
    """The latest console views of personal data: when (WIB), who, scope, what, rows."""
    from bot.domain.clock import INDONESIA_TIME
    from bot.services.operators import audit_log

    lines = audit_log(get_app_context().unit_of_work(), limit)
    if not lines:
        typer.echo("no views recorded yet")
    for line in lines:
        at = line.at.astimezone(INDONESIA_TIME).strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(
            f"{at}  {line.username:<16} {line.scope:<28} {line.page:<16} "
            f"{line.rows_shown:>5}  {line.path}"
        )
