"""End-to-end tests: the stack fixtures live in tests/support/stack.py (a plugin shared with
tests/security); the names tests import are re-exported here."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.support.stack import (  # noqa: F401 (re-exported for the tests)
    ADMIN_PASSWORD,
    CONSENT_CONTENT_SID,
    Stack,
    TelegramUser,
    participant_by_nik,
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Dialogue pass rates per corpus part, when the dialogue tests ran (and, with
    SADAR_DIALOGUE_REPORT=docs/nlu.md, written into that file)."""
    import sys

    module = sys.modules.get("tests.e2e.test_dialogues")
    if module is None or not module.RESULTS:
        return
    from tests.support.dialogues import write_report

    lines = write_report(module.RESULTS, os.environ.get("SADAR_DIALOGUE_REPORT"))
    terminalreporter.write_sep("=", "dialogue corpus")
    for line in lines:
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def reply_texts(replies: list[dict[str, Any]]) -> list[str]:
    """The texts of the bot's replies to one message, in order."""
    return [r.get("text") or "" for r in replies]


def start_registration(stack: Stack, sender: str) -> None:
    """ "mau daftar", consent given: the form asks the name next."""
    stack.chat(sender, "mau daftar")
    assert "Siapa nama lengkap" in reply_texts(stack.chat(sender, "ya setuju"))[-1]
