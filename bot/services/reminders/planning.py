"""Planning a day's reminders and keeping the queue honest: ``plan`` writes every reminder
that falls on a day (unique per participant, period and kind) as *planned*, *queued* or
*skipped* with the reason; ``enqueue_planned`` hands planned ones to the task queue;
``recover`` returns claims of dead workers to the queue and marks sends interrupted
mid-call *unknown*."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot.db.engine import rows_changed
from bot.db.models import Participant, Reminder, Submission
from bot.db.timestamps import as_utc
from bot.domain.payments import PaymentCalendar
from bot.domain.reminders import (
    Occasion,
    ReminderPolicy,
    ReminderState,
    applies,
    occasions_on,
    send_moment,
    timezone_for,
)
from bot.domain.submissions import owes_contributions
from bot.services.addresses.reachability import reachable
from bot.services.reminders.bulk_insert import insert_ignoring_duplicates
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

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
            Participant.reminders_opted_out_at,
            reachable(Participant.id).label("reachable"),
            Submission.state.label("handover"),
            Submission.reason_code.label("refusal"),
        )
        .outerjoin(Submission, Submission.participant_id == Participant.id)
        .where(Participant.first_period <= latest_period)
        .where(or_(Participant.paid_through.is_(None), Participant.paid_through < latest_period))
        .execution_options(yield_per=batch)
    )
    yield from session.execute(query)


def skip_reason(row: Any) -> str | None:
    if not owes_contributions(row.handover, row.refusal):
        # Until BPJS Ketenagakerjaan knows the resident there is nothing to pay.
        return "not yet accepted by BPJS Ketenagakerjaan (no KPJ number)"
    if row.consent_record_id is None:
        return "no consent recorded"
    if row.reminders_opted_out_at is not None:
        return "opted out of reminders"
    if not row.reachable:
        return (
            "no reachable address: no Telegram or WhatsApp linked (e.g. registered in the web "
            "chat), or every linked one stopped or failed"
        )
    return None


def plan(
    units: Callable[[], UnitOfWork],
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
    with units() as reader, units() as writer:
        for row in _candidates(reader.session, latest, batch):
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
    writer: UnitOfWork,
    pending: list[dict[str, Any]],
    write: bool,
    submit: Callable[[list[int], datetime], None] | None,
    progress: Callable[[int], None] | None,
) -> None:
    if pending and write:
        new = insert_ignoring_duplicates(writer.session, pending)
        writer.commit()  # chunk by chunk: the queue gets each chunk once it is written
        if submit:
            _submit_grouped(new, submit, TASK_BATCH)
    if progress and pending:
        progress(len(pending))


def enqueue_planned(
    units: Callable[[], UnitOfWork],
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
        with units() as uow:
            session = uow.session
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
            uow.commit()
        _submit_grouped([(row.id, as_utc(row.scheduled_for)) for row in rows], submit, batch)
        total += len(ids)
        if progress:
            progress(len(ids))


def counts_by_state(uow: UnitOfWork, day: date | None = None) -> dict[str, int]:
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
    with uow:
        return {state: count for state, count in uow.session.execute(query).all()}


@dataclass(frozen=True)
class Recovered:
    requeue: list[int]
    unknown: int


def recover(
    uow: UnitOfWork,
    now: datetime,
    *,
    queue_idle: bool,
    lease: timedelta = DEFAULT_LEASE,
    requeue_after: timedelta = DEFAULT_REQUEUE_AFTER,
) -> Recovered:
    """Claims of dead workers go back to the queue; interrupted sends become *unknown*.
    When the queue holds nothing yet reminders are still *queued* (Redis restarted, a
    worker died with a batch), those are handed over again; claims make repeats harmless."""
    with uow:
        session = uow.session
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
        uow.commit()
    if unknown:
        log.warning("%d reminder(s) interrupted mid-send marked unknown", unknown)
    return Recovered(list(requeue), unknown)
