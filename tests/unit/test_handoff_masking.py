"""What an agent sees of a resident's messages (issue 25, point 3): a NIK, a phone number
and a one-time code are masked, and a message that carried a code is left out of the
ticket's first notice altogether."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.handoff import recent_texts
from bot.services.handoff import masked_text


def test_a_nik_a_phone_and_a_code_are_masked() -> None:
    shown = masked_text("NIK 3523031708800301, hp 0812-3456-7890, kodenya 482 913 / 482913")
    assert shown == "NIK 3523**********01, hp 0812******90, kodenya ******* / ******"
    assert masked_text("iuran 16.800 untuk 3 bulan, tahun 2026") == (
        "iuran 16.800 untuk 3 bulan, tahun 2026"
    )
    # Amounts written with thousands separators stay readable; a code split by a dot does not
    # pass for an amount only when it is not one.
    assert masked_text("sudah bayar Rp100.000 dan 1.500.000, kode 123456.") == (
        "sudah bayar Rp100.000 dan 1.500.000, kode ******."
    )


def _user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def test_the_first_notice_leaves_out_messages_that_carried_a_code() -> None:
    events = [
        _user("SETUJU 123456", "give_consent_code"),
        _user("/affirm", "affirm"),
        _user("iuran saya berapa?", "ask_contribution"),
        _user("mau bicara dengan agen", "ask_human"),
    ]
    tracker = Tracker("wa:+6281234500999", {}, {}, events, False, None, {}, "action_listen")
    assert recent_texts(tracker, 5) == ["iuran saya berapa?", "mau bicara dengan agen"]
