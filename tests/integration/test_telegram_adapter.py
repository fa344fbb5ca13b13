"""The Telegram adapter against a local fake Bot API, fed with real Update JSON.

Rasa is replaced at its HTTP boundary by a fake REST channel (tests/support/fake_rasa.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx
import pytest
from telegram import Update

from bot import messages
from bot.channels.factory import build_outbox
from bot.channels.telegram import build_application
from bot.conversation import ConversationRouter, RasaClient
from bot.infra.settings import Settings
from tests.support.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-token"
CHAT = {"id": 5550001, "type": "private", "first_name": "Siti"}
USER = {"id": 5550001, "is_bot": False, "first_name": "Siti"}


class RasaAskingForPhone:
    """Answers like Rasa does for the phone question: the text, then the custom payload."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.received.append(body["message"])
        return httpx.Response(
            200,
            json=[
                {"recipient_id": body["sender"], "text": "Nomor HP aktif Anda?"},
                {
                    "recipient_id": body["sender"],
                    "custom": {"request_contact": "Kirim nomor HP saya"},
                },
            ],
        )


def _update(update_id: int, **message: object) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": CHAT,
            "from": USER,
            **message,
        },
    }


async def _process(fake: FakeTelegram, rasa: RasaAskingForPhone, *updates: dict) -> None:
    settings = Settings(
        _env_file=None, telegram_bot_token=TOKEN, telegram_api_base_url=fake.base_url
    )
    router = ConversationRouter(
        RasaClient("http://rasa", 5, http=httpx.AsyncClient(transport=httpx.MockTransport(rasa)))
    )
    outbox = build_outbox(settings, channel_log=None)
    application = build_application(settings, router, outbox)
    async with application:
        for data in updates:
            await application.process_update(Update.de_json(data, application.bot))
    await outbox.aclose()


async def test_phone_question_gets_a_share_contact_keyboard(fake: FakeTelegram) -> None:
    rasa = RasaAskingForPhone()
    await _process(fake, rasa, _update(1, text="0812"))
    (sent,) = fake.sent()
    assert sent["text"] == "Nomor HP aktif Anda?"
    assert sent["reply_markup"]["keyboard"] == [
        [{"text": "Kirim nomor HP saya", "request_contact": True}]
    ]
    assert sent["reply_markup"]["one_time_keyboard"] is True


async def test_shared_own_contact_answers_with_the_number(fake: FakeTelegram) -> None:
    rasa = RasaAskingForPhone()
    contact = {"phone_number": "6281234567890", "first_name": "Siti", "user_id": USER["id"]}
    await _process(fake, rasa, _update(2, contact=contact))
    assert rasa.received == ["+6281234567890"]


async def test_someone_elses_contact_is_refused_politely(fake: FakeTelegram) -> None:
    rasa = RasaAskingForPhone()
    contact = {"phone_number": "6289999999999", "first_name": "Budi", "user_id": 42}
    await _process(fake, rasa, _update(3, contact=contact))
    assert rasa.received == []
    assert [m["text"] for m in fake.sent()] == [messages.NOT_OWN_CONTACT]


async def test_a_sticker_gets_a_polite_reply_not_an_error(fake: FakeTelegram) -> None:
    rasa = RasaAskingForPhone()
    sticker = {
        "file_id": "CAACAgIAAxkBAAE",
        "file_unique_id": "AgAD",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    await _process(fake, rasa, _update(4, sticker=sticker))
    assert rasa.received == []
    assert [m["text"] for m in fake.sent()] == [messages.NON_TEXT_MESSAGE]


def _sent_attempts(fake: FakeTelegram) -> int:
    return sum(1 for name, _ in fake.calls if name == "sendMessage")


async def test_http_429_retry_after_is_honoured_and_the_reply_arrives_once(
    fake: FakeTelegram,
) -> None:
    fake.failures = [429]
    started = time.monotonic()
    await _process(fake, RasaAskingForPhone(), _update(5, text="halo"))
    assert time.monotonic() - started >= 1.0  # waited retry_after before trying again
    assert _sent_attempts(fake) == 2
    assert [m["text"] for m in fake.sent()][-1] == "Nomor HP aktif Anda?"


async def test_a_server_error_while_replying_is_retried(fake: FakeTelegram) -> None:
    fake.failures = [502, 502]
    rasa = RasaAskingForPhone()
    await _process(fake, rasa, _update(6, text="halo"))
    assert _sent_attempts(fake) == 3
    assert rasa.received == ["halo"]  # the conversation itself ran once


async def test_a_blocked_bot_is_not_retried(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    fake.failures = [403]
    with caplog.at_level(logging.ERROR):
        await _process(fake, RasaAskingForPhone(), _update(7, text="halo"))
    assert _sent_attempts(fake) == 1
    assert "not sent" in caplog.text and str(CHAT["id"]) not in caplog.text


async def test_polling_mode_receives_updates_and_replies(fake: FakeTelegram) -> None:
    """`sadar telegram poll`'s path: getUpdates from the (fake) Bot API, replies sent back."""
    settings = Settings(
        _env_file=None, telegram_bot_token=TOKEN, telegram_api_base_url=fake.base_url
    )
    rasa = RasaAskingForPhone()
    router = ConversationRouter(
        RasaClient("http://rasa", 5, http=httpx.AsyncClient(transport=httpx.MockTransport(rasa)))
    )
    outbox = build_outbox(settings, channel_log=None)
    application = build_application(settings, router, outbox)
    fake.pending_updates.append(_update(8, text="mau daftar"))
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0.05, timeout=1)
        deadline = time.monotonic() + 10
        while not fake.sent() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await application.updater.stop()
        await application.stop()
    await outbox.aclose()
    assert rasa.received == ["mau daftar"]
    assert [m["text"] for m in fake.sent()] == ["Nomor HP aktif Anda?"]
    assert any(name == "deleteWebhook" for name, _ in fake.calls)
