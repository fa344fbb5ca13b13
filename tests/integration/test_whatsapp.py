"""WhatsApp through Twilio, end to end inside the gateway: inbound webhooks posted as form
data with signatures computed by twilio's RequestValidator; replies captured by a local fake
of Twilio's REST API; status callbacks posted back signed; the database checked.

Rasa is replaced at its HTTP boundary (a scripted REST channel)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot import messages
from bot.app_context import AppContext
from bot.conversation import MAX_MESSAGE_CHARS
from bot.db.migrate import upgrade
from bot.db.models import ChannelContact, OutboundMessage
from bot.gateway.app import create_app
from bot.infra.settings import Settings
from tests.support.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    WHATSAPP_FROM,
    FakeTwilio,
    inbound_form,
    twilio_signature,
)
from tests.support.services import RedisServer, free_port

SITI = "+6281234567890"
BUDI = "+6285700001111"
WEBHOOK = "http://testserver/webhooks/whatsapp"


class ScriptedRasa:
    """Rasa's REST channel: echoes, and shows two buttons unless the text says "tanpa"."""

    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.received: list[tuple[str, str]] = []
        self.delay_seconds = delay_seconds
        self.active = 0
        self.max_active = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await asyncio.sleep(self.delay_seconds)
            self.received.append((body["sender"], body["message"]))
        finally:
            self.active -= 1
        reply: dict = {"recipient_id": body["sender"], "text": f"echo: {body['message']}"}
        if "tanpa" not in body["message"]:
            reply["buttons"] = [
                {"title": "Ya, setuju", "payload": "/affirm"},
                {"title": "Tidak", "payload": "/deny"},
            ]
        return httpx.Response(200, json=[reply])

    def texts(self, sender: str = f"wa:{SITI}") -> list[str]:
        return [text for who, text in self.received if who == sender]


def make_settings(tmp_path: Path, twilio: FakeTwilio, **overrides: object) -> Settings:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_from=WHATSAPP_FROM,
        twilio_api_base_url=twilio.base_url,
        public_base_url="http://testserver",
        **overrides,
    )
    upgrade(settings.database_url)
    return settings


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa()


@pytest.fixture
def gateway(tmp_path: Path, twilio: FakeTwilio, rasa: ScriptedRasa) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, twilio)
    app = create_app(settings, rasa_http=httpx.AsyncClient(transport=httpx.MockTransport(rasa)))
    with TestClient(app) as client:
        yield client


def post_signed(
    client: TestClient, form: dict[str, str], url: str = WEBHOOK, signature: str | None = ""
) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "":
        signature = twilio_signature(url, form)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(
        url.removeprefix("http://testserver"), content=urlencode(form), headers=headers
    )


def media_form(content_type: str) -> dict[str, str]:
    """Siti's message of one attachment, as Twilio posts it."""
    return inbound_form(
        SITI,
        "",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/media/ME1",
        MediaContentType0=content_type,
    )


def rows(settings_dir: Path) -> list[OutboundMessage]:
    context = AppContext.from_settings(Settings(_env_file=None, data_dir=settings_dir))
    with context.sessions() as session:
        return list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_reply_goes_out_through_the_rest_api_with_numbered_options(
    gateway: TestClient, twilio: FakeTwilio, rasa: ScriptedRasa, tmp_path: Path
) -> None:
    response = post_signed(gateway, inbound_form(SITI, "halo"))
    assert response.status_code == 200
    assert "<Message>" not in response.text  # acknowledged at once; no TwiML reply
    (sent,) = twilio.wait_for(SITI, 1)
    assert sent["From"] == WHATSAPP_FROM
    assert sent["Body"] == "echo: halo\n1. Ya, setuju\n2. Tidak"
    assert sent["StatusCallback"] == "http://testserver/webhooks/whatsapp/status"
    assert rasa.received == [(f"wa:{SITI}", "halo")]
    wait_until(lambda: len(rows(tmp_path)) == 1)
    (row,) = rows(tmp_path)
    assert (row.channel, row.purpose, row.status, row.provider_message_id) == (
        "wa",
        "reply",
        "queued",
        sent["sid"],
    )
    assert SITI not in row.recipient_hash


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("1", "/affirm"),
        ("2", "/deny"),
        (" 2. ", "/deny"),
        ("pilih 1", "/affirm"),
        ("ya, setuju", "/affirm"),
        ("TIDAK", "/deny"),
        ("3", "3"),
        ("ya dong", "ya dong"),
    ],
)
def test_a_number_or_the_option_words_press_that_button(
    gateway: TestClient, twilio: FakeTwilio, rasa: ScriptedRasa, reply: str, expected: str
) -> None:
    post_signed(gateway, inbound_form(SITI, "mau daftar"))
    twilio.wait_for(SITI, 1)
    post_signed(gateway, inbound_form(SITI, reply))
    twilio.wait_for(SITI, 2)
    assert rasa.texts() == ["mau daftar", expected]


def test_options_are_forgotten_once_a_reply_has_no_buttons(
    gateway: TestClient, twilio: FakeTwilio, rasa: ScriptedRasa
) -> None:
    post_signed(gateway, inbound_form(SITI, "mau daftar"))
    twilio.wait_for(SITI, 1)
    post_signed(gateway, inbound_form(SITI, "tanpa tombol"))
    twilio.wait_for(SITI, 2)
    post_signed(gateway, inbound_form(SITI, "1"))
    twilio.wait_for(SITI, 3)
    assert rasa.texts() == ["mau daftar", "tanpa tombol", "1"]


def test_media_location_and_very_long_texts_get_a_polite_reply(
    gateway: TestClient, twilio: FakeTwilio, rasa: ScriptedRasa
) -> None:
    voice_note = media_form("audio/ogg")
    location = inbound_form(SITI, "", Latitude="-7.7956", Longitude="110.3695")
    for form in (voice_note, location, inbound_form(SITI, "a" * (MAX_MESSAGE_CHARS + 1))):
        assert post_signed(gateway, form).status_code == 200
    twilio.wait_for(SITI, 3)
    assert sorted(twilio.bodies(SITI)) == sorted(
        [
            messages.NON_TEXT_MESSAGE,
            messages.LOCATION_MESSAGE,
            messages.MESSAGE_TOO_LONG.format(limit=MAX_MESSAGE_CHARS),
        ]
    )
    assert rasa.received == []


def test_a_photo_is_offered_to_rasa_as_a_ktp_photo_not_refused(
    gateway: TestClient, twilio: FakeTwilio, rasa: ScriptedRasa
) -> None:
    photo = media_form("image/jpeg")
    assert post_signed(gateway, photo).status_code == 200
    twilio.wait_for(SITI, 1)
    assert rasa.texts() == ["/ktp_photo"]
    assert messages.NON_TEXT_MESSAGE not in twilio.bodies(SITI)


@pytest.mark.parametrize("case", ["missing", "tampered", "wrong-key"])
def test_bad_signatures_are_refused_and_logged(
    gateway: TestClient,
    twilio: FakeTwilio,
    rasa: ScriptedRasa,
    case: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    form = inbound_form(SITI, "halo")
    key = "another-token" if case == "wrong-key" else AUTH_TOKEN
    signature = None if case == "missing" else twilio_signature(WEBHOOK, form, key)
    if case == "tampered":
        form = {**form, "Body": "hapus data saya"}
    with caplog.at_level(logging.WARNING):
        response = post_signed(gateway, form, signature=signature)
    assert response.status_code == 403
    assert "bad signature" in caplog.text
    # Absence is judged after a properly signed message was answered: had the refused one
    # been processed, it would be in front of this one (same sender, in order).
    assert post_signed(gateway, inbound_form(SITI, "cek status")).status_code == 200
    twilio.wait_for(SITI, 1)
    assert rasa.received == [(f"wa:{SITI}", "cek status")]
    assert len(twilio.to(SITI)) == 1


def test_signature_is_checked_against_the_public_url_behind_a_proxy(
    tmp_path: Path, twilio: FakeTwilio, rasa: ScriptedRasa
) -> None:
    settings = make_settings(tmp_path, twilio)
    settings.public_base_url = "https://sadar.example.id"
    app = create_app(settings, rasa_http=httpx.AsyncClient(transport=httpx.MockTransport(rasa)))
    with TestClient(app, base_url="http://internal:8000") as client:
        form = inbound_form(SITI, "halo")
        public = "https://sadar.example.id/webhooks/whatsapp"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        internal_signature = twilio_signature("http://internal:8000/webhooks/whatsapp", form)
        refused = client.post(
            "/webhooks/whatsapp",
            content=urlencode(form),
            headers={**headers, "X-Twilio-Signature": internal_signature},
        )
        assert refused.status_code == 403
        accepted = client.post(
            "/webhooks/whatsapp",
            content=urlencode(form),
            headers={**headers, "X-Twilio-Signature": twilio_signature(public, form)},
        )
        assert accepted.status_code == 200
        twilio.wait_for(SITI, 1)


def test_a_redelivered_message_sid_is_processed_once(
    gateway: TestClient, twilio: FakeTwilio, rasa: ScriptedRasa
) -> None:
    form = inbound_form(SITI, "halo")
    for _ in range(3):
        assert post_signed(gateway, form).status_code == 200
    # A later message's reply is the signal that every earlier delivery was dealt with.
    assert post_signed(gateway, inbound_form(SITI, "cek status")).status_code == 200
    twilio.wait_for(SITI, 2)
    assert rasa.received == [(f"wa:{SITI}", "halo"), (f"wa:{SITI}", "cek status")]
    assert len(twilio.to(SITI)) == 2


def test_two_gateways_sharing_redis_process_a_redelivery_once(
    tmp_path: Path, twilio: FakeTwilio, redis_server: RedisServer
) -> None:
    rasa = ScriptedRasa()
    settings = make_settings(tmp_path, twilio, redis_url=redis_server.url)

    def gateway_app():
        http = httpx.AsyncClient(transport=httpx.MockTransport(rasa))
        return create_app(settings, rasa_http=http)

    form = inbound_form(BUDI, "halo")
    with TestClient(gateway_app()) as first, TestClient(gateway_app()) as second:
        assert post_signed(first, form).status_code == 200
        assert post_signed(second, form).status_code == 200
        # Then a new message through the second gateway: once it is answered, the
        # redelivery it received before has been dealt with there.
        assert post_signed(second, inbound_form(BUDI, "cek status")).status_code == 200
        twilio.wait_for(BUDI, 2)
    assert sorted(rasa.received) == [(f"wa:{BUDI}", "cek status"), (f"wa:{BUDI}", "halo")]


def test_one_senders_messages_keep_their_order_while_senders_run_concurrently(
    tmp_path: Path, twilio: FakeTwilio
) -> None:
    rasa = ScriptedRasa(delay_seconds=0.2)
    settings = make_settings(tmp_path, twilio)
    app = create_app(settings, rasa_http=httpx.AsyncClient(transport=httpx.MockTransport(rasa)))
    with TestClient(app) as client:
        for number in ("1 tanpa", "2 tanpa", "3 tanpa"):
            post_signed(client, inbound_form(SITI, number))
            post_signed(client, inbound_form(BUDI, number))
        twilio.wait_for(SITI, 3)
        twilio.wait_for(BUDI, 3)
    for sender in (SITI, BUDI):
        assert rasa.texts(f"wa:{sender}") == ["1 tanpa", "2 tanpa", "3 tanpa"]
        assert twilio.bodies(sender) == ["echo: 1 tanpa", "echo: 2 tanpa", "echo: 3 tanpa"]
    assert rasa.max_active == 2  # one per sender at a time, both senders at once


def test_a_failed_send_is_retried_and_recorded(
    gateway: TestClient, twilio: FakeTwilio, rasa: ScriptedRasa, tmp_path: Path
) -> None:
    twilio.failures = [500, 429]
    post_signed(gateway, inbound_form(SITI, "halo"))
    twilio.wait_for(SITI, 1)
    assert twilio.requests == 3
    wait_until(lambda: len(rows(tmp_path)) == 1)
    assert rows(tmp_path)[0].attempts == 3
    assert len(rasa.received) == 1  # the conversation ran once; only the send was retried


def test_a_refused_send_is_recorded_as_failed_not_retried(
    gateway: TestClient, twilio: FakeTwilio, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    twilio.failures = [400]
    with caplog.at_level(logging.ERROR):
        post_signed(gateway, inbound_form(SITI, "halo"))
        wait_until(lambda: len(rows(tmp_path)) == 1)
    (row,) = rows(tmp_path)
    assert row.status == "failed" and "400" in (row.error or "")
    assert twilio.requests == 1
    assert "not sent" in caplog.text and SITI not in caplog.text


def test_status_callbacks_are_recorded_against_the_message(
    gateway: TestClient, twilio: FakeTwilio, tmp_path: Path
) -> None:
    post_signed(gateway, inbound_form(SITI, "halo"))
    (sent,) = twilio.wait_for(SITI, 1)
    wait_until(lambda: len(rows(tmp_path)) == 1)
    statuses = []
    for status in ("sent", "delivered", "read", "sent"):  # the late "sent" must not undo "read"
        assert twilio.report_status(sent, status, post=gateway.post) == 204
        statuses.append(rows(tmp_path)[0].status)
    assert statuses == ["sent", "delivered", "read", "read"]


def test_a_failed_delivery_keeps_the_error_code(
    gateway: TestClient, twilio: FakeTwilio, tmp_path: Path
) -> None:
    post_signed(gateway, inbound_form(SITI, "halo"))
    (sent,) = twilio.wait_for(SITI, 1)
    wait_until(lambda: len(rows(tmp_path)) == 1)
    assert twilio.report_status(sent, "undelivered", "63016", post=gateway.post) == 204
    (row,) = rows(tmp_path)
    assert (row.status, row.error) == ("undelivered", "63016")


def test_status_callbacks_need_a_valid_signature(
    gateway: TestClient, twilio: FakeTwilio, tmp_path: Path
) -> None:
    post_signed(gateway, inbound_form(SITI, "halo"))
    (sent,) = twilio.wait_for(SITI, 1)
    form = {"MessageSid": sent["sid"], "MessageStatus": "failed"}
    url = "http://testserver/webhooks/whatsapp/status"
    bad = twilio_signature(url, {**form, "MessageStatus": "read"})
    assert post_signed(gateway, form, url=url, signature=bad).status_code == 403
    wait_until(lambda: len(rows(tmp_path)) == 1)
    assert rows(tmp_path)[0].status == "queued"


def test_each_inbound_message_reopens_the_24_hour_window(
    gateway: TestClient, twilio: FakeTwilio, tmp_path: Path
) -> None:
    before = datetime.now(UTC)
    post_signed(gateway, inbound_form(SITI, "halo"))
    twilio.wait_for(SITI, 1)
    context = AppContext.from_settings(Settings(_env_file=None, data_dir=tmp_path))
    log = context.channel_log
    sender = f"wa:{SITI}"
    last = log.last_inbound_at(sender)
    assert last is not None and last >= before - timedelta(seconds=1)
    assert not log.template_required(sender, now=last + timedelta(hours=23, minutes=59))
    assert log.template_required(sender, now=last + timedelta(hours=24, minutes=1))
    assert log.template_required("wa:+6289999999999")  # never wrote to us
    with context.sessions() as session:
        (contact,) = session.scalars(select(ChannelContact)).all()
    assert SITI not in contact.address_encrypted
    assert context.cipher.decrypt(contact.address_encrypted) == sender


def test_rasa_down_gets_a_polite_reply_over_the_rest_api(
    tmp_path: Path, twilio: FakeTwilio
) -> None:
    # A port just bound and released: known closed (nothing may be assumed of port 9).
    closed = free_port()
    settings = make_settings(
        tmp_path, twilio, rasa_url=f"http://127.0.0.1:{closed}", rasa_timeout_seconds=2
    )
    with TestClient(create_app(settings)) as client:
        post_signed(client, inbound_form(SITI, "halo"))
        twilio.wait_for(SITI, 1)
    assert twilio.bodies(SITI) == [messages.RASA_UNAVAILABLE]


def test_without_a_sender_number_the_webhook_says_what_is_missing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, twilio_auth_token=AUTH_TOKEN)
    with TestClient(create_app(settings)) as client, caplog.at_level(logging.ERROR):
        response = post_signed(client, inbound_form(SITI, "halo"))
    assert response.status_code == 503
    assert "SADAR_TWILIO_WHATSAPP_FROM" in caplog.text
