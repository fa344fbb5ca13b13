"""Issue 27, point 2, through the whole stack: an income per day is never stored as the
month's (the monthly figure is confirmed with a button), a birth date in words is read, and
one part of a refused date is merged with the date typed before it."""

from __future__ import annotations

import itertools
import uuid

from bot.infra.crypto import PiiCipher
from tests.e2e.conftest import Stack, participant_by_nik, reply_texts, start_registration

_SERIALS = itertools.count(7_001)


def _unique_nik() -> str:
    """A valid NIK of Kec. Bangilan, Kab. Tuban (35.23.03), born 17-08-1980; its serials
    apart from other e2e tests'."""
    return f"352303170880{next(_SERIALS):04d}"


def test_an_income_per_day_is_confirmed_as_a_monthly_figure(stack: Stack, db) -> None:
    sender, nik = f"e2e-{uuid.uuid4().hex[:8]}", _unique_nik()
    start_registration(stack, sender)
    reply = stack.chat(
        sender,
        f"nama Warsini, NIK {nik}, lahir tujuh belas agustus delapan puluh, "
        "hp 081234500071, desa Karanglo, nelayan",
    )
    assert "penghasilan" in reply_texts(reply)[-1]
    replies = stack.chat(sender, "sehari 80 rb")
    offer = next(r for r in replies if "per hari" in (r.get("text") or ""))
    assert "Rp80.000 per hari kira-kira Rp2.080.000 per bulan (26 hari kerja)" in offer["text"]
    (button,) = offer["buttons"]
    assert button["title"] == "Ya, Rp2.080.000 per bulan"
    assert "JHT" not in reply_texts(replies)[-1], "the day's figure is not taken for the month's"
    assert "JHT" in reply_texts(stack.chat(sender, button["payload"]))[-1]
    summary = reply_texts(stack.chat(sender, "tidak, jkk jkm saja"))[-1]
    assert "Penghasilan: Rp2.080.000/bulan" in summary
    assert "Lahir: 17-08-1980" in summary  # said in words: "tujuh belas agustus delapan puluh"
    stack.chat(sender, "ya")
    participant = participant_by_nik(db, nik)
    assert participant is not None
    cipher = PiiCipher(stack.settings.pii_encryption_keys.get_secret_value())
    assert cipher.decrypt(participant.income_encrypted) == "2080000"


def test_a_part_of_a_refused_birth_date_is_merged_with_the_date_typed_before(
    stack: Stack,
) -> None:
    sender, nik = f"e2e-{uuid.uuid4().hex[:8]}", _unique_nik()
    start_registration(stack, sender)
    stack.chat(sender, "nama saya Karsono")
    assert "Tanggal lahir" in reply_texts(stack.chat(sender, nik))[-1]
    refused = " ".join(reply_texts(stack.chat(sender, "17 agustus 1981")))
    assert "tidak cocok dengan NIK" in refused
    assert "Nomor HP" in reply_texts(stack.chat(sender, "salah, tahunnya 80"))[-1]
