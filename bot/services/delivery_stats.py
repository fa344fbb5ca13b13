"""Whether Sadar's messages and reminders arrive, for the operations console's "Pengiriman
dan pengingat" section (issue 32): per WIB day and channel, the messages sent, delivered,
read and failed (with the platform's reasons) and the reminders that went to another
address; per reminder kind, what became of them and how many were followed by a payment
within 7 days.

Read-only, and counted by the database (GROUP BY, EXISTS): a month of a million reminders
is never loaded into Python. Days are Indonesia's (WIB) while everything is stored in UTC,
so the day of a timestamp is computed in SQL by one small construct per dialect (SQLite,
PostgreSQL) below."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    and_,
    case,
    exists,
    false,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot import messages
from bot.db.models import OutboundMessage, Participant, ParticipantAddress, Payment, Reminder
from bot.domain.access import Scope
from bot.domain.clock import INDONESIA_TIME, start_of_day
from bot.domain.messaging import DELIVERY_FAILURES
from bot.domain.reminders import ReminderKind, ReminderState
from bot.domain.senders import Channel
from bot.infra.redaction import redact
from bot.services.scoping import in_scope
from bot.services.unit_of_work import UnitOfWork

#: A village as compared everywhere: village, district, regency.
Area = tuple[str, str, str]

#: The status the Outbox records when the platform may or may not have taken a message
#: (bot/channels/outbound.py): neither sent nor failed as far as anyone knows.
UNCERTAIN_STATUS = "unknown"
#: Statuses that mean the platform has the message on the recipient's phone (read implies
#: delivered: bot.domain.messaging.next_delivery_status never moves back from "read").
DELIVERED_STATUSES = ("delivered", "read")
#: Only WhatsApp (Twilio's status callbacks) reports delivery and reading; Telegram's Bot
#: API confirms acceptance only, the web chat nothing.
CHANNELS_REPORTING_DELIVERY = frozenset({Channel.WHATSAPP.value})

#: What the fallback figures cover, for the console to show beside them.
FALLBACK_NOTE = (
    "Pengingat yang dikirim ke alamat lain karena alamat pertama menolak. Balasan dan "
    "pemberitahuan lain tidak dialihkan."
)

#: A reminder is followed by a payment when one is received within this many days.
PAYMENT_WINDOW_DAYS = 7

_WAITING = (
    ReminderState.PLANNED,
    ReminderState.QUEUED,
    ReminderState.CLAIMED,
    ReminderState.SENDING,
)
_WENT_OUT = (ReminderState.SENT, ReminderState.DELIVERED, ReminderState.READ)
_ARRIVED = (ReminderState.DELIVERED, ReminderState.READ)

CHANNEL_LABELS = messages.CHANNEL_LABELS
REMINDER_KIND_LABELS = messages.REMINDER_KIND_LABELS
NO_REASON_LABEL = "(tanpa alasan)"


@dataclass(frozen=True)
class DeliveryDay:
    """Messages Sadar started or answered on one WIB day through one channel, by their
    latest status. ``attempted`` = ``sent`` + ``failed`` + ``unknown``; ``sent`` (the
    platform took it and reported no failure) includes ``delivered``, which includes
    ``read``. ``fallbacks``: reminders that went out here after another address of the
    participant refused them (see ``FALLBACK_NOTE``)."""

    day: date
    #: bot.domain.senders.Channel value: "wa", "tg", "web".
    channel: str
    attempted: int
    sent: int
    delivered: int
    read: int
    failed: int
    unknown: int
    fallbacks: int

    @property
    def reports_delivery(self) -> bool:
        """False where the platform never says whether a message arrived (Telegram): its
        ``delivered`` and ``read`` are 0 for want of reports, not of arrivals."""
        return self.channel in CHANNELS_REPORTING_DELIVERY


@dataclass(frozen=True)
class FailureReason:
    """How often the platform gave one reason for a failed message in the period."""

    channel: str
    #: As the platform or the Outbox wrote it ("63016: …", "Telegram refused: …"); "" if none.
    reason: str
    count: int


@dataclass(frozen=True)
class ReminderKindStats:
    """The reminders of one kind scheduled in the period, by state. ``sent`` includes
    ``delivered``, which includes ``read``; a reminder reported undelivered afterwards is
    ``failed`` only. ``paid_within_7_days``: reminders that went out (sent, delivered or
    read) and were followed by a verified payment of the same participant within
    ``PAYMENT_WINDOW_DAYS`` of the send; ``reported_paid_within_7_days`` counts the
    resident's own "sudah bayar" not yet confirmed as well. Each reminder counts once."""

    #: bot.domain.reminders.ReminderKind value.
    kind: str
    total: int
    #: Planned, queued or being sent.
    waiting: int
    sent: int
    #: Of ``sent``, those on a channel that reports arrival (WhatsApp): what ``delivered``
    #: is a share of.
    sent_on_reporting_channel: int
    delivered: int
    read: int
    failed: int
    skipped: int
    #: A worker died during the platform call: it may have arrived (never resent).
    unknown: int
    paid_within_7_days: int
    reported_paid_within_7_days: int


@dataclass(frozen=True)
class DeliveryReport:
    """The section's figures for ``first_day``..``last_day`` (WIB, both included).

    ``days`` lists only the (day, channel) pairs that had messages, by day then channel;
    ``failure_reasons`` the whole period's, most frequent first; ``reminders`` every kind,
    in the order of ``ReminderKind``. Messages are counted by the day they were sent,
    reminders by the day they were scheduled for.

    Scope (``scoped``): reminders and payments follow their participant's village. A
    message has no village of its own: it is counted in a scope when its address is linked
    today to a participant of that scope (``participant_addresses``). So a scoped report
    leaves out messages to residents not (or no longer) registered, to agents and to erased
    addresses, which the unscoped report counts."""

    first_day: date
    last_day: date
    scoped: bool
    days: tuple[DeliveryDay, ...]
    failure_reasons: tuple[FailureReason, ...]
    reminders: tuple[ReminderKindStats, ...]

    @property
    def fallbacks(self) -> int:
        return sum(day.fallbacks for day in self.days)


def delivery_report(
    uow: UnitOfWork,
    first_day: date,
    last_day: date,
    *,
    regency: str | None = None,
    villages: Collection[Area] | None = None,
) -> DeliveryReport:
    """Delivery and reminder figures for the WIB days ``first_day``..``last_day``, for the
    whole programme, one ``regency``, a set of ``villages`` (village, district, regency),
    or both (then within both). An empty ``villages`` is a scope with nothing in it; a
    blank ``regency`` or a period ending before it starts is a ValueError."""
    if last_day < first_day:
        raise ValueError(f"the period ends ({last_day}) before it starts ({first_day})")
    since, until = start_of_day(first_day), start_of_day(last_day + timedelta(days=1))
    area = _area(regency, villages)
    with uow:
        session = uow.session
        counted = _delivery_counts(since, until, area)
        fallbacks = {
            (row.day, row.channel): int(row.fallbacks)
            for row in session.execute(_fallback_counts(since, until, area))
        }
        days = tuple(
            DeliveryDay(
                day=row.day,
                channel=row.channel,
                attempted=int(row.attempted),
                sent=int(row.sent),
                delivered=int(row.delivered),
                read=int(row.read),
                failed=int(row.failed),
                unknown=int(row.unknown),
                fallbacks=fallbacks.pop((row.day, row.channel), 0),
            )
            for row in session.execute(counted)
        )
        # A fallback's message is among the day's messages; kept if a scope parted them.
        days += tuple(
            DeliveryDay(day, channel, 0, 0, 0, 0, 0, 0, count)
            for (day, channel), count in fallbacks.items()
        )
        # Reasons stored before they were redacted (bot/services/channel_log.py) may quote
        # a resident's number: redacted here too, and counted together again.
        grouped: Counter[tuple[str, str]] = Counter()
        for row in session.execute(_failure_reasons(since, until, area)):
            grouped[(row.channel, redact(row.reason or ""))] += int(row.times)
        reasons = tuple(
            FailureReason(channel, reason, times)
            for (channel, reason), times in sorted(grouped.items(), key=lambda i: (-i[1], i[0]))
        )
        kinds = {
            row.kind: _kind_stats(row)
            for row in session.execute(_reminder_counts(since, until, area))
        }
    ordered = [kind.value for kind in ReminderKind] + sorted(
        set(kinds) - {kind.value for kind in ReminderKind}
    )
    return DeliveryReport(
        first_day=first_day,
        last_day=last_day,
        scoped=area is not None,
        days=tuple(sorted(days, key=lambda d: (d.day, d.channel))),
        failure_reasons=reasons,
        reminders=tuple(kinds.get(kind) or _no_reminders(kind) for kind in ordered),
    )


def delivery_csv_rows(report: DeliveryReport) -> tuple[list[str], list[list[object]]]:
    """The per-day table as the console shows it, for its CSV download (write it with
    bot.infra.spreadsheets.write_rows). Delivered and read are blank on a channel that
    does not report them."""
    header = [
        "Tanggal",
        "Kanal",
        "Dicoba",
        "Terkirim",
        "Sampai",
        "Dibaca",
        "Gagal",
        "Tidak pasti",
        "Dialihkan ke alamat lain",
    ]
    rows: list[list[object]] = [
        [
            day.day.isoformat(),
            CHANNEL_LABELS.get(day.channel, day.channel),
            day.attempted,
            day.sent,
            day.delivered if day.reports_delivery else "",
            day.read if day.reports_delivery else "",
            day.failed,
            day.unknown,
            day.fallbacks,
        ]
        for day in report.days
    ]
    return header, rows


def failure_csv_rows(report: DeliveryReport) -> tuple[list[str], list[list[object]]]:
    """Failures by the platform's reason, most frequent first."""
    header = ["Kanal", "Alasan", "Jumlah"]
    rows: list[list[object]] = [
        [CHANNEL_LABELS.get(r.channel, r.channel), r.reason or NO_REASON_LABEL, r.count]
        for r in report.failure_reasons
    ]
    return header, rows


def reminder_csv_rows(report: DeliveryReport) -> tuple[list[str], list[list[object]]]:
    """Reminders by kind."""
    header = [
        "Jenis pengingat",
        "Jumlah",
        "Menunggu",
        "Terkirim",
        "Sampai",
        "Dibaca",
        "Gagal",
        "Dilewati",
        "Tidak pasti",
        f"Dibayar dalam {PAYMENT_WINDOW_DAYS} hari",
        f"Dibayar atau dilaporkan dalam {PAYMENT_WINDOW_DAYS} hari",
    ]
    rows: list[list[object]] = [
        [
            REMINDER_KIND_LABELS.get(k.kind, k.kind),
            k.total,
            k.waiting,
            k.sent,
            k.delivered,
            k.read,
            k.failed,
            k.skipped,
            k.unknown,
            k.paid_within_7_days,
            k.reported_paid_within_7_days,
        ]
        for k in report.reminders
    ]
    return header, rows


# --- queries --------------------------------------------------------------------------


def _area(regency: str | None, villages: Collection[Area] | None) -> ColumnElement[bool] | None:
    """The participants of the scope, as a condition on ``participants`` (None: everyone).
    Names are compared as everywhere in the console (bot.services.scoping: case, spaces,
    "Desa" and "Kabupaten" aside)."""
    conditions: list[ColumnElement[bool]] = []
    if regency is not None:
        conditions.append(_participants_of(Scope(regency=regency)))
    if villages is not None:
        conditions.append(
            _participants_of(Scope(villages=frozenset(villages))) if villages else false()
        )
    return and_(*conditions) if conditions else None


def _participants_of(scope: Scope) -> ColumnElement[bool]:
    condition = in_scope(scope, Participant.village, Participant.district, Participant.regency)
    assert condition is not None  # a regency or some villages: never everything
    return condition


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _message_in_area(area: ColumnElement[bool]) -> ColumnElement[bool]:
    """The message went to an address linked to a participant of the scope."""
    return exists(
        select(ParticipantAddress.id)
        .join(Participant, Participant.id == ParticipantAddress.participant_id)
        .where(ParticipantAddress.sender_hash == OutboundMessage.recipient_hash)
        .where(area)
    )


def _messages_between(since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    return [OutboundMessage.created_at >= since, OutboundMessage.created_at < until]


def _delivery_counts(since: datetime, until: datetime, area: ColumnElement[bool] | None) -> Any:
    day = _LocalDay(OutboundMessage.created_at)
    status = OutboundMessage.status
    failed = status.in_(DELIVERY_FAILURES)
    query = (
        select(
            day.label("day"),
            OutboundMessage.channel,
            func.count().label("attempted"),
            _count(and_(~failed, status != UNCERTAIN_STATUS)).label("sent"),
            _count(status.in_(DELIVERED_STATUSES)).label("delivered"),
            _count(status == "read").label("read"),
            _count(failed).label("failed"),
            _count(status == UNCERTAIN_STATUS).label("unknown"),
        )
        .where(*_messages_between(since, until))
        .group_by(_LocalDay(OutboundMessage.created_at), OutboundMessage.channel)
    )
    return query if area is None else query.where(_message_in_area(area))


def _failure_reasons(since: datetime, until: datetime, area: ColumnElement[bool] | None) -> Any:
    count = func.count().label("times")
    reason = func.coalesce(OutboundMessage.error, "")
    query = (
        select(OutboundMessage.channel, reason.label("reason"), count)
        .where(*_messages_between(since, until))
        .where(OutboundMessage.status.in_(DELIVERY_FAILURES))
        .group_by(OutboundMessage.channel, reason)
        .order_by(count.desc(), OutboundMessage.channel, reason)
    )
    return query if area is None else query.where(_message_in_area(area))


def _fallback_counts(since: datetime, until: datetime, area: ColumnElement[bool] | None) -> Any:
    """Reminders sent after falling back, by the day and channel of the message that took
    them (the reminder's own timestamps are not the clock's: see ``Reminder.updated_at``)."""
    day = _LocalDay(OutboundMessage.created_at)
    query = (
        select(day.label("day"), OutboundMessage.channel, func.count().label("fallbacks"))
        .select_from(Reminder)
        .join(OutboundMessage, OutboundMessage.id == Reminder.outbound_message_id)
        .where(Reminder.fell_back.is_(True))
        .where(*_messages_between(since, until))
        .group_by(_LocalDay(OutboundMessage.created_at), OutboundMessage.channel)
    )
    if area is None:
        return query
    return query.join(Participant, Participant.id == Reminder.participant_id).where(area)


def _reminder_counts(since: datetime, until: datetime, area: ColumnElement[bool] | None) -> Any:
    state = Reminder.state
    went_out = state.in_([s.value for s in _WENT_OUT])
    # When it went out: its message's time (the clock's); the row's own if none was recorded.
    sent_at = func.coalesce(OutboundMessage.created_at, Reminder.updated_at)

    def paid_after(*, verified_only: bool) -> ColumnElement[bool]:
        payments = (
            select(Payment.id)
            .where(Payment.participant_id == Reminder.participant_id)
            .where(_WithinDays(sent_at, Payment.paid_at, literal_column(str(PAYMENT_WINDOW_DAYS))))
        )
        if verified_only:
            payments = payments.where(Payment.verified.is_(True))
        return and_(went_out, exists(payments))

    query = (
        select(
            Reminder.kind,
            func.count().label("total"),
            _count(state.in_([s.value for s in _WAITING])).label("waiting"),
            _count(went_out).label("sent"),
            _count(
                and_(went_out, OutboundMessage.channel.in_(sorted(CHANNELS_REPORTING_DELIVERY)))
            ).label("sent_reporting"),
            _count(state.in_([s.value for s in _ARRIVED])).label("delivered"),
            _count(state == ReminderState.READ.value).label("read"),
            _count(state == ReminderState.FAILED.value).label("failed"),
            _count(state == ReminderState.SKIPPED.value).label("skipped"),
            _count(state == ReminderState.UNKNOWN.value).label("unknown"),
            _count(paid_after(verified_only=True)).label("paid"),
            _count(paid_after(verified_only=False)).label("reported"),
        )
        .select_from(Reminder)
        .outerjoin(OutboundMessage, OutboundMessage.id == Reminder.outbound_message_id)
        .where(Reminder.scheduled_for >= since, Reminder.scheduled_for < until)
        .group_by(Reminder.kind)
    )
    if area is None:
        return query
    return query.join(Participant, Participant.id == Reminder.participant_id).where(area)


def _kind_stats(row: Any) -> ReminderKindStats:
    return ReminderKindStats(
        kind=row.kind,
        total=int(row.total),
        waiting=int(row.waiting),
        sent=int(row.sent),
        sent_on_reporting_channel=int(row.sent_reporting),
        delivered=int(row.delivered),
        read=int(row.read),
        failed=int(row.failed),
        skipped=int(row.skipped),
        unknown=int(row.unknown),
        paid_within_7_days=int(row.paid),
        reported_paid_within_7_days=int(row.reported),
    )


def _no_reminders(kind: str) -> ReminderKindStats:
    return ReminderKindStats(kind, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


# --- dates in SQL -----------------------------------------------------------------------

#: WIB has kept UTC+7 without summer time since 1964: a fixed shift is exact.
_WIB_OFFSET = INDONESIA_TIME.utcoffset(datetime(2026, 1, 1))
assert _WIB_OFFSET is not None and _WIB_OFFSET % timedelta(hours=1) == timedelta(0)
_WIB_HOURS = int(_WIB_OFFSET / timedelta(hours=1))


class _LocalDay(FunctionElement[date]):
    """The WIB calendar day of a stored (UTC) timestamp."""

    type = Date()
    name = "local_day"
    inherit_cache = True


@compiles(_LocalDay)
def _local_day(element: _LocalDay, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL: timestamptz AT TIME ZONE gives the wall-clock time there.
    zone = INDONESIA_TIME.key
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE '{zone}' AS DATE)"


@compiles(_LocalDay, "sqlite")
def _local_day_sqlite(element: _LocalDay, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps the UTC wall-clock time as text.
    return f"date({compiler.process(element.clauses, **kw)}, '+{_WIB_HOURS} hours')"


class _WithinDays(FunctionElement[bool]):
    """``_WithinDays(start, moment, days)``: start <= moment < start + days."""

    type = Boolean()
    name = "within_days"
    inherit_cache = True


@compiles(_WithinDays)
def _within_days(element: _WithinDays, compiler: SQLCompiler, **kw: Any) -> str:
    start, moment, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"({moment} >= {start} AND {moment} < {start} + make_interval(days => {days}))"


@compiles(_WithinDays, "sqlite")
def _within_days_sqlite(element: _WithinDays, compiler: SQLCompiler, **kw: Any) -> str:
    # julianday reads the stored text with or without fractions of a second.
    start, moment, days = (compiler.process(c, **kw) for c in element.clauses)
    start, moment = f"julianday({start})", f"julianday({moment})"
    return f"({moment} >= {start} AND {moment} < {start} + {days})"
