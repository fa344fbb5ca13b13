"""The gateway's HTTP contract, with Rasa replaced at its HTTP boundary."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot import messages
from bot.db.migrate import upgrade
from bot.gateway.app import create_app
from bot.infra.settings import Settings
from tests.support.fake_rasa import FakeRasaREST
from tests.support.services import free_port
from tests.support.web_chat import WebChatIds, new_session, sender_id_of

AUTH_TOKEN = "twilio-auth-token-for-tests"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings on a migrated SQLite database: the web chat's issued ids live there."""
    settings = Settings(_env_file=None, data_dir=tmp_path, **overrides)
    upgrade(settings.database_url)
    return settings


@pytest.fixture
def rasa() -> FakeRasaREST:
    return FakeRasaREST()


@pytest.fixture
def client(tmp_path: Path, rasa: FakeRasaREST):
    app = create_app(make_settings(tmp_path, twilio_auth_token=AUTH_TOKEN), rasa_http=rasa.client())
    with TestClient(app) as test_client:
        yield test_client


def test_chat_returns_rasa_replies_with_buttons(client: TestClient, rasa: FakeRasaREST) -> None:
    session = new_session(client)
    response = client.post("/api/chat", json={"sender": session, "text": "halo"})
    assert response.status_code == 200
    assert response.json() == {
        "replies": [
            {"text": "echo: halo"},
            {"text": "Pilih:", "buttons": [{"title": "Daftar", "payload": "/start_registration"}]},
        ]
    }
    assert rasa.calls[0]["sender"] == sender_id_of(session)


@pytest.mark.parametrize("sender", ["tg:123", "wa:+62812", "", "a b", "x" * 65, "abc"])
def test_web_clients_cannot_use_other_namespaces_or_odd_ids(
    client: TestClient, rasa: FakeRasaREST, sender: str
) -> None:
    response = client.post("/api/chat", json={"sender": sender, "text": "halo"})
    assert response.status_code == 422
    assert rasa.calls == []


def test_retried_message_id_is_processed_once(client: TestClient, rasa: FakeRasaREST) -> None:
    body = {"sender": new_session(client), "text": "halo", "message_id": "m-1"}
    first = client.post("/api/chat", json=body)
    second = client.post("/api/chat", json=body)
    assert first.json() == second.json()
    assert len(rasa.calls) == 1
    client.post("/api/chat", json={**body, "message_id": "m-2"})
    assert len(rasa.calls) == 2


def test_rasa_down_gives_a_polite_503_and_allows_a_retry(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}", rasa_timeout_seconds=2
    )
    with TestClient(create_app(settings)) as client:
        body = {"sender": new_session(client), "text": "halo", "message_id": "m-1"}
        response = client.post("/api/chat", json=body)
        assert response.status_code == 503
        assert response.json() == {"replies": [{"text": messages.RASA_UNAVAILABLE}]}
        # The failed attempt released its claim: the retry is processed, not answered 409.
        assert client.post("/api/chat", json=body).status_code == 503


def test_chat_page_is_served(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "/api/chat" in response.text
    assert 'lang="id"' in response.text


def test_whatsapp_webhook_without_configuration_says_so(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as client:
        response = client.post("/webhooks/whatsapp", content="Body=halo")
        assert response.status_code == 503


def test_opening_the_page_sends_the_greeting_payload_on_the_visitors_behalf(
    client: TestClient, rasa: FakeRasaREST
) -> None:
    ids = WebChatIds()
    response = client.post("/api/chat/start", json={"sender": ids.of(client, "visitor-1")})
    assert response.status_code == 200
    assert rasa.calls == [{"sender": ids.sender_id("visitor-1"), "message": "/greet"}]
    assert response.json()["replies"][0]["text"] == "echo: /greet"
    bad = client.post("/api/chat/start", json={"sender": "wa:+628123"})
    assert bad.status_code == 422 and len(rasa.calls) == 1
