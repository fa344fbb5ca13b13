from collections.abc import Iterator

import pytest

from bot.db.migrate import upgrade
from tests.support.fake_telegram import FakeTelegram, running_fake_telegram
from tests.support.fake_twilio import FakeTwilio, running_fake_twilio


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """A local fake Telegram Bot API for the adapter and webhook tests."""
    with running_fake_telegram() as server:
        yield server


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """A local fake Twilio REST API (Messages), checking the account's Basic auth."""
    with running_fake_twilio() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Each test that takes it runs on both databases Sadar supports: the embedded SQLite
    default (a migrated file of its own, outside the test's tmp_path) and PostgreSQL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sadar.db'}"
    upgrade(url)
    return url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
