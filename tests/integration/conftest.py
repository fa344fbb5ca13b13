from collections.abc import Iterator

import pytest

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
