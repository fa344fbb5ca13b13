"""Planning, sending and recovering monthly reminders, with the database as the truth.

Life of a reminder: ``plan`` writes it (unique per participant, period and kind) as
*planned* or *skipped* (with the reason); ``enqueue_planned`` marks it *queued* and hands
its id to the task queue; a worker *claims* it with one conditional UPDATE (only one worker
can win), re-checks everything (paid since? opted out? daytime?), marks it *sending* right
before the platform call, then *sent* (later *delivered*/*read* from status callbacks) or,
on failure, back to *queued* with a backoff or *failed*. ``recover`` returns claims of dead
workers to the queue and marks sends interrupted mid-call *unknown*: never retried, since
the message may have gone out, so a reminder is sent at most once."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot import messages
from bot.channels.outbound import Outbox
from bot.conversation import MessageTemplate
from bot.crypto import PiiCipher
from bot.db.engine import rows_changed
from bot.db.models import ChannelContact, Participant, Reminder
from bot.domain.clock import Clock
from bot.domain.formatting import bulan_range, rupiah, tanggal
from bot.domain.payments import PaymentCalendar, next_unpaid_period
from bot.domain.reminders import (
    Occasion,
    ReminderKind,
    ReminderPolicy,
    ReminderState,
    applies,
    months_owed_at,
    next_send_moment,
    occasions_on,
    send_moment,
    timezone_for,
)
from bot.privacy import mask_sender
from bot.services.channel_log import ChannelLog, as_utc

log = logging.getLogger(__name__)

REMINDER_CHANNELS = ("tg", "wa")
#: Reminder ids per queue task: small enough to spread over workers, large enough to keep
#: the queue short on million-reminder days.
TASK_BATCH = 100
#: A claim or send older than this belongs to a worker that died.
DEFAULT_LEASE = timedelta(minutes=10)
#: Queued this long without being claimed: the queue lost it (e.g. Redis restarted).
DEFAULT_REQUEUE_AFTER = timedelta(minutes=30)


@dataclass
class PlanReport:
    day: date
    occasions: list[Occasion]
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def counts_in_state(self, state: ReminderState) -> int:
        """Reminders due today in ``state``, including ones an earlier run already wrote."""
        return sum(n for (_kind, _channel, s), n in self.counts.items() if s == state.value)


_PLAN_COLUMNS = ("participant_id", "period", "kind", "state", "reason", "scheduled_for")


def _insert_ignoring_duplicates(
    session: Session, rows: list[dict[str, Any]]
) -> list[tuple[int, datetime]]:
    """Insert reminders; ones already there (same participant, period, kind) are left as
    they are. Returns (id, send moment) of the new *queued* ones. PostgreSQL gets COPY into
    a staging table: far faster than row-by-row INSERT … ON CONFLICT on million-row days."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        statement = sqlite.insert(Reminder).on_conflict_do_nothing(
            index_elements=["participant_id", "period", "kind"]
        )
        session.execute(statement, [{**row, "attempts": 0} for row in rows])
        keys = {
            (r["participant_id"], r["period"], r["kind"]) for r in rows if r["state"] == "queued"
        }
        if not keys:
            return []
        found = session.execute(
            select(
                Reminder.id,
                Reminder.scheduled_for,
                Reminder.participant_id,
                Reminder.period,
                Reminder.kind,
            )
            .where(Reminder.state == ReminderState.QUEUED.value)
            .where(Reminder.participant_id.in_({k[0] for k in keys}))
        ).all()
        return [
            (row.id, as_utc(row.scheduled_for))
            for row in found
            if (row.participant_id, row.period, row.kind) in keys
        ]
    columns = ", ".join(_PLAN_COLUMNS)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]  # psycopg2's own connection: never None once connected
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS reminders_planned (participant_id integer, "
        "period date, kind varchar(24), state varchar(16), reason varchar(200), "
        "scheduled_for timestamptz, stamped_at timestamptz) ON COMMIT DELETE ROWS"
    )
    with cursor.copy(f"COPY reminders_planned ({columns}, stamped_at) FROM STDIN") as copy:
        for row in rows:
            stamp = row.get("updated_at")
            copy.write_row((*(row[column] for column in _PLAN_COLUMNS), stamp))
    cursor.execute(
        f"INSERT INTO reminders ({columns}, attempts, created_at, updated_at) "
        f"SELECT {columns}, 0, COALESCE(stamped_at, now()), COALESCE(stamped_at, now()) "
        "FROM reminders_planned ON CONFLICT (participant_id, period, kind) DO NOTHING "
        "RETURNING id, scheduled_for, state"
    )
    return [(row[0], row[1]) for row in cursor.fetchall() if row[2] == "queued"]


def _submit_grouped(
    new: list[tuple[int, datetime]], submit: Callable[[list[int], datetime], None], batch: int
) -> None:
    by_moment: dict[datetime, list[int]] = {}
    for reminder_id, moment in new:
        by_moment.setdefault(moment, []).append(reminder_id)
    for moment, group in by_moment.items():
        for start in range(0, len(group), batch):
            submit(group[start : start + batch], moment)


def _candidates(session: Session, latest_period: date, batch: int) -> Iterator[Any]:
    """Participants who may owe a month up to ``latest_period``, streamed."""
    query = (
        select(
            Participant.id,
            Participant.reference,
            Participant.first_period,
            Participant.paid_through,
            Participant.province_code,
            Participant.channel,
            Participant.monthly_contribution,
            Participant.consent_record_id,
            ChannelContact.reminders_opted_out_at,
            ChannelContact.id.label("contact_id"),
        )
        .outerjoin(ChannelContact, ChannelContact.sender_hash == Participant.sender_hash)
        .where(Participant.first_period <= latest_period)
        .where(or_(Participant.paid_through.is_(None), Participant.paid_through < latest_period))
        .execution_options(yield_per=batch)
    )
    yield from session.execute(query)


def skip_reason(row: Any) -> str | None:
    if row.consent_record_id is None:
        return "no consent recorded"
    if row.channel not in REMINDER_CHANNELS:
        return f"registered on the {row.channel} channel, which cannot receive reminders"
    if row.contact_id is None:
        return "no known chat address"
    if row.reminders_opted_out_at is not None:
        return "opted out of reminders"
    return None


def plan(
    sessions: sessionmaker[Session],
    day: date,
    calendar: PaymentCalendar,
    policy: ReminderPolicy,
    *,
    write: bool,
    submit: Callable[[list[int], datetime], None] | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = 5000,
    examples: int = 10,
    now: datetime | None = None,
) -> PlanReport:
    """Every reminder that falls on ``day``: written when ``write``, else only counted.
    With ``submit`` the new ones are written as *queued* and handed to the queue as each
    chunk commits (a crash in between leaves them queued for ``recover``). ``now`` (the
    application clock) stamps the rows, so ``recover``'s age checks use one clock."""
    to_write = ReminderState.QUEUED if submit else ReminderState.PLANNED
    occasions = occasions_on(day, calendar, policy)
    report = PlanReport(day, occasions)
    if not occasions:
        return report
    latest = max(o.period for o in occasions)
    moments: dict[str, datetime] = {}
    pending: list[dict[str, Any]] = []
    with sessions() as reader, sessions() as writer:
        for row in _candidates(reader, latest, batch):
            for occasion in occasions:
                if not applies(
                    occasion,
                    row.first_period,
                    row.paid_through,
                    calendar.months_unpaid_for_non_active,
                ):
                    continue
                zone = timezone_for(row.province_code)
                if zone not in moments:
                    moments[zone] = send_moment(day, zone, policy)
                reason = skip_reason(row)
                state = ReminderState.SKIPPED if reason else to_write
                report.counts[(occasion.kind.value, row.channel, state.value)] += 1
                if len(report.examples) < examples:
                    report.examples.append(
                        {
                            "reference": row.reference,
                            "channel": row.channel,
                            "kind": occasion.kind.value,
                            "period": occasion.period,
                            "send_at": moments[zone],
                            "state": state.value,
                            "reason": reason,
                        }
                    )
                pending.append(
                    {
                        "participant_id": row.id,
                        "period": occasion.period,
                        "kind": occasion.kind.value,
                        "state": state.value,
                        "reason": reason,
                        "scheduled_for": moments[zone],
                        **({"created_at": now, "updated_at": now} if now else {}),
                    }
                )
            if len(pending) >= batch:
                _flush(writer, pending, write, submit, progress)
                pending = []
        _flush(writer, pending, write, submit, progress)
    return report


def _flush(
    writer: Session,
    pending: list[dict[str, Any]],
    write: bool,
    submit: Callable[[list[int], datetime], None] | None,
    progress: Callable[[int], None] | None,
) -> None:
    if pending and write:
        new = _insert_ignoring_duplicates(writer, pending)
        writer.commit()
        if submit:
            _submit_grouped(new, submit, TASK_BATCH)
    if progress and pending:
        progress(len(pending))


def enqueue_planned(
    sessions: sessionmaker[Session],
    submit: Callable[[list[int], datetime], None],
    *,
    now: datetime,
    batch: int = TASK_BATCH,
    rows_per_transaction: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Hand every planned reminder to the queue, in batches of up to ``batch`` ids that
    share one send moment."""
    total = 0
    while True:
        with sessions.begin() as session:
            rows = session.execute(
                select(Reminder.id, Reminder.scheduled_for)
                .where(Reminder.state == ReminderState.PLANNED.value)
                .order_by(Reminder.scheduled_for, Reminder.id)
                .limit(rows_per_transaction)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return total
            ids = [row.id for row in rows]
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(ids))
                .values(state=ReminderState.QUEUED.value, updated_at=now)
            )
        _submit_grouped([(row.id, as_utc(row.scheduled_for)) for row in rows], submit, batch)
        total += len(ids)
        if progress:
            progress(len(ids))


def counts_by_state(sessions: sessionmaker[Session], day: date | None = None) -> dict[str, int]:
    query = select(Reminder.state, func.count()).group_by(Reminder.state)
    if day is not None:
        # Send moments of one day run from 08:00 WIT (23:00 UTC the day before) to 20:00 WIB
        # (13:00 UTC): a UTC window shifted back 12 hours holds them all.
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) - timedelta(hours=12)
        query = query.where(
            and_(
                Reminder.scheduled_for >= start, Reminder.scheduled_for < start + timedelta(days=1)
            )
        )
    with sessions() as session:
        return {state: count for state, count in session.execute(query).all()}


@dataclass(frozen=True)
class Recovered:
    requeue: list[int]
    unknown: int


def recover(
    sessions: sessionmaker[Session],
    now: datetime,
    *,
    queue_idle: bool,
    lease: timedelta = DEFAULT_LEASE,
    requeue_after: timedelta = DEFAULT_REQUEUE_AFTER,
) -> Recovered:
    """Claims of dead workers go back to the queue; interrupted sends become *unknown*.
    When the queue holds nothing yet reminders are still *queued* (Redis restarted, a
    worker died with a batch), those are handed over again; claims make repeats harmless."""
    with sessions.begin() as session:
        unknown = rows_changed(
            session.execute(
                update(Reminder)
                .where(Reminder.state == ReminderState.SENDING.value)
                .where(Reminder.claimed_at < now - lease)
                .values(
                    state=ReminderState.UNKNOWN.value,
                    reason="worker stopped while handing it to the platform; not resent to avoid "
                    "a duplicate",
                )
            )
        )
        released = session.scalars(
            update(Reminder)
            .where(Reminder.state == ReminderState.CLAIMED.value)
            .where(Reminder.claimed_at < now - lease)
            .values(state=ReminderState.QUEUED.value, updated_at=now)
            .returning(Reminder.id)
        ).all()
        requeue = list(released)
        if queue_idle:
            requeue += session.scalars(
                select(Reminder.id)
                .where(Reminder.state == ReminderState.QUEUED.value)
                .where(Reminder.scheduled_for <= now)
                .where(Reminder.updated_at < now - requeue_after)
            ).all()
            session.execute(update(Reminder).where(Reminder.id.in_(requeue)).values(updated_at=now))
    if unknown:
        log.warning("%d reminder(s) interrupted mid-send marked unknown", unknown)
    return Recovered(list(requeue), unknown)


@dataclass(frozen=True)
class Claimed:
    period: date
    kind: str
    attempts: int
    participant: Participant | None
    contact: ChannelContact | None


@dataclass(frozen=True)
class Outcome:
    reminder_id: int
    state: str
    #: When a reminder must wait (night time, backoff), the moment to try again.
    retry_at: datetime | None = None


class ReminderDispatcher:
    """Sends claimed reminders through the Outbox; one instance per worker process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cipher: PiiCipher,
        channel_log: ChannelLog,
        outbox: Outbox,
        calendar: PaymentCalendar,
        policy: ReminderPolicy,
        *,
        template_sid: str | None,
        max_attempts: int = 5,
        clock: Clock,
    ):
        self._sessions = sessions
        self._cipher = cipher
        self._log = channel_log
        self._outbox = outbox
        self._calendar = calendar
        self._policy = policy
        self._template_sid = template_sid
        self._max_attempts = max_attempts
        self._clock = clock

    def _set(self, reminder_id: int, state: ReminderState, **values: Any) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .values(state=state.value, updated_at=self._clock.now(), **values)
            )

    def _claim(self, reminder_id: int) -> Claimed | None:
        """Take the reminder if it is still queued (one conditional UPDATE: only one worker
        can win) and load what sending needs, in the same transaction."""
        with self._sessions.begin() as session:
            won = session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .where(Reminder.state == ReminderState.QUEUED.value)
                .values(
                    state=ReminderState.CLAIMED.value,
                    claimed_at=self._clock.now(),
                    updated_at=self._clock.now(),
                    attempts=Reminder.attempts + 1,
                )
                .returning(
                    Reminder.period, Reminder.kind, Reminder.attempts, Reminder.participant_id
                )
            ).first()
            if won is None:
                return None
            found = session.execute(
                select(Participant, ChannelContact)
                .outerjoin(ChannelContact, ChannelContact.sender_hash == Participant.sender_hash)
                .where(Participant.id == won.participant_id)
            ).first()
            participant, contact = (found[0], found[1]) if found else (None, None)
            return Claimed(won.period, won.kind, won.attempts, participant, contact)

    def _start_sending(self, reminder_id: int, attempt: int) -> bool:
        """claimed -> sending, only if this worker's claim (its attempt number) still holds:
        a claim handed back to the queue by ``recover`` and taken by another worker makes
        this one step back instead of sending a second copy."""
        with self._sessions.begin() as session:
            return (
                rows_changed(
                    session.execute(
                        update(Reminder)
                        .where(Reminder.id == reminder_id)
                        .where(
                            Reminder.state.in_(
                                [ReminderState.CLAIMED.value, ReminderState.SENDING.value]
                            )
                        )
                        .where(Reminder.attempts == attempt)
                        .values(
                            state=ReminderState.SENDING.value,
                            claimed_at=self._clock.now(),
                            updated_at=self._clock.now(),
                        )
                    )
                )
                == 1
            )

    async def send_batch(self, reminder_ids: list[int]) -> list[Outcome]:
        return [await self.send(reminder_id) for reminder_id in reminder_ids]

    async def send(self, reminder_id: int) -> Outcome:
        # Database work runs in threads: the event loop keeps other sends moving.
        claimed = await asyncio.to_thread(self._claim, reminder_id)
        if claimed is None:
            return Outcome(reminder_id, "taken")  # another worker has it, or it is done
        try:
            return await self._send_claimed(reminder_id, claimed)
        except Exception:
            # Back to the queue for the recovery sweep; the claim is never left dangling.
            log.exception("reminder %d failed unexpectedly", reminder_id)
            await asyncio.to_thread(
                self._set, reminder_id, ReminderState.QUEUED, reason="unexpected error"
            )
            raise

    async def _send_claimed(self, reminder_id: int, claimed: Claimed) -> Outcome:
        participant, contact = claimed.participant, claimed.contact
        now = self._clock.now()
        if participant is None or contact is None:
            return await self._skip(reminder_id, "participant or chat address no longer known")
        if participant.consent_record_id is None:
            return await self._skip(reminder_id, "no consent recorded")
        if contact.reminders_opted_out_at is not None:
            return await self._skip(reminder_id, "opted out of reminders")
        occasion = Occasion(ReminderKind(claimed.kind), claimed.period)
        lapse = self._calendar.months_unpaid_for_non_active
        if not applies(occasion, participant.first_period, participant.paid_through, lapse):
            return await self._skip(reminder_id, "paid since it was planned")
        zone = timezone_for(participant.province_code)
        allowed_at = next_send_moment(now, zone, self._policy)
        if allowed_at > now:
            await asyncio.to_thread(
                self._set, reminder_id, ReminderState.QUEUED, scheduled_for=allowed_at
            )
            return Outcome(reminder_id, ReminderState.QUEUED.value, retry_at=allowed_at)

        recipient = self._cipher.decrypt(contact.address_encrypted)
        text, template = self._content(occasion, participant)
        message = await asyncio.to_thread(self._log.opening_message, recipient, text, template, now)
        if message is None:
            return await self._skip(
                reminder_id,
                "outside WhatsApp's 24-hour window and no approved template is configured "
                "(SADAR_WHATSAPP_REMINDER_CONTENT_SID)",
            )

        async def handover() -> bool:
            return await asyncio.to_thread(self._start_sending, reminder_id, claimed.attempts)

        result = await self._outbox.send(
            recipient, message, purpose="reminder", on_handover=handover
        )
        if result.cancelled:
            return Outcome(reminder_id, "taken")  # recovered and claimed again elsewhere
        if result.ok:
            await asyncio.to_thread(
                self._set,
                reminder_id,
                ReminderState.SENT,
                outbound_message_id=result.record_ids[0] if result.record_ids else None,
                reason=None,
            )
            return Outcome(reminder_id, ReminderState.SENT.value)
        if result.uncertain:
            await asyncio.to_thread(
                self._set, reminder_id, ReminderState.UNKNOWN, reason=(result.error or "")[:200]
            )
            return Outcome(reminder_id, ReminderState.UNKNOWN.value)
        attempts = claimed.attempts  # counted by the claim: includes this attempt
        if result.retryable and attempts < self._max_attempts:
            retry_at = now + timedelta(minutes=5 * 2 ** (attempts - 1))
            await asyncio.to_thread(
                self._set,
                reminder_id,
                ReminderState.QUEUED,
                scheduled_for=retry_at,
                reason=result.error,
            )
            return Outcome(reminder_id, ReminderState.QUEUED.value, retry_at=retry_at)
        await asyncio.to_thread(
            self._set, reminder_id, ReminderState.FAILED, reason=(result.error or "")[:200]
        )
        log.warning(
            "reminder %d to %s failed: %s", reminder_id, mask_sender(recipient), result.error
        )
        return Outcome(reminder_id, ReminderState.FAILED.value)

    async def _skip(self, reminder_id: int, reason: str) -> Outcome:
        await asyncio.to_thread(self._set, reminder_id, ReminderState.SKIPPED, reason=reason)
        return Outcome(reminder_id, ReminderState.SKIPPED.value)

    def _content(
        self, occasion: Occasion, participant: Participant
    ) -> tuple[str, MessageTemplate | None]:
        """The reminder as text, and as the approved template when one is configured."""
        first_owed = next_unpaid_period(participant.first_period, participant.paid_through)
        owed = months_owed_at(occasion.period, participant.first_period, participant.paid_through)
        values = {
            "amount": rupiah(owed * participant.monthly_contribution),
            "months": bulan_range(first_owed, occasion.period),
            "due_date": tanggal(self._calendar.due_date(occasion.period)),
        }
        text = messages.REMINDER_TEXTS[occasion.kind.value].format(**values)
        if not self._template_sid:
            return text, None
        variables = {"1": values["amount"], "2": values["months"], "3": values["due_date"]}
        return text, MessageTemplate(self._template_sid, variables)
