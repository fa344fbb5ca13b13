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

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot import messages
from bot.channels.outbound import Outbox
from bot.conversation import BotReply, MessageTemplate
from bot.crypto import PiiCipher
from bot.db.models import ChannelContact, Participant, Reminder
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


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Reminder)
    statement = statement.on_conflict_do_nothing(
        index_elements=["participant_id", "period", "kind"]
    )
    session.execute(statement, rows)


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
    progress: Callable[[int], None] | None = None,
    batch: int = 5000,
    examples: int = 10,
) -> PlanReport:
    """Every reminder that falls on ``day``: written when ``write``, else only counted."""
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
                state = ReminderState.SKIPPED if reason else ReminderState.PLANNED
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
                        "attempts": 0,
                    }
                )
            if len(pending) >= batch:
                if write:
                    _insert_ignoring_duplicates(writer, pending)
                    writer.commit()
                if progress:
                    progress(len(pending))
                pending = []
        if pending:
            if write:
                _insert_ignoring_duplicates(writer, pending)
                writer.commit()
            if progress:
                progress(len(pending))
    return report


def enqueue_planned(
    sessions: sessionmaker[Session],
    submit: Callable[[list[int], datetime], None],
    *,
    batch: int = 100,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Hand every planned reminder to the queue, in batches sharing one send moment."""
    total = 0
    while True:
        with sessions.begin() as session:
            rows = session.execute(
                select(Reminder.id, Reminder.scheduled_for)
                .where(Reminder.state == ReminderState.PLANNED.value)
                .order_by(Reminder.scheduled_for, Reminder.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return total
            ids = [row.id for row in rows]
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(ids))
                .values(state=ReminderState.QUEUED.value, updated_at=func.now())
            )
        by_moment: dict[datetime, list[int]] = {}
        for row in rows:
            by_moment.setdefault(as_utc(row.scheduled_for), []).append(row.id)
        for moment, group in by_moment.items():
            submit(group, moment)
        total += len(ids)
        if progress:
            progress(len(ids))


def counts_by_state(sessions: sessionmaker[Session], day: date | None = None) -> dict[str, int]:
    query = select(Reminder.state, func.count()).group_by(Reminder.state)
    if day is not None:
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
        unknown = session.execute(
            update(Reminder)
            .where(Reminder.state == ReminderState.SENDING.value)
            .where(Reminder.claimed_at < now - lease)
            .values(
                state=ReminderState.UNKNOWN.value,
                reason="worker stopped while handing it to the platform; not resent to avoid "
                "a duplicate",
            )
        ).rowcount
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
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
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
                .values(state=state.value, updated_at=self._clock(), **values)
            )

    def _claim(self, reminder_id: int) -> bool:
        with self._sessions.begin() as session:
            return (
                session.execute(
                    update(Reminder)
                    .where(Reminder.id == reminder_id)
                    .where(Reminder.state == ReminderState.QUEUED.value)
                    .values(
                        state=ReminderState.CLAIMED.value,
                        claimed_at=self._clock(),
                        attempts=Reminder.attempts + 1,
                    )
                ).rowcount
                == 1
            )

    async def send_batch(self, reminder_ids: list[int]) -> list[Outcome]:
        return [await self.send(reminder_id) for reminder_id in reminder_ids]

    async def send(self, reminder_id: int) -> Outcome:
        if not self._claim(reminder_id):
            return Outcome(reminder_id, "taken")  # another worker has it, or it is done
        try:
            return await self._send_claimed(reminder_id)
        except Exception:
            # Back to the queue for the recovery sweep; the claim is never left dangling.
            log.exception("reminder %d failed unexpectedly", reminder_id)
            self._set(reminder_id, ReminderState.QUEUED, reason="unexpected error, will retry")
            raise

    async def _send_claimed(self, reminder_id: int) -> Outcome:
        with self._sessions() as session:
            reminder = session.get(Reminder, reminder_id)
            assert reminder is not None
            participant = session.get(Participant, reminder.participant_id)
            contact = (
                session.scalar(
                    select(ChannelContact).where(
                        ChannelContact.sender_hash == participant.sender_hash
                    )
                )
                if participant
                else None
            )
        now = self._clock()
        if participant is None or contact is None:
            return self._skip(reminder_id, "participant or chat address no longer known")
        if participant.consent_record_id is None:
            return self._skip(reminder_id, "no consent recorded")
        if contact.reminders_opted_out_at is not None:
            return self._skip(reminder_id, "opted out of reminders")
        occasion = Occasion(ReminderKind(reminder.kind), reminder.period)
        lapse = self._calendar.months_unpaid_for_non_active
        if not applies(occasion, participant.first_period, participant.paid_through, lapse):
            return self._skip(reminder_id, "paid since it was planned")
        zone = timezone_for(participant.province_code)
        allowed_at = next_send_moment(now, zone, self._policy)
        if allowed_at > now:
            self._set(reminder_id, ReminderState.QUEUED, scheduled_for=allowed_at)
            return Outcome(reminder_id, ReminderState.QUEUED.value, retry_at=allowed_at)

        recipient = self._cipher.decrypt(contact.address_encrypted)
        message = self._message(occasion, participant, recipient, now)
        if message is None:
            return self._skip(
                reminder_id,
                "outside WhatsApp's 24-hour window and no approved template is configured "
                "(SADAR_WHATSAPP_REMINDER_CONTENT_SID)",
            )

        async def handover() -> None:
            self._set(reminder_id, ReminderState.SENDING)

        result = await self._outbox.send(
            recipient, message, purpose="reminder", on_handover=handover
        )
        if result.ok:
            self._set(
                reminder_id,
                ReminderState.SENT,
                outbound_message_id=result.record_ids[0] if result.record_ids else None,
                reason=None,
            )
            return Outcome(reminder_id, ReminderState.SENT.value)
        with self._sessions() as session:
            attempts = session.scalar(select(Reminder.attempts).where(Reminder.id == reminder_id))
        if result.retryable and (attempts or 0) < self._max_attempts:
            retry_at = now + timedelta(minutes=5 * 2 ** ((attempts or 1) - 1))
            self._set(
                reminder_id, ReminderState.QUEUED, scheduled_for=retry_at, reason=result.error
            )
            return Outcome(reminder_id, ReminderState.QUEUED.value, retry_at=retry_at)
        self._set(reminder_id, ReminderState.FAILED, reason=(result.error or "")[:200])
        log.warning(
            "reminder %d to %s failed: %s", reminder_id, mask_sender(recipient), result.error
        )
        return Outcome(reminder_id, ReminderState.FAILED.value)

    def _skip(self, reminder_id: int, reason: str) -> Outcome:
        self._set(reminder_id, ReminderState.SKIPPED, reason=reason)
        return Outcome(reminder_id, ReminderState.SKIPPED.value)

    def _message(
        self, occasion: Occasion, participant: Participant, recipient: str, now: datetime
    ) -> BotReply | None:
        first_owed = next_unpaid_period(participant.first_period, participant.paid_through)
        owed = months_owed_at(occasion.period, participant.first_period, participant.paid_through)
        values = {
            "amount": rupiah(owed * participant.monthly_contribution),
            "months": bulan_range(first_owed, occasion.period),
            "due_date": tanggal(self._calendar.due_date(occasion.period)),
        }
        if self._log.template_required(recipient, now):
            if not self._template_sid:
                return None
            variables = {"1": values["amount"], "2": values["months"], "3": values["due_date"]}
            return BotReply(template=MessageTemplate(self._template_sid, variables))
        return BotReply(text=messages.REMINDER_TEXTS[occasion.kind.value].format(**values))
