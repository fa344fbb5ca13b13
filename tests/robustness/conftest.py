"""Generated robustness runs (issue 27, point 6): every test here is marked ``robustness``
and runs in `make test`; the one that drives the real stack is also marked ``e2e``.

The in-process fixtures: a real AppContext on SQLite with a fixed clock, rasa-sdk's
executor with Sadar's actions reading that context, and the domain Rasa would send."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

import actions
from bot.app_context import AppContext
from bot.db.migrate import upgrade
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.services.agents import enrol_agent
from tests.conftest import TEST_PII_KEY
from tests.support.clock import fixed_clock

#: One line per run (messages, dialogues, turns, exceptions), shown at the end of the session.
SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SUMMARY:
        terminalreporter.write_sep("=", "robustness")
        for line in SUMMARY:
            terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "robustness: generated messages and dialogues; no action may raise"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/robustness/" in str(item.fspath):
            item.add_marker(pytest.mark.robustness)


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppContext]:
    url = f"sqlite:///{tmp_path_factory.mktemp('robust') / 'sadar.db'}"
    upgrade(url)
    settings = Settings(_env_file=None, database_url=url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, fixed_clock())
    yield context
    context.engine.dispose()


AGENT_TELEGRAM_ID = 6_100_001
AGENT_SENDER = f"tg:{AGENT_TELEGRAM_ID}"


@pytest.fixture(scope="module")
def agent(context: AppContext) -> int:
    """An enrolled village agent, for walk-in registrations (on behalf of a resident)."""
    return enrol_agent(
        context.unit_of_work(),
        context.cipher,
        context.hash_key,
        name="Agen Robust",
        phone="+6281100000001",
        village="Karanglo",
        district="Kerek",
        regency="Tuban",
        telegram_user_id=AGENT_TELEGRAM_ID,
    )


@pytest.fixture(scope="module")
def executor(context: AppContext) -> Iterator[ActionExecutor]:
    """rasa-sdk's executor with Sadar's actions, each reading this test's context."""
    executor = ActionExecutor()
    # What register_package("actions") registers in the action server, but only the
    # package's own classes: test modules of the same session define Action subclasses too.
    for info in pkgutil.walk_packages(actions.__path__, "actions."):
        module = importlib.import_module(info.name)
        for action in vars(module).values():
            if (
                inspect.isclass(action)
                and issubclass(action, Action)
                and action.__module__ == module.__name__
                and not inspect.isabstract(action)
            ):
                executor.register_action(action)
    patch = pytest.MonkeyPatch()
    for name, module in list(sys.modules.items()):
        if name.startswith("actions") and hasattr(module, "get_app_context"):
            patch.setattr(module, "get_app_context", lambda: context)
    yield executor
    patch.undo()


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
