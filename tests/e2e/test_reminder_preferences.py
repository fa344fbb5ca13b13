"""Reminder opt-out and resume at any moment, and "sudah bayar" reports, through the whole
stack (gateway, Rasa, action server) with the database checked afterwards."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from bot.db.models import ChannelContact, Payment
from bot.infra.privacy import keyed_hash
from tests.conftest import TEST_PII_KEY
from tests.e2e.conftest import Stack


def opted_out(db, sender_id: str) -> bool:
    with db() as session:
        contact = session.scalar(
            select(ChannelContact).where(
                ChannelContact.sender_hash == keyed_hash(TEST_PII_KEY, sender_id)
            )
        )
    assert contact is not None
    return contact.reminders_opted_out_at is not None


@pytest.mark.parametrize("stop_word", ["STOP", "berhenti", "stop pengingat"])
def test_stop_and_resume_on_whatsapp(stack: Stack, db, stop_word: str) -> None:
    number = f"+62857{uuid.uuid4().int % 10**7:07d}"
    stack.whatsapp(number, "halo")
    reply = stack.whatsapp(number, stop_word)[-1]
    assert "tidak akan kami kirim lagi" in reply
    assert opted_out(db, f"wa:{number}")
    reply = stack.whatsapp(number, "aktifkan pengingat")[-1]
    assert "aktif lagi" in reply
    assert not opted_out(db, f"wa:{number}")


def test_stop_in_the_middle_of_a_registration_keeps_the_form_going(stack: Stack, db) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    stack.chat(sender, "mau daftar")
    stack.chat(sender, "ya setuju")
    stack.chat(sender, "nama saya Rini Astuti")
    texts = [r.get("text") or "" for r in stack.chat(sender, "stop pengingat")]
    assert any("tidak akan kami kirim lagi" in t for t in texts)
    assert "NIK" in texts[-1], "the pending question is asked again"
    assert opted_out(db, stack.web_sender(sender))


def test_a_payment_report_is_stored_unverified(stack: Stack, db) -> None:
    number = f"+62858{uuid.uuid4().int % 10**7:07d}"
    nik = f"357109170880{uuid.uuid4().int % 10**4:04d}"
    for text in [
        "mau daftar",
        "1",
        "Dewi Lestari",
        nik,
        "17 agustus 1980",
        "Karanglo",
        "pedagang",
        "1 juta",
        "tidak",
        "1",
    ]:
        last = stack.whatsapp(number, text)
    assert "Nomor pendaftaran Sadar Anda" in last[-1]
    reply = stack.whatsapp(number, "sudah bayar 2 bulan")[-1]
    assert "Laporan bayar 2 bulan sudah kami catat" in reply and "KWT-" in reply
    with db() as session:
        payments = session.scalars(select(Payment)).all()
    mine = [p for p in payments if p.receipt in reply]
    assert len(mine) == 1
    assert (mine[0].months, mine[0].verified, mine[0].source) == (2, False, "participant_report")


def test_a_payment_report_from_an_unregistered_number_says_what_to_do(stack: Stack) -> None:
    number = f"+62859{uuid.uuid4().int % 10**7:07d}"
    reply = stack.whatsapp(number, "saya sudah bayar iuran")[-1]
    assert "belum terdaftar" in reply
