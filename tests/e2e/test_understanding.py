"""Everyday Indonesian through the whole stack: NLU, rules, actions."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import Stack

CONSENT_QUESTION_START = "Sebelum mendaftar, kami minta persetujuan Anda."


def _texts(replies: list[dict]) -> list[str]:
    return [r.get("text") or "" for r in replies]


def test_premium_question_with_slang_income_is_computed(stack: Stack) -> None:
    replies = stack.chat(f"e2e-{uuid.uuid4().hex[:8]}", "kalau penghasilan sejuta bayar brp?")
    text = _texts(replies)[0]
    assert "Untuk penghasilan Rp1.000.000 per bulan" in text
    assert "Total JKK+JKM: Rp16.800/bulan" in text
    assert "total Rp36.800/bulan" in text


def test_javanese_question_gets_the_due_date(stack: Stack) -> None:
    replies = stack.chat(
        f"e2e-{uuid.uuid4().hex[:8]}", "mbayar iurane paling telat tanggal pinten?"
    )
    assert "tanggal 15" in _texts(replies)[0]


def test_question_during_consent_is_answered_then_consent_asked_again(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    stack.chat(sender, "mau daftar")
    texts = _texts(stack.chat(sender, "santunan kematiannya berapa?"))
    assert "Rp42 juta" in texts[0]
    assert texts[-1].startswith(CONSENT_QUESTION_START)
    assert "sudah kami catat" in _texts(stack.chat(sender, "ya setuju"))[0]


def test_question_during_registration_is_answered_then_the_pending_question_again(
    stack: Stack,
) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    stack.chat(sender, "mau daftar")
    stack.chat(sender, "ya")
    texts = _texts(stack.chat(sender, "syarat daftarnya apa aja?"))
    assert "NIK (16 angka di KTP)" in texts[0]
    assert texts[-1] == "Siapa nama lengkap Anda, sesuai KTP?"


def test_cancel_during_consent_stores_nothing(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    stack.chat(sender, "daftar")
    assert "pendaftaran dibatalkan" in _texts(stack.chat(sender, "gak jadi deh"))[0]
    assert "Tidak ada pendaftaran" in _texts(stack.chat(sender, "batal"))[0]


def test_unrelated_message_says_what_the_bot_can_do(stack: Stack) -> None:
    replies = stack.chat(
        f"e2e-{uuid.uuid4().hex[:8]}", "harga cabai rawit di pasar berapa sekarang"
    )
    assert "di luar yang bisa saya bantu" in replies[0]["text"]
    assert [b["payload"] for b in replies[0]["buttons"]][:1] == ["/start_registration"]
