"""Telegram webhook mode in the gateway: secret-token check, real Update JSON, replies sent
to a local fake Bot API, and retried updates processed once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.gateway.app import create_app
from bot.gateway.telegram import SECRET_HEADER
from bot.infra.settings import Settings
from tests.support.fake_rasa import FakeRasaREST
from tests.support.fake_telegram import FakeTelegram

SECRET = "webhook-secret-for-tests"


def update(update_id: int, text: str = "halo") -> dict:
    chat = {"id": 777001, "type": "private", "first_name": "Joko"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": 777001, "is_bot": False, "first_name": "Joko"},
            "text": text,
        },
    }


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def client(fake: FakeTelegram, tmp_path: Path) -> Iterator[tuple[TestClient, FakeRasaREST]]:
    rasa = FakeRasaREST()
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        telegram_bot_token="123456:TEST",
        telegram_webhook_secret=SECRET,
        telegram_api_base_url=fake.base_url,
    )
    with TestClient(create_app(settings, rasa_http=rasa.client())) as test_client:
        yield test_client, rasa


def test_update_with_the_secret_is_answered(client, fake: FakeTelegram) -> None:
    test_client, rasa = client
    response = test_client.post(
        "/webhooks/telegram", json=update(1), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200
    wait_for(lambda: len(fake.sent()) == 2)
    assert rasa.calls[0]["sender"] == "tg:777001"
    first, second = fake.sent()
    assert first["text"] == "echo: halo"
    assert second["reply_markup"]["inline_keyboard"] == [
        [{"text": "Daftar", "callback_data": "/start_registration"}]
    ]


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong"}])
def test_update_without_the_secret_is_refused(client, fake: FakeTelegram, headers) -> None:
    test_client, rasa = client
    response = test_client.post("/webhooks/telegram", json=update(2), headers=headers)
    assert response.status_code == 403
    # Judged after a genuine update of the same chat was answered (same chat, in order).
    genuine = test_client.post(
        "/webhooks/telegram", json=update(5, "cek status"), headers={SECRET_HEADER: SECRET}
    )
    assert genuine.status_code == 200
    wait_for(lambda: len(fake.sent()) == 2)
    assert [c["message"] for c in rasa.calls] == ["cek status"]


def test_a_retried_update_is_processed_once(client, fake: FakeTelegram) -> None:
    test_client, rasa = client
    for _ in range(3):
        response = test_client.post(
            "/webhooks/telegram", json=update(3, "iuran berapa"), headers={SECRET_HEADER: SECRET}
        )
        assert response.status_code == 200
    # A later update's replies are the signal that the retries were dealt with.
    later = test_client.post(
        "/webhooks/telegram", json=update(6, "cek status"), headers={SECRET_HEADER: SECRET}
    )
    assert later.status_code == 200
    wait_for(lambda: len(fake.sent()) >= 4)
    assert [c["message"] for c in rasa.calls] == ["iuran berapa", "cek status"]
    assert len(fake.sent()) == 4


def test_webhook_without_configuration_says_so(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(_env_file=None, data_dir=tmp_path))) as test_client:
        assert test_client.post("/webhooks/telegram", json=update(4)).status_code == 503
