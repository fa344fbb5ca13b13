"""The pure rules of issue 19: which address a reminder tries first and falls back to, why
someone cannot be reached, which delivery reports mean an address is gone, and what a
message says about channels and number changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.addresses import (
    AddressState,
    Unreachable,
    becomes_preferred,
    reminder_route,
    why_unreachable,
)
from bot.domain.messaging import address_gone
from bot.domain.senders import Channel
from bot.understanding.address_messages import (
    channel_named,
    read_number_change,
    reminder_scope,
    says_not_me,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def state(channel: Channel, *, preferred: bool = False, days: int = 0, **extra) -> AddressState:
    return AddressState(channel, preferred, T0 + timedelta(days=days), **extra)


def route(*states: AddressState) -> list[tuple[Channel, bool]]:
    return [(s.channel, s.preferred) for s in reminder_route(states, lambda s: s)]


def test_the_preferred_address_leads_then_whatsapp_then_the_newest() -> None:
    assert route(
        state(Channel.TELEGRAM, days=3),
        state(Channel.WHATSAPP, days=1),
        state(Channel.TELEGRAM, preferred=True),
    ) == [(Channel.TELEGRAM, True), (Channel.WHATSAPP, False), (Channel.TELEGRAM, False)]
    newest_first = reminder_route(
        [state(Channel.WHATSAPP, days=1), state(Channel.WHATSAPP, days=5)], lambda s: s
    )
    assert [s.verified_at.day for s in newest_first] == [6, 2]


def test_the_web_chat_stopped_and_failed_addresses_are_never_tried() -> None:
    assert (
        route(
            state(Channel.WEB, preferred=True),
            state(Channel.WHATSAPP, stopped=True),
            state(Channel.TELEGRAM, undeliverable="Forbidden: bot was blocked by the user"),
        )
        == []
    )


@pytest.mark.parametrize(
    ("states", "why"),
    [
        ([state(Channel.WEB)], Unreachable.WEB_ONLY),
        ([], Unreachable.WEB_ONLY),
        ([state(Channel.WEB), state(Channel.WHATSAPP, stopped=True)], Unreachable.STOPPED),
        (
            [state(Channel.WHATSAPP, stopped=True), state(Channel.TELEGRAM, undeliverable="x")],
            Unreachable.UNDELIVERABLE,
        ),
        ([state(Channel.WEB), state(Channel.TELEGRAM)], None),
    ],
)
def test_why_someone_cannot_be_reached(states: list[AddressState], why: Unreachable) -> None:
    assert why_unreachable(states) is why


def test_a_new_address_leads_only_where_nothing_reachable_leads() -> None:
    web_only = [state(Channel.WEB, preferred=True)]
    assert becomes_preferred(web_only, Channel.WHATSAPP)
    assert not becomes_preferred(web_only, Channel.WEB)
    on_telegram = [state(Channel.TELEGRAM, preferred=True)]
    assert not becomes_preferred(on_telegram, Channel.WHATSAPP)
    blocked = [state(Channel.TELEGRAM, preferred=True, undeliverable="blocked")]
    assert becomes_preferred(blocked, Channel.WHATSAPP)


@pytest.mark.parametrize(
    ("status", "error", "gone"),
    [
        ("undelivered", "63003: Channel could not find To address", True),
        ("failed", "63024", True),
        ("undelivered", "63014: Channel message blocked by user action", True),
        ("failed", "63016: outside the allowed window", False),  # a template was needed
        ("undelivered", "63018: rate limit", False),
        ("delivered", "63003", False),
        ("failed", None, False),
    ],
)
def test_which_delivery_reports_mean_the_address_is_gone(
    status: str, error: str | None, gone: bool
) -> None:
    assert address_gone(status, error) is gone


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("stop pengingat", None),
        ("STOP", None),
        ("aktifkan pengingat", None),
        ("stop pengingat di telegram saja", Channel.TELEGRAM),
        ("stop pengingat wa aja", Channel.WHATSAPP),
        ("jangan kirim pengingat lewat whatsapp", Channel.WHATSAPP),
        ("pengingat lewat watsap matikan", Channel.WHATSAPP),
        ("aktifkan pengingat tele", Channel.TELEGRAM),
        ("berhenti pengingat di sini aja", Channel.WEB),
        ("stop kirim ke chat ini", Channel.WEB),
        # Both named: about the person, not one address.
        ("stop pengingat wa dan telegram", None),
        # "wa" inside another word names nothing.
        ("stop pengingat, wajib bayar kan?", None),
    ],
)
def test_which_channel_a_stop_or_resume_is_meant_for(text: str, scope: Channel | None) -> None:
    assert reminder_scope(text, here=Channel.WEB) is scope


def test_a_channel_named_alone() -> None:
    assert channel_named("hubungkan WA saya") is Channel.WHATSAPP
    assert channel_named("lewat telegram") is Channel.TELEGRAM
    assert channel_named("halo") is None


@pytest.mark.parametrize(
    ("text", "phone", "reference"),
    [
        ("ganti nomor 0813-1234-5678", "+6281312345678", None),
        ("ganti nomor SDR-AB12-CD34 0856 1234 0000", "+6285612340000", "SDR-AB12-CD34"),
        ("warga sdr-ab12-cd34 ganti nomor jadi 085211119999", "+6285211119999", "SDR-AB12-CD34"),
        ("nomor saya ganti", None, None),
        # Two numbers: which one is new is not guessed.
        ("dari 081311112222 ke 081333334444", None, None),
    ],
)
def test_what_a_number_change_says(text: str, phone: str | None, reference: str | None) -> None:
    said = read_number_change(text)
    assert (said.phone, said.reference) == (phone, reference)


@pytest.mark.parametrize(
    ("text", "reported"),
    [
        ("BUKAN SAYA", True),
        ("bukan saya!", True),
        ("Ini bukan saya", True),
        ("bkn sy", True),
        ("bukan saya yang minta", True),
        ("bukan", False),
        ("saya bukan petani", False),
        ("bukan saya mau daftar", False),
    ],
)
def test_bukan_saya_is_read_only_as_the_whole_message(text: str, reported: bool) -> None:
    assert says_not_me(text) is reported
