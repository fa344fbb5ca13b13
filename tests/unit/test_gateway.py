"""The gateway's HTTP contract, with Rasa replaced at its HTTP boundary."""

from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from bot import messages
from bot.gateway.app import create_app
from bot.settings import Settings
from tests.support.fake_rasa import FakeRasaREST
from tests.support.services import free_port

AUTH_TOKEN = "twilio-auth-token-for-tests"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **overrides)


@pytest.fixture
def rasa() -> FakeRasaREST:
    return FakeRasaREST()


@pytest.fixture
def client(tmp_path: Path, rasa: FakeRasaREST):
    app = create_app(make_settings(tmp_path, twilio_auth_token=AUTH_TOKEN), rasa_http=rasa.client())
    with TestClient(app) as test_client:
        yield test_client


def test_chat_returns_rasa_replies_with_buttons(client: TestClient, rasa: FakeRasaREST) -> None:
    response = client.post("/api/chat", json={"sender": "abc", "text": "halo"})
    assert response.status_code == 200
    assert response.json() == {
        "replies": [
            {"text": "echo: halo"},
            {"text": "Pilih:", "buttons": [{"title": "Daftar", "payload": "/start_registration"}]},
        ]
    }
    assert rasa.calls[0]["sender"] == "web:abc"


@pytest.mark.parametrize("sender", ["tg:123", "wa:+62812", "", "a b", "x" * 65])
def test_web_clients_cannot_use_other_namespaces_or_odd_ids(
    client: TestClient, rasa: FakeRasaREST, sender: str
) -> None:
    response = client.post("/api/chat", json={"sender": sender, "text": "halo"})
    assert response.status_code == 422
    assert rasa.calls == []


def test_retried_message_id_is_processed_once(client: TestClient, rasa: FakeRasaREST) -> None:
    body = {"sender": "abc", "text": "halo", "message_id": "m-1"}
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
        body = {"sender": "abc", "text": "halo", "message_id": "m-1"}
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


def _signed_post(client: TestClient, url: str, params: dict[str, str], signature: str | None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(url, content=urlencode(params), headers=headers)


WHATSAPP_PARAMS = {
    "MessageSid": "SM" + "a" * 32,
    "AccountSid": "AC" + "b" * 32,
    "From": "whatsapp:+6281234567890",
    "To": "whatsapp:+14155238886",
    "Body": "halo",
    "NumMedia": "0",
}


def test_whatsapp_webhook_accepts_a_valid_signature(client: TestClient, rasa: FakeRasaREST) -> None:
    url = "http://testserver/webhooks/whatsapp"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, WHATSAPP_PARAMS)
    response = _signed_post(client, url, WHATSAPP_PARAMS, signature)
    assert response.status_code == 200
    assert "<Message>echo: halo</Message>" in response.text
    assert "1. Daftar" in response.text
    assert rasa.calls[0]["sender"] == "wa:+6281234567890"


@pytest.mark.parametrize("case", ["missing", "tampered", "wrong-key"])
def test_whatsapp_webhook_rejects_bad_signatures(
    client: TestClient, rasa: FakeRasaREST, case: str
) -> None:
    url = "http://testserver/webhooks/whatsapp"
    key = "another-token" if case == "wrong-key" else AUTH_TOKEN
    signature = RequestValidator(key).compute_signature(url, WHATSAPP_PARAMS)
    params = {**WHATSAPP_PARAMS, "Body": "hapus semua"} if case == "tampered" else WHATSAPP_PARAMS
    response = _signed_post(client, url, params, None if case == "missing" else signature)
    assert response.status_code == 403
    assert rasa.calls == []


def test_whatsapp_signature_is_checked_against_the_public_url(tmp_path: Path) -> None:
    rasa = FakeRasaREST()
    settings = make_settings(
        tmp_path, twilio_auth_token=AUTH_TOKEN, public_base_url="https://sadar.example.id"
    )
    app = create_app(settings, rasa_http=rasa.client())
    with TestClient(app, base_url="http://internal:8000") as client:
        public = "https://sadar.example.id/webhooks/whatsapp"
        good = RequestValidator(AUTH_TOKEN).compute_signature(public, WHATSAPP_PARAMS)
        assert _signed_post(client, "/webhooks/whatsapp", WHATSAPP_PARAMS, good).status_code == 200
        internal = RequestValidator(AUTH_TOKEN).compute_signature(
            "http://internal:8000/webhooks/whatsapp", WHATSAPP_PARAMS
        )
        assert (
            _signed_post(client, "/webhooks/whatsapp", WHATSAPP_PARAMS, internal).status_code == 403
        )


def test_whatsapp_webhook_without_configuration_says_so(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as client:
        response = client.post("/webhooks/whatsapp", content="Body=halo")
        assert response.status_code == 503
