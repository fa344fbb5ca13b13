"""An application context on a test database at a fixed moment: the composition root the
processes use, with the clock passed in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from bot.app_context import AppContext
from bot.infra.settings import Settings
from tests.conftest import TEST_PII_KEY
from tests.support.clock import fixed_clock


@contextmanager
def context_at(database_url: str, now: datetime) -> Iterator[AppContext]:
    context = AppContext.from_settings(
        Settings(_env_file=None, database_url=database_url, pii_hash_key=TEST_PII_KEY),
        fixed_clock(now),
    )
    try:
        yield context
    finally:
        context.engine.dispose()
