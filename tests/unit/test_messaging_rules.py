"""Pure channel rules: WhatsApp's service window, delivery status order, numbered options,
message splitting, rate pacing, and how replies are prepared for delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.options import resolve_option
from bot.channels.whatsapp import MAX_BODY_CHARS, InboundKind, InboundWhatsApp, split_body
from bot.domain.messaging import next_delivery_status, template_required, window_open
from bot.domain.replies import BotReply, Button, for_delivery
from bot.domain.senders import Channel
from bot.infra.shared_state import reserve

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "open_"),
    [
        (None, False),
        (NOW - timedelta(hours=23, minutes=59), True),
        (NOW - timedelta(hours=24), False),
    ],
)
def test_the_window_lasts_24_hours_from_the_last_inbound_message(last, open_) -> None:
    assert window_open(last, NOW) is open_
    assert template_required(Channel.WHATSAPP, last, NOW) is not open_


def test_telegram_never_needs_a_template() -> None:
    assert not template_required(Channel.TELEGRAM, None, NOW)


@pytest.mark.parametrize(
    ("reports", "final"),
    [
        (["sent", "delivered", "read"], "read"),
        (["delivered", "sent"], "delivered"),
        (["read", "sent", "delivered"], "read"),
        (["sent", "failed"], "failed"),
        (["undelivered", "delivered"], "undelivered"),
        (["read", "failed"], "read"),
        (["sent", "receiving-something-new"], "sent"),
    ],
)
def test_delivery_reports_never_move_backwards(reports: list[str], final: str) -> None:
    status = "queued"
    for reported in reports:
        status = next_delivery_status(status, reported)
    assert status == final


TITLES = ["Ya, setuju", "Tidak", "Tanya dulu"]


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("1", 0),
        ("3", 2),
        ("3.", 2),
        ("2)", 1),
        ("no 2", 1),
        ("No. 2", 1),
        ("pilih 3", 2),
        ("nomor 1", 0),
        ("ya, setuju", 0),
        ("YA SETUJU", 0),
        ("tanya dulu!", 2),
        ("4", None),
        ("0", None),
        ("ya", None),
        ("12345", None),
        ("", None),
        ("mau daftar", None),
    ],
)
def test_numbered_option_replies(text: str, index: int | None) -> None:
    assert resolve_option(text, TITLES) == index


def test_long_bodies_are_split_at_line_breaks_within_twilios_limit() -> None:
    lines = [f"Baris {i} " + "x" * 90 for i in range(40)]
    parts = split_body("\n".join(lines))
    assert len(parts) > 1
    assert all(len(part) <= MAX_BODY_CHARS for part in parts)
    assert "\n".join(parts).split("\n") == lines


def test_inbound_forms_are_classified() -> None:
    base = {"MessageSid": "SM1", "From": "whatsapp:+628123", "Body": "", "NumMedia": "0"}
    assert InboundWhatsApp.from_form({**base, "Body": "halo"}).kind is InboundKind.TEXT
    assert InboundWhatsApp.from_form({**base, "NumMedia": "1"}).kind is InboundKind.MEDIA
    captioned = {**base, "NumMedia": "1", "Body": "ini KTP saya"}
    assert InboundWhatsApp.from_form(captioned).kind is InboundKind.TEXT
    located = {**base, "Latitude": "-7.8", "Longitude": "110.4"}
    assert InboundWhatsApp.from_form(located).kind is InboundKind.LOCATION
    assert InboundWhatsApp.from_form(base).sender_number == "+628123"


def test_each_caller_reserves_its_own_slot_a_burst_then_exactly_the_rate() -> None:
    tat, now, slots = None, 100.0, []
    for _ in range(7):  # seven callers at the same instant, 2/s with bursts of 3
        wait, tat = reserve(tat, now, rate=2, burst=3)
        slots.append(now + wait)
    assert slots == [100.0, 100.0, 100.0, 100.5, 101.0, 101.5, 102.0]


def test_an_idle_limiter_does_not_bank_more_than_the_burst() -> None:
    _, tat = reserve(None, 100.0, rate=1, burst=1)
    wait, _ = reserve(tat, 500.0, rate=1, burst=1)
    assert wait == 0
    wait, _ = reserve(tat + 0.0, 100.2, rate=1, burst=1)
    assert wait == pytest.approx(0.8)


def test_contact_request_moves_to_the_last_text_and_empty_replies_go() -> None:
    replies = [
        BotReply(text="Nomor HP aktif Anda?"),
        BotReply(request_contact="Kirim nomor HP saya"),
        BotReply(),
    ]
    assert for_delivery(replies) == [
        BotReply(text="Nomor HP aktif Anda?", request_contact="Kirim nomor HP saya")
    ]
    with_buttons = [BotReply(text="Pilih:", buttons=(Button("Ya", "/affirm"),))]
    assert for_delivery([*with_buttons, BotReply(request_contact="x")]) == with_buttons
