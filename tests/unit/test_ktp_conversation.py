"""A KTP photo in the conversation (issue 30): Rasa's word to the gateway, the router's two
turns (a photo is fetched only when Rasa says the form may take it), the fields of a reading
that reach the form, and the conversation store dropping them before they are confirmed."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx

from bot.channels.whatsapp import InboundKind, InboundWhatsApp
from bot.conversation import (
    PHOTO_READ_PAYLOAD,
    PHOTO_SENT_PAYLOAD,
    ConversationRouter,
    RasaClient,
)
from bot.domain.ktp import READING_METADATA, KtpReading, PhotoStep, form_answers, village_answer
from bot.domain.nik import Sex
from bot.domain.replies import BotReply, for_delivery
from bot.infra.signed_metadata import SIGNED_KEY, signing_key, verified
from bot.infra.unstored import REDACTED_TEXT, UNSTORED_KEYS, as_stored

TOKEN = "unit-rasa-channel-token-0123456789abcdef"


def test_rasas_word_about_a_photo_is_read_and_never_delivered() -> None:
    word = BotReply.from_rasa({"custom": {"ktp_photo": "read"}})
    assert word.photo_step == PhotoStep.READ and word.is_empty
    assert for_delivery([word, BotReply(text="NIK?")]) == [BotReply(text="NIK?")]
    assert BotReply.from_rasa({"custom": "not a dict", "text": "x"}).photo_step is None


def test_only_the_forms_fields_of_a_reading_reach_the_form() -> None:
    reading = KtpReading(
        nik="3523034508900001",
        full_name="SITI AMINAH",
        birth_place="TUBAN",
        birth_date=date(1990, 8, 5),
        sex=Sex.FEMALE,
        rt_rw="002/003",
        address="DUSUN KRAJAN",
        village="KARANGLO",
        district="KEREK",
    )
    answers = form_answers(reading)
    assert answers == {
        "full_name": "SITI AMINAH",
        "nik": "3523034508900001",
        "birth_date": "1990-08-05",
        "village": "KARANGLO",
        "district": "KEREK",
    }  # no address, RT/RW, birth place or sex: read to check, never kept
    assert village_answer(answers) == "KARANGLO, Kecamatan KEREK"
    assert village_answer({"village": "KARANGLO"}) == "KARANGLO"
    assert village_answer({}) is None


def test_the_conversation_store_drops_the_fields_read_but_keeps_the_rest() -> None:
    assert {READING_METADATA} == UNSTORED_KEYS
    metadata = {SIGNED_KEY: {READING_METADATA: {"nik": "3523034508900001"}, "x": 1}}
    event = {
        "event": "user",
        "text": "ya",
        "metadata": metadata,
        "parse_data": {"intent": {"name": "affirm"}, "metadata": metadata},
    }
    stored = as_stored(event)
    assert "3523034508900001" not in json.dumps(stored)
    assert stored["metadata"][SIGNED_KEY] == {"x": 1}
    assert stored["parse_data"]["metadata"][SIGNED_KEY] == {"x": 1}
    assert READING_METADATA in event["metadata"][SIGNED_KEY]  # the turn's own copy untouched
    assert as_stored({"event": "bot", "text": "hi"}) == {"event": "bot", "text": "hi"}
    shown = {
        "event": "bot",
        "text": "Dari foto KTP, saya membaca:\n• NIK: 3523034508900001\nBenar?",
        "data": {"buttons": [{"title": "Ya, benar", "payload": "/affirm"}]},
        "metadata": {"utter_action": "utter_ktp_photo_read", "fields": "• NIK: 3523034508900001"},
    }
    redacted = as_stored(shown)
    assert "3523034508900001" not in json.dumps(redacted)
    assert redacted["text"] == REDACTED_TEXT and redacted["data"] == shown["data"]


class PhotoRasa:
    """Rasa's side of a photo, at the HTTP boundary: "read" while the form may take one."""

    def __init__(self, allow: bool) -> None:
        self.allow = allow
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.calls.append(body)
        if body["message"] == PHOTO_SENT_PAYLOAD:
            first = {"custom": {"ktp_photo": "read"}} if self.allow else {"text": "Setuju dulu."}
            return httpx.Response(200, json=[first, {"text": "Berapa NIK Anda?"}])
        if body["message"] == PHOTO_READ_PAYLOAD:
            return httpx.Response(
                200, json=[{"text": "Benar?"}, {"custom": {"ktp_photo": "confirming"}}]
            )
        return httpx.Response(200, json=[{"text": "Dicatat."}])


class Photos:
    """The reader's side: what a photo gave, kept while "Benar?" waits."""

    def __init__(self) -> None:
        self.read_photos: list[bytes | None] = []
        self.kept: dict[str, dict[str, Any]] = {}

    async def read(self, sender_id: str, photo: bytes | None) -> dict[str, Any]:
        self.read_photos.append(photo)
        self.kept[sender_id] = {READING_METADATA: {"nik": "3523034508900001"}}
        return self.kept[sender_id]

    async def pending(self, sender_id: str) -> dict[str, Any]:
        return self.kept.get(sender_id, {})

    async def after_turn(self, sender_id: str, replies: list[BotReply]) -> None:
        if not any(r.photo_step == PhotoStep.CONFIRMING for r in replies):
            self.kept.pop(sender_id, None)


async def test_a_photo_is_fetched_and_read_only_when_rasa_says_so() -> None:
    for allow in (False, True):
        rasa, photos, fetched = PhotoRasa(allow), Photos(), []

        async def fetch(fetched: list[int] = fetched) -> bytes:
            fetched.append(1)
            return b"jpeg"

        http = httpx.AsyncClient(transport=httpx.MockTransport(rasa))
        router = ConversationRouter(RasaClient("http://rasa", 5, http=http), photos=photos)
        delivered: list[list[BotReply]] = []

        async def deliver(replies: list[BotReply], into: list = delivered) -> None:
            into.append(replies)

        async with router.turn("wa:+628"):
            await router.photo("wa:+628", fetch, deliver)
        texts = [r.text for r in delivered[0]]
        if not allow:
            assert fetched == [] and photos.read_photos == []
            assert texts == ["Setuju dulu.", "Berapa NIK Anda?"]
            continue
        assert fetched == [1] and photos.read_photos == [b"jpeg"]
        assert texts == ["Benar?"]  # the "may I?" turn is a word to the gateway only
        key = signing_key(TOKEN)
        assert rasa.calls[1]["message"] == PHOTO_READ_PAYLOAD
        # The answer to "Benar?" carries the fields; once answered they are forgotten.
        router_signed = ConversationRouter(
            RasaClient("http://rasa", 5, http=http, channel_token=TOKEN), photos=photos
        )
        await router_signed.handle("wa:+628", "ya")
        assert verified(key, "wa:+628", rasa.calls[-1]["metadata"]) == {
            READING_METADATA: {"nik": "3523034508900001"}
        }
        assert await photos.pending("wa:+628") == {}


def test_which_whatsapp_media_may_be_a_ktp_photo() -> None:
    def kind(content_type: str, body: str = "") -> InboundKind:
        form = {
            "MessageSid": "MM1", "From": "whatsapp:+628", "Body": body, "NumMedia": "1",
            "MediaUrl0": "https://api.twilio.com/x", "MediaContentType0": content_type,
        }  # fmt: skip
        return InboundWhatsApp.from_form(form).kind

    assert kind("image/jpeg") is InboundKind.PHOTO
    assert kind("image/jpeg", "ini ktp saya") is InboundKind.PHOTO  # a caption is not read
    assert kind("application/pdf") is InboundKind.PHOTO  # refused by its bytes, in words
    assert kind("image/webp") is InboundKind.MEDIA  # a sticker
    assert kind("audio/ogg") is InboundKind.MEDIA
