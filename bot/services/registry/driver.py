"""Driving the partner API (issue 29, SADAR_REGISTRY=api): pending registrations are
claimed a page at a time (a lease, like reminders: a worker that dies mid-call leaves a
claim that expires, never a registration lost or sent by two workers at once), submitted
with the reference as the idempotency key, and the reply recorded: a final answer, a
promise (submitted, waiting), or a transient failure rescheduled with backoff until an
operator must look (needs_attention). The call happens outside any transaction."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.db.engine import rows_changed
from bot.db.models import ConsentRecord, Participant, Submission
from bot.db.timestamps import as_utc
from bot.domain.submissions import (
    SubmissionState,
    after_transient_failure,
    next_poll,
)
from bot.infra.crypto import PiiCipher
from bot.services.registry.api_client import RegistryConfigError
from bot.services.registry.port import (
    RegistrationRecord,
    RegistryClient,
    RegistryReply,
    Transient,
    Waiting,
)
from bot.services.registry.submissions import (
    mark_withdrawn,
    move,
    registration_record,
    settle,
)
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

#: A claim older than this belongs to a worker that died mid-call.
DEFAULT_LEASE = timedelta(minutes=10)
ACTOR = "registry-api"


@dataclass
class DriveReport:
    """What one pass did, by outcome (accepted, rejected, waiting, retry, needs_attention,
    lost_claim)."""

    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def handled(self) -> int:
        return sum(self.outcomes.values())


def claim_pending(
    uow: UnitOfWork, cipher: PiiCipher, now: datetime, limit: int, lease: timedelta
) -> list[RegistrationRecord]:
    """Pending registrations due for a try, each claimed by a conditional update stamped
    ``now``: a second worker skips rows the first holds (PostgreSQL) or finds them claimed."""
    records: list[RegistrationRecord] = []
    with uow:
        session = uow.session
        rows = session.execute(
            select(Submission.id, Submission.claimed_at, Participant, ConsentRecord.created_at)
            .join(Participant, Participant.id == Submission.participant_id)
            .outerjoin(ConsentRecord, ConsentRecord.id == Participant.consent_record_id)
            .where(
                Submission.state == SubmissionState.PENDING.value,
                or_(Submission.next_attempt_at.is_(None), Submission.next_attempt_at <= now),
                or_(Submission.claimed_at.is_(None), Submission.claimed_at < now - lease),
            )
            .order_by(Submission.id)
            .limit(limit)
            .with_for_update(of=Submission, skip_locked=True)
        ).all()
        for submission_id, claimed_at, participant, consent_at in rows:
            stale = (
                Submission.claimed_at.is_(None)
                if claimed_at is None
                else Submission.claimed_at == claimed_at
            )
            taken = session.execute(
                update(Submission)
                .where(Submission.id == submission_id, stale)
                .values(claimed_at=now)
                .execution_options(synchronize_session=False)
            )
            if rows_changed(taken) == 1:
                records.append(registration_record(participant, consent_at, cipher))
            session.expunge(participant)  # nothing decrypted stays in the session
        uow.commit()
    return records


def record_reply(
    session: Session,
    cipher: PiiCipher,
    reference: str,
    claimed_at: datetime,
    reply: RegistryReply,
    now: datetime,
    draw: float,
) -> str:
    """Record one reply under the claim stamped ``claimed_at``; the outcome's name."""
    submission = session.scalar(
        select(Submission).where(Submission.reference == reference).with_for_update()
    )
    if submission is None or as_utc(submission.claimed_at) != as_utc(claimed_at):
        # Erased and withdrawn meanwhile, or the lease ran out and another worker took it:
        # that worker's reply counts (the registry saw one reference, one membership).
        return "lost_claim"
    submission.claimed_at = None
    if isinstance(reply, Transient):
        submission.attempts += 1
        state, next_try = after_transient_failure(submission.attempts, now, draw)
        if state is SubmissionState.NEEDS_ATTENTION:
            move(session, submission, state, now, ACTOR, reply.detail)
            submission.next_attempt_at = None
            log.warning("submission %s needs an operator: %s", reference, reply.detail)
            return "needs_attention"
        if reply.retry_after and next_try is not None:
            next_try = max(next_try, now + timedelta(seconds=reply.retry_after))
        submission.next_attempt_at = next_try
        return "retry"
    if isinstance(reply, Waiting):
        move(session, submission, SubmissionState.SUBMITTED, now, ACTOR, "partner API")
        submission.request_id = reply.request_id[:64]
        submission.next_attempt_at = next_poll(now, now)  # unless its callback comes first
        return "waiting"
    return settle(session, cipher, submission, reply, now, ACTOR)


async def poll_promised(
    units: Callable[[], UnitOfWork],
    cipher: PiiCipher,
    client: RegistryClient,
    now: Callable[[], datetime],
    *,
    page: int = 100,
) -> DriveReport:
    """Ask the registry for the answers it promised ("pending" to a submit) and has not
    sent by signed callback, each when its poll is due (``next_poll``). Each ask first moves
    the registration's next poll on, so a worker that dies mid-call leaves it to be asked
    again later, never twice at once. A registration the registry no longer holds goes back
    to pending and is submitted again under the same reference; the first other failure
    ends the pass (the rest are asked at their next poll)."""
    report = DriveReport()
    while True:
        due = _take_due_polls(units(), now(), page)
        if not due:
            return report
        for reference in due:
            reply = await client.status(reference)
            with units() as uow:
                outcome = _record_poll(uow.session, cipher, reference, reply, now())
                uow.commit()
            report.outcomes[outcome] += 1
            if outcome == "poll_failed":
                return report  # the registry is struggling: the others wait for their turn


def _take_due_polls(uow: UnitOfWork, now: datetime, page: int) -> list[str]:
    """The references of up to ``page`` promised registrations due for a poll; their next
    poll is moved on in the same transaction."""
    taken: list[str] = []
    with uow:
        session = uow.session
        due = session.scalars(
            select(Submission)
            .where(
                Submission.state == SubmissionState.SUBMITTED.value,
                Submission.request_id.is_not(None),
                or_(Submission.next_attempt_at.is_(None), Submission.next_attempt_at <= now),
            )
            .order_by(Submission.next_attempt_at)
            .limit(page)
            .with_for_update(skip_locked=True)
        ).all()
        for submission in due:
            submission.next_attempt_at = next_poll(as_utc(submission.state_at), now)
            taken.append(submission.reference)
        uow.commit()
    return taken


def _record_poll(
    session: Session,
    cipher: PiiCipher,
    reference: str,
    reply: RegistryReply,
    now: datetime,
) -> str:
    submission = session.scalar(
        select(Submission).where(Submission.reference == reference).with_for_update()
    )
    if submission is None or submission.state != SubmissionState.SUBMITTED.value:
        return "answered_meanwhile"  # erased, or its callback came while we asked
    if isinstance(reply, Waiting):
        return "still_waiting"
    if isinstance(reply, Transient):
        if not reply.resubmit:
            return "poll_failed"  # asked again at the next poll
        move(session, submission, SubmissionState.PENDING, now, ACTOR, "not held: again")
        submission.request_id = None
        submission.next_attempt_at = None
        log.warning("submission %s: the registry lost it; it is submitted again", reference)
        return "resubmit"
    return settle(session, cipher, submission, reply, now, ACTOR)


async def hand_over_pending(
    units: Callable[[], UnitOfWork],
    cipher: PiiCipher,
    client: RegistryClient,
    now: Callable[[], datetime],
    *,
    page: int = 100,
    concurrency: int = 8,
    lease: timedelta = DEFAULT_LEASE,
    draw: Callable[[], float] = random.random,
    progress: Callable[[int], None] | None = None,
) -> DriveReport:
    """Submit every pending registration due for a try until none is left, with up to
    ``concurrency`` calls in flight at all times: pages of ``page`` are claimed ahead while
    the calls run (no page waits for the slowest call of the one before), and each reply
    is recorded in its own transaction as it comes, outside the call slots (the registry's
    latency, not the database's, bounds the rate). A refused credential
    (RegistryConfigError) releases the claims not yet sent and stops the pass: no retry
    can fix it. ``progress`` is advanced by one per reply recorded."""
    report = DriveReport()
    # Bounded: at most two pages are claimed and not yet sent.
    queue: asyncio.Queue[tuple[RegistrationRecord, datetime] | None] = asyncio.Queue(page)
    calls = asyncio.Semaphore(concurrency)
    refused: list[RegistryConfigError] = []
    unsent: list[tuple[RegistrationRecord, datetime]] = []

    async def feed() -> None:
        try:
            while not refused:
                claimed_at = now()
                records = await asyncio.to_thread(
                    claim_pending, units(), cipher, claimed_at, page, lease
                )
                if not records:
                    return
                for registration in records:
                    await queue.put((registration, claimed_at))
        finally:
            for _ in range(workers):
                await queue.put(None)

    def record(reference: str, claimed_at: datetime, reply: RegistryReply) -> str:
        with units() as uow:
            outcome = record_reply(uow.session, cipher, reference, claimed_at, reply, now(), draw())
            uow.commit()
        return outcome

    async def work() -> None:
        while (item := await queue.get()) is not None:
            registration, claimed_at = item
            if refused:
                unsent.append(item)
                continue
            try:
                async with calls:
                    reply = await client.submit(registration)
            except RegistryConfigError as error:
                refused.append(error)
                unsent.append(item)
                continue
            outcome = await asyncio.to_thread(record, registration.reference, claimed_at, reply)
            report.outcomes[outcome] += 1
            if progress:
                progress(1)

    # Twice as many workers as call slots: while some record a reply, others call.
    workers = 2 * concurrency
    async with asyncio.TaskGroup() as group:
        group.create_task(feed())
        for _ in range(workers):
            group.create_task(work())
    if refused:
        for claimed_at in {claimed_at for _, claimed_at in unsent}:
            references = [r.reference for r, at in unsent if at == claimed_at]
            _release(units(), references, claimed_at)
        raise refused[0]
    return report


async def withdraw_owed(
    units: Callable[[], UnitOfWork],
    client: RegistryClient,
    now: Callable[[], datetime],
    page: int = 100,
) -> int:
    """Send the withdrawals owed (registrations erased after the hand-over) to the partner
    API; each one done drops its reference, as the batch path's withdrawal list does. The
    first transient failure ends the pass (the next one tries again); a withdrawal sent
    twice is harmless (the registry answers 404 for one it no longer has)."""
    done = 0
    while True:
        with units() as uow:
            owed = list(
                uow.session.execute(
                    select(Submission.id, Submission.reference)
                    .where(Submission.withdrawal == "due")
                    .order_by(Submission.id)
                    .limit(page)
                )
            )
        if not owed:
            return done
        for submission_id, reference in owed:
            if await client.withdraw(reference) is not True:
                return done
            with units() as uow:
                submission = uow.session.get(Submission, submission_id, with_for_update=True)
                if submission is not None and submission.withdrawal == "due":
                    mark_withdrawn(uow.session, submission, "partner API", ACTOR, now())
                    done += 1
                uow.commit()


def _release(uow: UnitOfWork, references: list[str], claimed_at: datetime) -> None:
    with uow:
        uow.session.execute(
            update(Submission)
            .where(Submission.reference.in_(references), Submission.claimed_at == claimed_at)
            .values(claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        uow.commit()
