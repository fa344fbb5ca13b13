"""Malformed requests get 4xx, never 500 or unbounded memory (issue 15, point 8)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from bot.gateway.app import MAX_BODY_BYTES, create_app
from bot.infra.settings import Settings
from tests.support.fake_rasa import FakeRasaREST
from tests.support.fake_twilio import AUTH_TOKEN, inbound_form, signed_form


def gateway(tmp_path: Path, rasa: FakeRasaREST) -> TestClient:
    settings = Settings(_env_file=None, data_dir=tmp_path, twilio_auth_token=AUTH_TOKEN)
    return TestClient(create_app(settings, rasa_http=rasa.client()))


def test_an_oversized_body_is_refused_before_it_is_read(tmp_path: Path) -> None:
    rasa = FakeRasaREST()
    with gateway(tmp_path, rasa) as client:
        big = b'{"sender": "a", "text": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
        response = client.post(
            "/api/chat", content=big, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413

        def chunks():  # no Content-Length: counted as it streams
            for _ in range(MAX_BODY_BYTES // 1024 + 2):
                yield b"x" * 1024

        streamed = client.post("/webhooks/whatsapp", content=chunks())
        assert streamed.status_code == 413
    assert rasa.calls == []


def test_invalid_utf8_and_lone_surrogates_get_4xx(tmp_path: Path) -> None:
    rasa = FakeRasaREST()
    with gateway(tmp_path, rasa) as client:
        bad_bytes = client.post(
            "/api/chat",
            content=b'{"sender": "a", "text": "\xff\xfe"}',
            headers={"Content-Type": "application/json"},
        )
        assert 400 <= bad_bytes.status_code < 500
        surrogate = client.post(
            "/api/chat",
            content=b'{"sender": "a", "text": "halo \\ud800"}',
            headers={"Content-Type": "application/json"},
        )
        assert surrogate.status_code == 422
        form = b"From=whatsapp%3A%2B628123&Body=%FF%FE"
        whatsapp = client.post(
            "/webhooks/whatsapp",
            content=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": "x",
            },
        )
        assert whatsapp.status_code == 400
    assert rasa.calls == []


def test_a_signed_form_from_a_non_whatsapp_sender_is_refused(tmp_path: Path) -> None:
    rasa = FakeRasaREST()
    with gateway(tmp_path, rasa) as client:
        url = "http://testserver/webhooks/whatsapp"
        form = {**inbound_form("+6281234567890", "halo"), "From": "+6281234567890"}
        response = client.post(url, **signed_form(url, form))
        assert response.status_code == 422


async def test_the_in_process_store_stays_bounded_under_a_flood_of_senders() -> None:
    from bot.infra.shared_state import MemoryStore

    store = MemoryStore(max_entries=1000)
    for i in range(5000):
        assert await store.claim(f"web:flood-{i}", 3600)
    assert len(store) == 1000
    assert await store.claim("web:flood-4999", 3600) is False  # the newest are kept
    assert await store.claim("web:flood-0", 3600) is True  # the oldest went first
