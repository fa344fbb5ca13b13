"""The console's delivery and reminder figures (issue 32), on SQLite and PostgreSQL: messages
recorded and updated by the real channel log, participants registered and payments
recorded by the real services, one fallback made by the real reminder dispatcher against
the fake Telegram and Twilio servers. The clock is fixed; days are WIB."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app_context import AppContext
from bot.channels.factory import build_outbox
from bot.db.models import OutboundMessage, Reminder
from bot.domain.addresses import Proof
from bot.domain.clock import FixedClock
from bot.domain.payments import load_calendar
from bot.domain.reminders import ReminderPolicy
from bot.domain.senders import Channel
from bot.infra.settings import Settings
from bot.infra.spreadsheets import write_rows
from bot.services.addresses.reachability import link_address
from bot.services.channel_log import add_contact
from bot.services.delivery_stats import (
    DeliveryDay,
    DeliveryReport,
    FailureReason,
    ReminderKindStats,
    delivery_csv_rows,
    delivery_report,
    failure_csv_rows,
    reminder_csv_rows,
)
from bot.services.payments import PaymentSource, record_payment
from bot.services.reminders import ReminderDispatcher, enqueue_planned, plan
from tests.conftest import TEST_PII_KEY
from tests.support.clock import WIB
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_FROM, FakeTwilio
from tests.support.participants import make_participant

#: Friday 20 November 2026, 10:00 WIB.
FRIDAY = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)
DAY = date(2026, 11, 20)
KARANGLO = ("Karanglo", "Kerek", "Tuban")
SUMBEREJO = ("Sumberejo", "Kerek", "Tuban")
NGASEM = ("Ngasem", "Ngasem", "Bojonegoro")
BLOCKED = "Telegram refused: Forbidden: bot was blocked by the user"
OUTSIDE_WINDOW = "63016: Failed to send freeform message outside the window"
NOT_ON_WHATSAPP = "63003: Channel could not find To address"
_SIDS = itertools.count(1)


def _context(url: str, **settings: str) -> AppContext:
    values = Settings(_env_file=None, database_url=url, pii_hash_key=TEST_PII_KEY, **settings)
    return AppContext.from_settings(values, FixedClock(FRIDAY))


@pytest.fixture
def context(database_url: str) -> Iterator[AppContext]:
    context = _context(database_url)
    yield context
    context.engine.dispose()


def at(context: AppContext, moment: datetime) -> None:
    assert isinstance(context.clock, FixedClock)
    context.clock.set(moment)


def send(
    context: AppContext,
    recipient: str,
    *reports: str,
    status: str = "queued",
    error: str | None = None,
    purpose: str = "reply",
) -> int:
    """One message recorded as the Outbox records it, then the platform's delivery reports
    (a failure report carries ``error``); returns its id."""
    provider_id = None if status in ("failed", "unknown") else f"SM{next(_SIDS):032d}"
    message_id = context.channel_log.record_outbound(
        recipient,
        purpose,
        status,
        provider_message_id=provider_id,
        error=error if status in ("failed", "unknown") else None,
    )
    for reported in reports:
        assert provider_id is not None
        failing = reported in ("failed", "undelivered")
        context.channel_log.record_status(provider_id, reported, error if failing else None)
    return message_id


def report(context: AppContext, first: date = DAY, last: date = DAY, **scope) -> DeliveryReport:
    return delivery_report(context.unit_of_work(), first, last, **scope)


def by_kind(stats: DeliveryReport) -> dict[str, ReminderKindStats]:
    return {kind.kind: kind for kind in stats.reminders}


def test_statuses_are_counted_cumulatively_per_channel(context: AppContext) -> None:
    wa = "wa:+6281100000001"
    context.channel_log.record_inbound(wa, FRIDAY)
    send(context, wa, "sent", "delivered", "read", "delivered")  # a late report keeps "read"
    send(context, wa, "sent", "delivered")
    send(context, wa)  # queued at Twilio, nothing reported yet
    send(context, wa, "sent", "undelivered", error=OUTSIDE_WINDOW)
    send(context, wa, status="failed", error="Twilio 400 (code 21211): invalid 'To'")
    send(context, wa, status="unknown", error="Twilio did not answer: timeout")
    send(context, "tg:5001", status="sent")
    send(context, "tg:5001", status="failed", error=BLOCKED)

    stats = report(context)

    assert stats.days == (
        DeliveryDay(DAY, "tg", attempted=2, sent=1, delivered=0, read=0, failed=1, unknown=0,
                    fallbacks=0),
        DeliveryDay(DAY, "wa", attempted=6, sent=3, delivered=2, read=1, failed=2, unknown=1,
                    fallbacks=0),
    )  # fmt: skip
    assert [day.reports_delivery for day in stats.days] == [False, True]
    assert not stats.scoped
    header, rows = delivery_csv_rows(stats)
    assert header[:6] == ["Tanggal", "Kanal", "Dicoba", "Terkirim", "Sampai", "Dibaca"]
    assert rows == [
        ["2026-11-20", "Telegram", 2, 1, "", "", 1, 0, 0],  # Telegram never reports delivery
        ["2026-11-20", "WhatsApp", 6, 3, 2, 1, 2, 1, 0],
    ]


def test_days_are_wib_days(context: AppContext) -> None:
    at(context, datetime(2026, 11, 19, 16, 59, tzinfo=UTC))  # 19 November, 23:59 WIB
    send(context, "tg:5001", status="sent")
    at(context, datetime(2026, 11, 19, 23, 30, tzinfo=UTC))  # 20 November, 06:30 WIB
    send(context, "tg:5001", status="sent")
    at(context, datetime(2026, 11, 20, 17, 0, tzinfo=UTC))  # 21 November, 00:00 WIB
    send(context, "tg:5001", status="sent")

    assert [(d.day, d.attempted) for d in report(context).days] == [(DAY, 1)]
    whole = report(context, date(2026, 11, 19), date(2026, 11, 21))
    assert [(d.day, d.attempted) for d in whole.days] == [
        (date(2026, 11, 19), 1),
        (DAY, 1),
        (date(2026, 11, 21), 1),
    ]
    with pytest.raises(ValueError):
        report(context, DAY, date(2026, 11, 19))


def test_failures_are_grouped_by_the_platforms_reason(context: AppContext) -> None:
    wa = "wa:+6281100000001"
    context.channel_log.record_inbound(wa, FRIDAY)
    for _ in range(3):
        send(context, wa, "sent", "undelivered", error=OUTSIDE_WINDOW)
    send(context, wa, "sent", "failed", error=NOT_ON_WHATSAPP)
    send(context, wa, "sent", "undelivered")  # Twilio gave no error code
    send(context, "tg:5001", status="failed", error=BLOCKED)
    send(context, "tg:5002", status="failed", error=BLOCKED)
    send(context, wa, "sent", "delivered")  # not a failure
    at(context, FRIDAY + timedelta(days=1))
    send(context, wa, status="failed", error=OUTSIDE_WINDOW)  # another day, outside the period

    stats = report(context)

    assert stats.failure_reasons == (
        FailureReason("wa", OUTSIDE_WINDOW, 3),
        FailureReason("tg", BLOCKED, 2),
        FailureReason("wa", "", 1),
        FailureReason("wa", NOT_ON_WHATSAPP, 1),
    )
    header, rows = failure_csv_rows(stats)
    assert header == ["Kanal", "Alasan", "Jumlah"]
    assert rows[2] == ["WhatsApp", "(tanpa alasan)", 1]


def _reminder(
    context: AppContext, participant_id: int, kind: str, state: str, message_id: int | None = None
) -> int:
    """A reminder as planning writes it, scheduled for 08:00 WIB on Friday, and as the
    dispatcher leaves it once sent (its message); later states come from delivery reports."""
    with context.unit_of_work() as uow:
        reminder = Reminder(
            participant_id=participant_id,
            period=date(2026, 12, 1) if kind == "before_due" else date(2026, 11, 1),
            kind=kind,
            state=state,
            scheduled_for=FRIDAY.replace(hour=8),
            outbound_message_id=message_id,
        )
        uow.session.add(reminder)
        uow.flush()
        reminder_id = reminder.id
        uow.commit()
    return reminder_id


def _sent_reminder(
    context: AppContext, participant_id: int, recipient: str, kind: str, *reports: str
) -> int:
    message = send(context, recipient, purpose="reminder", status="queued")
    reminder_id = _reminder(context, participant_id, kind, "sent", message)
    for reported in reports:  # the channel log carries reports over to the reminder
        _report(context, message, reported)
    return reminder_id


def _report(context: AppContext, message_id: int, reported: str) -> None:
    with context.unit_of_work() as uow:
        message = uow.session.get(OutboundMessage, message_id)
        assert message is not None and message.provider_message_id is not None
        provider_id = message.provider_message_id
    error = NOT_ON_WHATSAPP if reported == "undelivered" else None
    context.channel_log.record_status(provider_id, reported, error)


def _pay(context: AppContext, participant_id: int, when: datetime, *, own_report=False) -> None:
    record_payment(
        context.unit_of_work(),
        participant_id,
        source=PaymentSource.PARTICIPANT_REPORT if own_report else PaymentSource.AGENT_CASH,
        recorded_by="participant:wa" if own_report else "cli:test",
        months=1,
        now=when,
    )


def test_a_reason_that_quotes_a_number_shows_no_number(context: AppContext) -> None:
    """Twilio's REST errors quote the number ("The 'To' number … is not a valid phone
    number"): stored and shown without it, and one reason for everyone it happened to."""
    for number in ("+6281234500001", "+6281234500002"):
        wa = f"wa:{number}"
        context.channel_log.record_inbound(wa, FRIDAY)
        send(context, wa, status="failed", error=f"The 'To' number whatsapp:{number} is not valid")
    stats = report(context)
    assert [r for r in stats.failure_reasons if "'To' number" in r.reason] == [
        FailureReason("wa", "The 'To' number whatsapp:[PHONE] is not valid", 2)
    ]
    with context.sessions() as session:
        stored = session.scalars(select(OutboundMessage.error)).all()
    assert not any("+62812345" in (error or "") for error in stored)


def test_reminders_by_kind_with_payments_that_followed(context: AppContext) -> None:
    ani = make_participant(context, "wa:+6281100000011", village=KARANGLO)
    budi = make_participant(context, "wa:+6281100000012", village=KARANGLO)
    citra = make_participant(context, "wa:+6281100000013", village=KARANGLO)
    dedi = make_participant(context, "wa:+6281100000014", village=KARANGLO)
    eka = make_participant(context, "wa:+6281100000015", village=KARANGLO)

    _sent_reminder(context, ani, "wa:+6281100000011", "before_due", "delivered")
    _sent_reminder(context, budi, "wa:+6281100000012", "before_due")
    _reminder(context, ani, "on_due", "planned")
    _sent_reminder(context, citra, "wa:+6281100000013", "on_due", "delivered", "read")
    _reminder(context, dedi, "after_due", "skipped")
    _sent_reminder(context, eka, "wa:+6281100000015", "after_due", "undelivered")

    _pay(context, ani, FRIDAY + timedelta(days=3))  # within 7 days: counted
    _pay(context, ani, FRIDAY + timedelta(days=5))  # a second payment: still one reminder
    _pay(context, budi, FRIDAY + timedelta(days=9))  # too late
    _pay(context, citra, FRIDAY + timedelta(days=2), own_report=True)  # "sudah bayar"
    _pay(context, eka, FRIDAY + timedelta(days=1))  # it never arrived

    kinds = by_kind(report(context))

    assert list(kinds) == ["before_due", "on_due", "after_due", "non_active_warning"]
    assert kinds["before_due"] == ReminderKindStats(
        "before_due", total=2, waiting=0, sent=2, sent_on_reporting_channel=2, delivered=1,
        read=0, failed=0, skipped=0, unknown=0, paid_within_7_days=1, reported_paid_within_7_days=1,
    )  # fmt: skip
    assert kinds["on_due"] == ReminderKindStats(
        "on_due", total=2, waiting=1, sent=1, sent_on_reporting_channel=1, delivered=1,
        read=1, failed=0, skipped=0, unknown=0, paid_within_7_days=0, reported_paid_within_7_days=1,
    )  # fmt: skip
    assert kinds["after_due"] == ReminderKindStats(
        "after_due", total=2, waiting=0, sent=0, sent_on_reporting_channel=0, delivered=0,
        read=0, failed=1, skipped=1, unknown=0, paid_within_7_days=0, reported_paid_within_7_days=0,
    )  # fmt: skip
    assert kinds["non_active_warning"].total == 0
    header, rows = reminder_csv_rows(report(context))
    assert header[0] == "Jenis pengingat" and header[-2] == "Dibayar dalam 7 hari"
    assert rows[0][:4] == ["Sebelum jatuh tempo", 2, 0, 2]
    # A reminder scheduled on another day is not in the period.
    assert by_kind(report(context, DAY + timedelta(days=1), DAY + timedelta(days=1))) == {
        kind: ReminderKindStats(kind, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) for kind in kinds
    }


def test_a_scope_leaves_out_other_areas(context: AppContext) -> None:
    karanglo = make_participant(context, "tg:3001", village=KARANGLO)
    sumberejo = make_participant(context, "tg:3002", village=SUMBEREJO)
    ngasem = make_participant(context, "tg:3003", village=NGASEM)
    for participant, address in (
        (karanglo, "tg:3001"),
        (sumberejo, "tg:3002"),
        (ngasem, "tg:3003"),
    ):
        _sent_reminder(context, participant, address, "before_due")
    context.channel_log.record_inbound("tg:3999", FRIDAY)  # writing, not registered
    send(context, "tg:3999", status="sent")
    _pay(context, ngasem, FRIDAY + timedelta(days=1))

    def figures(**scope) -> tuple[int, int, int, bool]:
        stats = report(context, **scope)
        before = by_kind(stats)["before_due"]
        return (
            sum(d.attempted for d in stats.days),
            before.total,
            before.paid_within_7_days,
            stats.scoped,
        )

    assert figures() == (4, 3, 1, False)
    assert figures(regency="Tuban") == (2, 2, 0, True)
    assert figures(regency=" bojonegoro ") == (1, 1, 1, True)
    assert figures(villages=[KARANGLO]) == (1, 1, 0, True)
    assert figures(villages=[("desa karanglo", "Kerek", "TUBAN"), NGASEM]) == (2, 2, 1, True)
    assert figures(villages=[("Karanglo", "Ngasem", "Tuban")]) == (0, 0, 0, True)  # wrong district
    assert figures(regency="Bojonegoro", villages=[KARANGLO]) == (0, 0, 0, True)  # within both
    assert figures(villages=[]) == (0, 0, 0, True)


# --- a fallback made by the real dispatcher ----------------------------------------------

BEFORE_NOV = date(2026, 11, 13)  # due Monday 16 November; 3 days before
MORNING = datetime(2026, 11, 13, 3, 0, tzinfo=UTC)  # 10:00 WIB
REMINDER_SID = "HX" + "0" * 31 + "7"


@pytest.fixture
def channels(database_url: str, fake: FakeTelegram, twilio: FakeTwilio) -> Iterator[AppContext]:
    context = _context(
        database_url,
        telegram_bot_token="123456:TEST",
        telegram_api_base_url=fake.base_url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_from=WHATSAPP_FROM,
        twilio_api_base_url=twilio.base_url,
        whatsapp_reminder_content_sid=REMINDER_SID,
    )
    at(context, MORNING)
    yield context
    context.engine.dispose()


@pytest.fixture
async def outbox(channels: AppContext) -> AsyncIterator:
    box = build_outbox(channels.settings, channels.channel_log)
    yield box
    await box.aclose()


async def test_a_reminder_that_fell_back_to_another_address_is_counted(
    channels: AppContext, outbox, fake: FakeTelegram, twilio: FakeTwilio
) -> None:
    context = channels
    participant = make_participant(context, "tg:7001", village=KARANGLO)
    whatsapp = "wa:+6281200000000"
    with context.unit_of_work() as uow:
        digest = context.channel_log.sender_hash(whatsapp)
        link_address(
            uow.session, participant, digest, Channel.WHATSAPP, Proof.ONE_TIME_CODE, MORNING
        )
        add_contact(uow.session, context.cipher, digest, whatsapp)
        uow.commit()
    fake.failures.append(403)  # the resident blocked the bot: Telegram refuses for good

    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), ReminderPolicy(), write=True)
    ids: list[int] = []
    enqueue_planned(context.unit_of_work, lambda batch, _when: ids.extend(batch), now=MORNING)
    dispatcher = ReminderDispatcher(
        context.unit_of_work,
        context.cipher,
        context.channel_log,
        outbox,
        load_calendar(),
        ReminderPolicy(),
        template_sid=REMINDER_SID,
        clock=FixedClock(MORNING),
    )
    assert [o.state for o in await dispatcher.send_batch(ids)] == ["sent"]

    stats = report(context, BEFORE_NOV, BEFORE_NOV, regency="Tuban")
    assert [(d.channel, d.attempted, d.sent, d.failed, d.fallbacks) for d in stats.days] == [
        ("tg", 1, 0, 1, 0),
        ("wa", 1, 1, 0, 1),
    ]
    assert stats.fallbacks == 1
    assert [(r.channel, r.count) for r in stats.failure_reasons] == [("tg", 1)]
    assert stats.failure_reasons[0].reason.startswith("Telegram refused")
    assert by_kind(stats)["before_due"].sent == 1
    assert report(context, BEFORE_NOV, BEFORE_NOV, regency="Bojonegoro").fallbacks == 0
    # WhatsApp reports it read: the reminder's reason is replaced, the fallback stays counted.
    with context.sessions() as session:
        sid = session.scalar(
            select(OutboundMessage.provider_message_id).where(OutboundMessage.channel == "wa")
            .order_by(OutboundMessage.id.desc()).limit(1)
        )  # fmt: skip
    assert sid is not None and context.channel_log.record_status(sid, "read", None)
    stats = report(context, BEFORE_NOV, BEFORE_NOV, regency="Tuban")
    assert stats.fallbacks == 1 and by_kind(stats)["before_due"].read == 1
    # It went by WhatsApp in the end: its arrival is one WhatsApp could report.
    assert by_kind(stats)["before_due"].sent_on_reporting_channel == 1

    # What the console's download holds, written the way every CSV of Sadar is.
    stream = io.StringIO()
    write_rows(stream, *delivery_csv_rows(stats))
    assert list(csv.reader(io.StringIO(stream.getvalue())))[2] == [
        "2026-11-13", "WhatsApp", "1", "1", "1", "1", "0", "0", "1",
    ]  # fmt: skip
