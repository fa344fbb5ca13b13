"""A full registration over each real channel: Telegram Updates posted to the gateway's
webhook (replies captured by a fake Bot API) and signed Twilio form posts (replies captured
by a fake Twilio REST API), ending with the right participant row."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import OutboundMessage
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import keyed_hash
from bot.infra.signed_metadata import signing_key, verified
from tests.conftest import TEST_PII_KEY
from tests.e2e.conftest import Stack, TelegramUser, participant_by_nik
from tests.support.stack import RASA_CHANNEL_TOKEN


def _outbound(db, sender_id: str) -> list[OutboundMessage]:
    with db() as session:
        return list(
            session.scalars(
                select(OutboundMessage).where(
                    OutboundMessage.recipient_hash == keyed_hash(TEST_PII_KEY, sender_id)
                )
            )
        )


def test_full_registration_over_telegram(stack: Stack, db) -> None:
    nik = "3571021708807001"
    user = TelegramUser(stack, 880001, "Wati")
    (greeting,) = user.says("/start perisai-017")
    assert greeting["text"].startswith("Halo! Saya Sadar")
    consent = user.says("mau daftar")[-1]
    assert consent["text"].endswith("Apakah Anda setuju?")
    assert "Siapa nama lengkap" in user.presses(consent, "Ya, setuju")[-1]["text"]
    assert "NIK" in user.says("Wati Susanti")[-1]["text"]
    assert "Tanggal lahir" in user.says(nik)[-1]["text"]
    phone_question = user.says("17-08-1980")[-1]
    assert phone_question["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert "desa" in user.shares_contact("6281298765432")[-1]["text"]
    assert "pekerjaan" in user.says("Karanglo")[-1]["text"]
    assert "penghasilan" in user.says("petani")[-1]["text"]
    jht_question = user.says("1 juta")[-1]
    summary = user.presses(jht_question, "Tidak, JKK+JKM saja")[-1]
    assert "• HP: +6281298765432" in summary["text"]
    assert "Iuran: Rp16.800/bulan" in summary["text"]
    done, offer = [m["text"] for m in user.presses(summary, "Ya, daftarkan")[-2:]]
    assert "Nomor pendaftaran Sadar Anda: SDR-" in done
    assert offer.startswith("Mau pengingat iuran juga lewat WhatsApp?")

    participant = participant_by_nik(db, nik)
    assert participant is not None and participant.reference in done
    assert (participant.channel, participant.occupation, participant.with_jht) == (
        "tg",
        "petani",
        False,
    )
    assert participant.sender_hash == keyed_hash(TEST_PII_KEY, "tg:880001")
    cipher = PiiCipher(stack.settings.pii_encryption_keys.get_secret_value())
    assert cipher.decrypt(participant.phone_encrypted) == "+6281298765432"
    # The deep-link code arrived with the conversation, for the agent referral (issue 8),
    # signed by the gateway.
    events = stack.tracker("tg:880001")["events"]
    key = signing_key(RASA_CHANNEL_TOKEN)
    starts = [verified(key, "tg:880001", e.get("metadata")) for e in events if e["event"] == "user"]
    assert next(s for s in starts if s)["start_parameter"] == "perisai-017"
    # Every reply went through the outbox and is on record, without the chat id.
    records = _outbound(db, "tg:880001")
    assert len(records) == len(stack.telegram_to(880001))
    assert {r.status for r in records} == {"sent"}


def test_full_registration_over_whatsapp(stack: Stack, db) -> None:
    number, nik = "+6285711110001", "3571021708807002"
    assert "\n1. Daftar sekarang\n2. Besar iuran" in stack.whatsapp(number, "halo")[-1]
    assert stack.whatsapp(number, "1")[-1].endswith("1. Ya, setuju\n2. Tidak")
    assert "nama lengkap" in stack.whatsapp(number, "1")[-1]
    assert "NIK" in stack.whatsapp(number, "Joko Santoso")[-1]
    assert "Tanggal lahir" in stack.whatsapp(number, nik)[-1]
    # The number is the WhatsApp sender's: it is not asked.
    assert "desa" in stack.whatsapp(number, "17 agustus 1980")[-1]
    assert "pekerjaan" in stack.whatsapp(number, "Karanglo")[-1]
    assert "penghasilan" in stack.whatsapp(number, "nelayan")[-1]
    assert "2. Tidak, JKK+JKM saja" in stack.whatsapp(number, "2 juta")[-1]
    summary = stack.whatsapp(number, "ya, ikut JHT")[-1]
    assert "• HP: +6285711110001" in summary and summary.endswith(
        "1. Ya, daftarkan\n2. Ada yang salah"
    )
    done = stack.whatsapp(number, "1")[-1]
    assert "Nomor pendaftaran Sadar Anda: SDR-" in done

    participant = participant_by_nik(db, nik)
    assert participant is not None and participant.reference in done
    assert (participant.channel, participant.occupation, participant.with_jht) == (
        "wa",
        "nelayan",
        True,
    )
    cipher = PiiCipher(stack.settings.pii_encryption_keys.get_secret_value())
    assert cipher.decrypt(participant.phone_encrypted) == number
    assert participant.sender_hash == keyed_hash(TEST_PII_KEY, f"wa:{number}")
    # Delivery reports from Twilio land on the recorded messages.
    last = stack.twilio.to(number)[-1]
    assert stack.twilio.report_status(last, "delivered") == 204
    records = {r.provider_message_id: r for r in _outbound(db, f"wa:{number}")}
    assert len(records) == len(stack.twilio.to(number))
    assert records[last["sid"]].status == "delivered"
