"""The registration funnel's records and figures: what each registration journey reached
(bot/domain/funnel.py reads it from the action calls) and the funnel the console and
``sadar report funnel`` show.

A journey is keyed by a keyed hash of the conversation (``funnel_key``), never the sender
id, and holds no personal data; erasing a resident's data deletes their journeys too
(bot/services/erasure.py)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, case, delete, func, select, update
from sqlalchemy.orm import Session

from bot import messages
from bot.db.engine import rows_changed
from bot.db.models import FunnelJourney, FunnelMark
from bot.db.timestamps import as_utc
from bot.domain.access import EVERYTHING, Scope
from bot.domain.clock import start_of_day
from bot.domain.formatting import percent
from bot.domain.funnel import (
    ABANDONED_AFTER,
    FUNNEL,
    Kind,
    Mark,
    Observation,
    Outcome,
    Step,
    StepCount,
    funnel_counts,
    funnel_position,
)
from bot.infra.privacy import keyed_hash
from bot.services.scoping import in_scope
from bot.services.unit_of_work import UnitOfWork

Area = tuple[str, str, str]


def funnel_key(hash_key: str, sender_id: str) -> str:
    """A conversation's name in the funnel: domain-separated from every other keyed hash,
    so the funnel cannot be joined to participants or the conversation store."""
    return keyed_hash(hash_key, f"funnel:{sender_id}")


def record(
    uow: UnitOfWork,
    conversation: str,
    channel: str,
    seen: Observation,
    now: datetime,
) -> None:
    """Apply one action call's observation to the conversation's journey.

    - A start opens a new journey, unless the resident's own registration is still open
      and alive ("daftar" again in the middle of it goes on with it). An agent's start is
      always a new journey: each walk-in is another resident's registration.
    - Anything else goes to the latest journey while it has no outcome, even one counted
      abandoned (a resident who comes back after a day carries on where they stopped);
      with none, it is not counted (a step of a registration whose start was not seen)."""
    if not seen.in_registration:
        return
    now = now.astimezone(UTC)  # SQLite keeps the wall time only
    with uow:
        session = uow.session
        journey = _latest_open(session, conversation)
        alive = journey is not None and as_utc(journey.last_at) >= now - ABANDONED_AFTER
        if seen.started and (seen.on_behalf or not alive):
            journey = FunnelJourney(
                conversation_hash=conversation,
                channel=channel,
                on_behalf=seen.on_behalf,
                furthest=0,
                started_at=now,
                last_at=now,
            )
            session.add(journey)
            session.flush()
            session.add(
                FunnelMark(journey_id=journey.id, step=Step.STARTED, kind=Kind.REACHED, at=now)
            )
        if journey is None:
            return
        journey.last_at = now
        journey.on_behalf = journey.on_behalf or seen.on_behalf
        if seen.area is not None:
            journey.village, journey.district, journey.regency = seen.area
        for mark in seen.marks:
            _mark(session, journey, mark, now)
        uow.commit()


def _latest_open(session: Session, conversation: str) -> FunnelJourney | None:
    """The conversation's latest journey, if it has no outcome yet."""
    journey = session.scalars(
        select(FunnelJourney)
        .where(FunnelJourney.conversation_hash == conversation)
        .order_by(FunnelJourney.id.desc())
        .limit(1)
    ).first()
    return journey if journey is not None and journey.outcome is None else None


def _mark(session: Session, journey: FunnelJourney, mark: Mark, now: datetime) -> None:
    """Retries and requests for a person are kept each time; a step reached only when it
    is further than any before (asked again after a correction, it adds nothing), so no
    query is needed to keep steps from repeating."""
    further = funnel_position(mark.step) > journey.furthest
    if mark.kind is not Kind.REACHED or further:
        session.add(FunnelMark(journey_id=journey.id, step=mark.step, kind=mark.kind, at=now))
    if mark.kind is Kind.REACHED and further:
        journey.furthest = funnel_position(mark.step)
    if mark.outcome is not None and journey.outcome is None:
        journey.outcome = mark.outcome.value
        journey.ended_at = now


def forget(session: Session, conversations: Iterable[str]) -> int:
    """Delete the journeys of these conversation keys (an erasure); their marks go with
    them. The number of journeys deleted."""
    keys = list(conversations)
    if not keys:
        return 0
    ids = list(
        session.scalars(select(FunnelJourney.id).where(FunnelJourney.conversation_hash.in_(keys)))
    )
    if ids:
        session.execute(delete(FunnelMark).where(FunnelMark.journey_id.in_(ids)))
        session.execute(delete(FunnelJourney).where(FunnelJourney.id.in_(ids)))
    return len(ids)


#: What a journey is keyed by once its conversation is past the retention period.
RETIRED = "retired"


def retire_before(uow: UnitOfWork, cutoff: datetime) -> int:
    """Journeys with no message since ``cutoff`` (the conversations' retention period)
    keep their figures and lose the key that ties them to a conversation: nothing links
    them to anyone any more. The number retired."""
    with uow:
        retired = rows_changed(
            uow.session.execute(
                update(FunnelJourney)
                .where(FunnelJourney.last_at < cutoff.astimezone(UTC))
                .where(FunnelJourney.conversation_hash != RETIRED)
                .values(conversation_hash=RETIRED)
            )
        )
        uow.commit()
    return retired


# --- figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    """One channel's or one village's journeys."""

    label: str
    started: int
    consent_given: int
    summary_shown: int
    confirmed: int
    cancelled: int
    abandoned: int

    @property
    def completion(self) -> float | None:
        return self.confirmed / self.started if self.started else None


@dataclass(frozen=True)
class FunnelReport:
    first_day: date
    last_day: date
    steps: list[StepCount]
    outcomes: dict[Outcome, int]
    #: Open journeys still within ABANDONED_AFTER of their last message.
    in_progress: int
    median_minutes_to_complete: float | None
    by_channel: list[Breakdown] = field(default_factory=list)
    by_village: list[Breakdown] = field(default_factory=list)

    @property
    def started(self) -> int:
        return self.steps[0].reached if self.steps else 0

    def most_retried(self, limit: int = 3) -> list[StepCount]:
        """The steps where residents most often had to answer again."""
        ranked = sorted((s for s in self.steps if s.retries), key=lambda s: -s.retries)
        return ranked[:limit]

    def most_handed_over(self, limit: int = 3) -> list[StepCount]:
        """The steps where residents most often asked for a person."""
        ranked = sorted((s for s in self.steps if s.handoffs), key=lambda s: -s.handoffs)
        return ranked[:limit]


def day_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The period's days in WIB as UTC instants: [start of first_day, start of the day after
    last_day)."""
    return start_of_day(first_day), start_of_day(last_day + timedelta(days=1))


_POSITIONS = {step: index for index, step in enumerate(FUNNEL)}
_CONSENT_GIVEN = _POSITIONS[Step.CONSENT_GIVEN]
_SUMMARY = _POSITIONS[Step.SUMMARY_SHOWN]


def funnel_report(
    uow: UnitOfWork,
    first_day: date,
    last_day: date,
    now: datetime,
    *,
    scope: Scope = EVERYTHING,
    channel: str | None = None,
    village: Area | None = None,
) -> FunnelReport:
    """The funnel of the journeys started in [first_day, last_day] (WIB days), in the
    scope, optionally of one channel or one village; counted and narrowed in SQL."""
    start, end = day_bounds(first_day, last_day)
    stale = now.astimezone(UTC) - ABANDONED_AFTER
    abandoned = and_(FunnelJourney.outcome.is_(None), FunnelJourney.last_at < stale)
    conditions = [FunnelJourney.started_at >= start, FunnelJourney.started_at < end]
    if channel:
        conditions.append(FunnelJourney.channel == channel)
    if village:
        conditions += [
            FunnelJourney.village == village[0],
            FunnelJourney.district == village[1],
            FunnelJourney.regency == village[2],
        ]
    area = (FunnelJourney.village, FunnelJourney.district, FunnelJourney.regency)
    scoped = in_scope(scope, *area)
    if scoped is not None:
        conditions.append(scoped)
    with uow:
        session = uow.session
        grouping = (
            FunnelJourney.channel,
            FunnelJourney.village,
            FunnelJourney.district,
            FunnelJourney.regency,
            FunnelJourney.furthest,
            FunnelJourney.outcome,
        )
        groups = session.execute(
            select(*grouping, case((abandoned, True), else_=False).label("abandoned"), func.count())
            .where(*conditions)
            .group_by(*grouping, "abandoned")
        ).all()
        marks = session.execute(
            select(FunnelMark.step, FunnelMark.kind, func.count())
            .join(FunnelJourney, FunnelJourney.id == FunnelMark.journey_id)
            .where(*conditions, FunnelMark.kind != Kind.REACHED.value)
            .group_by(FunnelMark.step, FunnelMark.kind)
        ).all()
        durations = session.execute(
            select(FunnelJourney.started_at, FunnelJourney.ended_at).where(
                *conditions, FunnelJourney.outcome == Outcome.CONFIRMED.value
            )
        ).all()
    furthest: Counter[Step] = Counter()
    outcomes: Counter[Outcome] = Counter()
    in_progress = 0
    per_channel: dict[str, list[Row]] = defaultdict(list)
    per_village: dict[Area, list[Row]] = defaultdict(list)
    for row_channel, v, d, r, position, outcome, is_abandoned, count in groups:
        furthest[FUNNEL[min(position, len(FUNNEL) - 1)]] += count
        if outcome:
            outcomes[Outcome(outcome)] += count
        elif is_abandoned:
            outcomes[Outcome.ABANDONED] += count
        else:
            in_progress += count
        entry = (position, outcome, bool(is_abandoned), count)
        per_channel[row_channel].append(entry)
        if v and d and r:
            per_village[(v, d, r)].append(entry)
    retries: Counter[Step] = Counter()
    handoffs: Counter[Step] = Counter()
    for step, kind, count in marks:
        row = FUNNEL[funnel_position(Step(step))]
        (retries if kind == Kind.RETRY.value else handoffs)[row] += count
    minutes = [
        (as_utc(ended) - as_utc(started)).total_seconds() / 60
        for started, ended in durations
        if ended is not None
    ]
    return FunnelReport(
        first_day=first_day,
        last_day=last_day,
        steps=funnel_counts(furthest, retries, handoffs),
        outcomes=dict(outcomes),
        in_progress=in_progress,
        median_minutes_to_complete=statistics.median(minutes) if minutes else None,
        by_channel=[_breakdown(name, rows) for name, rows in sorted(per_channel.items())],
        by_village=sorted(
            (_breakdown(" / ".join(area), rows) for area, rows in per_village.items()),
            key=lambda b: (-b.started, b.label),
        ),
    )


Row = tuple[int, str | None, bool, int]


def _breakdown(label: str, rows: Sequence[Row]) -> Breakdown:
    def count(test: Callable[[int, str | None, bool], bool]) -> int:
        return sum(n for position, outcome, gone, n in rows if test(position, outcome, gone))

    ended_without = (Outcome.CANCELLED.value, Outcome.DECLINED.value)
    return Breakdown(
        label=label,
        started=count(lambda p, o, g: True),
        consent_given=count(lambda p, o, g: p >= _CONSENT_GIVEN),
        summary_shown=count(lambda p, o, g: p >= _SUMMARY),
        confirmed=count(lambda p, o, g: o == Outcome.CONFIRMED.value),
        cancelled=count(lambda p, o, g: o in ended_without),
        abandoned=count(lambda p, o, g: o is None and g),
    )


# --- tables (the console's CSV, `sadar report funnel`) -----------------------------------


def funnel_rows(report: FunnelReport) -> list[list[object]]:
    """One row per step, in FUNNEL_HEADER's columns."""
    return [
        [
            messages.FUNNEL_STEP_LABELS[row.step.value], row.reached, row.lost,
            percent(row.share_lost), row.retries, row.handoffs,
        ]
        for row in report.steps
    ]  # fmt: skip


def breakdown_rows(breakdowns: Iterable[Breakdown], channels: bool = False) -> list[list[object]]:
    """One row per channel or village, in FUNNEL_BREAKDOWN_HEADER's columns."""
    return [
        [
            messages.CHANNEL_LABELS.get(b.label, b.label) if channels else b.label,
            b.started, b.consent_given, b.summary_shown, b.confirmed, percent(b.completion),
            b.cancelled, b.abandoned,
        ]
        for b in breakdowns
    ]  # fmt: skip
