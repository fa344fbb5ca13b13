"""An empty secret is no secret (issue 15, point 1): empty values mean "not configured", the
doors they guard stay shut, and production refuses weak or missing inbound secrets."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from bot.gateway.app import create_app
from bot.gateway.payments import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_for
from bot.infra.settings import Settings
from bot.services.registry.signing import sign
from tests.support.fake_rasa import FakeRasaREST
from tests.support.fake_twilio import twilio_signature

PRODUCTION = {
    "env": "production",
    "pii_hash_key": "h" * 40,
    "pii_encryption_keys": "bm90LXRoZS1kZXYta2V5LW5vdC10aGUtZGV2LWtleS0=",
    "action_server_token": "a" * 40,
    "rasa_api_token": "r" * 40,
    "rasa_channel_token": "c" * 40,
}


def gateway(tmp_path: Path, **settings: object) -> TestClient:
    app = create_app(
        Settings(_env_file=None, data_dir=tmp_path, **settings), rasa_http=FakeRasaREST().client()
    )
    return TestClient(app)


def test_a_payment_signed_with_an_empty_key_is_not_accepted(tmp_path: Path) -> None:
    body = json.dumps({"provider_reference": "T-1", "nik": "3523031708800001", "months": 12})
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature_for("", stamp, body.encode()),
    }
    with gateway(tmp_path, payment_webhook_secret="") as client:
        response = client.post("/webhooks/payments", content=body, headers=headers)
    assert response.status_code == 503  # not configured: nothing recorded, nothing revealed
    assert "participant_reference" not in response.text


def test_a_registry_callback_signed_with_an_empty_key_is_not_accepted(tmp_path: Path) -> None:
    body = json.dumps({"reference": "SDR-AAAA-BBBB", "status": "accepted", "kpj": "26012345678"})
    headers = sign("bpjstk", "", body.encode(), int(time.time()))
    with gateway(
        tmp_path, registry_callback_consumer_id="bpjstk", registry_callback_secret=""
    ) as client:
        response = client.post("/webhooks/registry", content=body, headers=headers)
    assert response.status_code == 503  # not configured: nothing recorded, nothing revealed


def test_a_status_callback_signed_with_an_empty_token_is_not_accepted(tmp_path: Path) -> None:
    url = "http://testserver/webhooks/whatsapp/status"
    form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(url, form, auth_token=""),
    }
    with gateway(tmp_path, twilio_auth_token="") as client:
        response = client.post(url, content=urlencode(form), headers=headers)
    assert response.status_code == 503


def test_an_empty_telegram_token_leaves_telegram_off_instead_of_crashing(tmp_path: Path) -> None:
    with gateway(tmp_path, telegram_bot_token="", telegram_webhook_secret="") as client:
        assert client.get("/healthz").status_code == 200
        assert client.post("/webhooks/telegram", json={"update_id": 1}).status_code in (
            403,
            404,
            503,
        )


def test_empty_environment_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAYMENT_WEBHOOK_SECRET", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.setenv(f"SADAR_{name}", "")
    settings = Settings(_env_file=None)
    assert settings.payment_webhook_secret is None
    assert settings.twilio_auth_token is None
    assert settings.telegram_bot_token is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"action_server_token": None}, "SADAR_ACTION_SERVER_TOKEN"),
        ({"rasa_api_token": "short"}, "SADAR_RASA_API_TOKEN"),
        ({"rasa_channel_token": None}, "SADAR_RASA_CHANNEL_TOKEN"),
        ({"rasa_channel_token": "short"}, "SADAR_RASA_CHANNEL_TOKEN"),
        ({"payment_webhook_secret": "secret"}, "SADAR_PAYMENT_WEBHOOK_SECRET"),
        (
            {"telegram_bot_token": "1:x", "telegram_webhook_secret": "abc"},
            "SADAR_TELEGRAM_WEBHOOK_SECRET",
        ),
    ],
)
def test_production_refuses_a_missing_or_weak_inbound_secret(
    change: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        Settings(_env_file=None, **{**PRODUCTION, **change})
    Settings(_env_file=None, **PRODUCTION)  # the strong set starts
