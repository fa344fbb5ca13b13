"""`sadar admin hash-password` never takes the password as an argument (issue 25, point 7):
shell history and `ps` would keep it. At a terminal it asks twice with hidden input; a
script pipes it in on stdin."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import admin
from bot.cli.main import app
from bot.gateway.admin_auth import verify_password

PASSWORD = "kata-sandi-yang-panjang-sekali"


def hash_password_cli(input: str, **kwargs: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["admin", "hash-password"], input=input, **kwargs)
    return result.exit_code, result.output


def test_at_a_terminal_it_asks_twice_without_echoing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin, "stdin_is_terminal", lambda: True)
    code, output = hash_password_cli(f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, output
    assert "Password" in output and "Repeat" in output
    assert PASSWORD not in output  # CliRunner echoes the answers of visible prompts only
    assert verify_password(PASSWORD, output.strip().splitlines()[-1])


def test_at_a_terminal_two_different_answers_are_not_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(admin, "stdin_is_terminal", lambda: True)
    code, output = hash_password_cli(f"{PASSWORD}\n{PASSWORD}x\n")
    assert code != 0 and "pbkdf2" not in output


def test_a_script_pipes_the_password_on_stdin() -> None:
    code, output = hash_password_cli(f"{PASSWORD}\n")
    assert code == 0, output
    assert PASSWORD not in output
    assert verify_password(PASSWORD, output.strip())


def test_the_password_cannot_be_given_as_an_argument() -> None:
    result = CliRunner().invoke(app, ["admin", "hash-password", "--password", PASSWORD])
    assert result.exit_code == 2 and "pbkdf2" not in result.output


def test_a_short_password_is_refused() -> None:
    code, output = hash_password_cli("pendek\n")
    assert code != 0 and "12" in output
