"""Submission records: opened with every registration, moved by the branch's answer file or
the partner API, read by "cek status" and the operators. Every move is checked against the
lifecycle (bot.domain.submissions) and leaves a SubmissionEvent; the reference is the
idempotency key, so an answer applied twice changes nothing the second time."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from bot.db.engine import rows_changed
from bot.db.models import Agent, AuditEvent, Participant, Submission, SubmissionEvent
from bot.db.timestamps import as_utc
from bot.domain.access import EVERYTHING, Scope
from bot.domain.clock import local_date
from bot.domain.registration import first_period
from bot.domain.submissions import (
    Accepted,
    Answer,
    InvalidMove,
    RejectionReason,
    SubmissionState,
    check_move,
    owes_contributions,
)
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import mask_name
from bot.services.addresses.reachability import reachable_addresses
from bot.services.agents import agent_address
from bot.services.registry.port import RegistrationRecord
from bot.services.scoping import submissions_in_scope, where_in_scope
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")
T2 = TypeVar("T2", bound=tuple[Any, ...])


def open_submission(session: Session, participant: Participant, now: datetime) -> Submission:
    """The pending hand-over of a registration just stored (same transaction)."""
    submission = Submission(
        participant_id=participant.id,
        reference=participant.reference,
        state=SubmissionState.PENDING.value,
        regency=participant.regency,
        village=participant.village,
        attempts=0,
        created_at=now,
        state_at=now,
    )
    session.add(submission)
    session.flush()
    _history(session, submission, None, SubmissionState.PENDING.value, "registered", "sadar", now)
    return submission


def _history(
    session: Session,
    submission: Submission,
    from_state: str | None,
    to_state: str,
    detail: str,
    actor: str,
    now: datetime,
) -> None:
    """One line of the submission's history: states, batch id, reason code; never a person."""
    session.add(
        SubmissionEvent(
            submission_id=submission.id,
            from_state=from_state,
            to_state=to_state,
            detail=detail[:200],
            actor=actor[:80],
            created_at=now,
        )
    )


def note(session: Session, submission: Submission, detail: str, actor: str, now: datetime) -> None:
    """A history line that moves nothing (a withdrawal owed or sent)."""
    _history(session, submission, submission.state, submission.state, detail, actor, now)


def mark_withdrawn(
    session: Session, submission: Submission, detail: str, actor: str, now: datetime
) -> None:
    """The branch or the partner API has the withdrawal: the reference, the last thing
    that named the registration, goes."""
    submission.withdrawal = "sent"
    submission.reference = erased_reference(submission.id)
    note(session, submission, f"withdrawal sent: {detail}", actor, now)


def move(
    session: Session,
    submission: Submission,
    target: SubmissionState,
    now: datetime,
    actor: str,
    detail: str = "",
) -> None:
    """One checked move with its history line (raises InvalidMove, changing nothing)."""
    current = SubmissionState(submission.state)
    check_move(current, target)
    submission.state = target.value
    submission.state_at = now
    _history(session, submission, current.value, target.value, detail, actor, now)


def _start_contributions(session: Session, participant_id: int, now: datetime) -> None:
    """Nothing could be paid before BPJS Ketenagakerjaan knew the resident: when nothing
    was paid yet, the first month to pay follows the acceptance, not the registration (no
    arrears for the weeks the hand-over took)."""
    participant = session.get(Participant, participant_id)
    if participant is None or participant.paid_through is not None:
        return
    participant.first_period = max(participant.first_period, first_period(local_date(now)))


def registration_record(
    participant: Participant, consent_at: datetime | None, cipher: PiiCipher
) -> RegistrationRecord:
    """The registration as the registry needs it, decrypted at the moment of hand-over."""
    return RegistrationRecord(
        reference=participant.reference,
        nik=cipher.decrypt(participant.nik_encrypted),
        full_name=cipher.decrypt(participant.full_name_encrypted),
        sex=participant.sex,
        birth_date=date.fromisoformat(cipher.decrypt(participant.birth_date_encrypted)),
        village=participant.village,
        village_code=participant.village_code,
        district=participant.district,
        regency=participant.regency,
        occupation=participant.occupation,
        declared_income=int(cipher.decrypt(participant.income_encrypted)),
        programmes=("JKK", "JKM", "JHT") if participant.with_jht else ("JKK", "JKM"),
        phone=cipher.decrypt(participant.phone_encrypted),
        consent_date=(consent_at or participant.created_at).date(),
    )


class AnswerConflict(InvalidMove):
    """An answer that contradicts the one already recorded (another KPJ number, an
    acceptance after a rejection was fixed...): an operator must look."""


def same_answer(submission: Submission, cipher: PiiCipher, answer: Answer) -> bool:
    """Whether ``answer`` is the one already recorded (a re-import, a repeated callback)."""
    if isinstance(answer, Accepted):
        return (
            submission.state == SubmissionState.ACCEPTED.value
            and submission.kpj_encrypted is not None
            and cipher.decrypt(submission.kpj_encrypted) == answer.kpj
        )
    return (
        submission.state == SubmissionState.REJECTED.value
        and submission.reason_code == answer.reason.value
    )


def apply_answer(
    session: Session,
    cipher: PiiCipher,
    submission: Submission,
    answer: Answer,
    now: datetime,
    actor: str,
) -> bool:
    """Record the registry's answer; False when it was already recorded (nothing changes).
    Raises AnswerConflict for an answer that contradicts the recorded one, InvalidMove for
    a registration that was never handed over."""
    if same_answer(submission, cipher, answer):
        return False
    if submission.state in (SubmissionState.ACCEPTED.value, SubmissionState.REJECTED.value):
        raise AnswerConflict(
            f"{submission.reference} is already {submission.state}; the new answer differs"
        )
    submission.attempts = 0
    submission.next_attempt_at = None
    submission.claimed_at = None
    if isinstance(answer, Accepted):
        move(session, submission, SubmissionState.ACCEPTED, now, actor, submission.batch_id or "")
        submission.kpj_encrypted = cipher.encrypt(answer.kpj)
        submission.payment_code_encrypted = (
            cipher.encrypt(answer.payment_code) if answer.payment_code else None
        )
        submission.reason_code = None
        submission.reason_detail_encrypted = None
        if submission.participant_id is not None:
            _start_contributions(session, submission.participant_id, now)
        action = "registry_accepted"
    else:
        move(session, submission, SubmissionState.REJECTED, now, actor, answer.reason.value)
        submission.reason_code = answer.reason.value
        submission.reason_detail_encrypted = (
            cipher.encrypt(answer.detail) if answer.detail else None
        )
        # A new refusal (a corrected registration refused again) is told anew.
        submission.rejected_notice_at = None
        if submission.participant_id is not None and owes_contributions(
            SubmissionState.REJECTED, answer.reason
        ):
            _start_contributions(session, submission.participant_id, now)
        action = "registry_rejected"
    if submission.participant_id is not None:
        session.add(
            AuditEvent(
                participant_id=submission.participant_id,
                actor=actor[:80],
                action=action,
                fields=submission.reason_code or "",
                created_at=now,
            )
        )
    log.info("submission %s %s by %s", submission.reference, submission.state, actor)
    return True


def settle(
    session: Session,
    cipher: PiiCipher,
    submission: Submission,
    answer: Answer,
    now: datetime,
    actor: str,
) -> str:
    """The registry's final word on a registration it holds, however it came (the submit's
    reply, a later callback): "unchanged" when already recorded, "erased" when the resident
    erased their data meanwhile (recorded without the KPJ number; the withdrawal is owed),
    else "accepted" or "rejected". Raises AnswerConflict for a contradicting answer."""
    if same_answer(submission, cipher, answer):
        return "unchanged"
    if submission.state == SubmissionState.NEEDS_ATTENTION.value:
        # The registry answered after all: no operator needs to look any more.
        move(session, submission, SubmissionState.PENDING, now, actor, "answered")
    if submission.state == SubmissionState.PENDING.value:
        move(session, submission, SubmissionState.SUBMITTED, now, actor, "partner API")
    if submission.participant_id is None:
        target = (
            SubmissionState.ACCEPTED if isinstance(answer, Accepted) else SubmissionState.REJECTED
        )
        move(session, submission, target, now, actor, "erased while in flight")
        submission.claimed_at = None
        return "erased"
    apply_answer(session, cipher, submission, answer, now, actor)
    return "accepted" if isinstance(answer, Accepted) else "rejected"


class UnknownReference(LookupError):
    """No registration here has this reference (never, or erased and withdrawn)."""


def record_callback(
    uow: UnitOfWork, cipher: PiiCipher, reference: str, answer: Answer, now: datetime
) -> str:
    """A signed callback's answer, recorded once (see ``settle``); the KPJ message goes in
    the worker's next pass. Raises UnknownReference, InvalidMove (AnswerConflict)."""
    with uow:
        submission = uow.session.scalar(
            select(Submission).where(Submission.reference == reference).with_for_update()
        )
        if submission is None:
            raise UnknownReference(reference)
        outcome = settle(uow.session, cipher, submission, answer, now, "registry-callback")
        uow.commit()
    return outcome


@dataclass(frozen=True)
class Stage:
    """Where a participant's hand-over stands, as "cek status" and the KPJ question tell it."""

    state: SubmissionState
    since: datetime
    kpj: str | None = None
    payment_code: str | None = None
    reason: RejectionReason | None = None


def stage_of(session: Session, cipher: PiiCipher, participant_id: int) -> Stage | None:
    submission = session.scalar(
        select(Submission).where(Submission.participant_id == participant_id)
    )
    if submission is None:
        return None
    return Stage(
        state=SubmissionState(submission.state),
        since=submission.state_at,
        kpj=cipher.decrypt(submission.kpj_encrypted) if submission.kpj_encrypted else None,
        payment_code=(
            cipher.decrypt(submission.payment_code_encrypted)
            if submission.payment_code_encrypted
            else None
        ),
        reason=RejectionReason(submission.reason_code) if submission.reason_code else None,
    )


@dataclass(frozen=True)
class KpjNotice:
    """One acceptance to tell: where to, and what."""

    reference: str
    kpj: str
    payment_code: str | None
    monthly_contribution: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class RejectionNotice:
    """One refusal to tell: to the resident, and to the agent who registered them."""

    reference: str
    reason: RejectionReason
    addresses: tuple[str, ...]
    #: The walk-in's agent (who helps fix it): their chat address; None for a resident who
    #: registered themselves or an agent no longer active.
    agent_address: str | None = None
    #: The resident as the agent sees them in lists (masked), and their village.
    resident_name: str = ""
    village: str = ""


def _claim_untold(
    uow: UnitOfWork,
    state: SubmissionState,
    told_at: Any,
    now: datetime,
    limit: int,
    build: Callable[[Session, Submission, Participant], T],
) -> list[T]:
    """A page of answers in ``state`` not yet told (``told_at`` unset), each claimed by a
    conditional update before ``build`` makes its notice: two workers, or a re-import, never
    tell one twice. A claim whose send then fails is not retried; the resident still sees
    the answer in "cek status"."""
    notices: list[T] = []
    with uow:
        session = uow.session
        rows = session.execute(
            select(Submission, Participant)
            .join(Participant, Participant.id == Submission.participant_id)
            .where(Submission.state == state.value, told_at.is_(None))
            .order_by(Submission.id)
            .limit(limit)
        ).all()
        for submission, participant in rows:
            claimed = session.execute(
                update(Submission)
                .where(Submission.id == submission.id, told_at.is_(None))
                .values({told_at.key: now})
                .execution_options(synchronize_session=False)
            )
            if rows_changed(claimed) == 1:
                notices.append(build(session, submission, participant))
        uow.commit()
    return notices


def claim_acceptance_notices(
    uow: UnitOfWork, cipher: PiiCipher, now: datetime, limit: int = 200
) -> list[KpjNotice]:
    """Acceptances not yet told, each claimed once (the KPJ message never goes twice)."""

    def build(session: Session, submission: Submission, participant: Participant) -> KpjNotice:
        assert submission.kpj_encrypted is not None
        return KpjNotice(
            reference=submission.reference,
            kpj=cipher.decrypt(submission.kpj_encrypted),
            payment_code=(
                cipher.decrypt(submission.payment_code_encrypted)
                if submission.payment_code_encrypted
                else None
            ),
            monthly_contribution=participant.monthly_contribution,
            addresses=reachable_addresses(session, cipher, participant.id),
        )

    return _claim_untold(
        uow, SubmissionState.ACCEPTED, Submission.accepted_notice_at, now, limit, build
    )


def claim_rejection_notices(
    uow: UnitOfWork, cipher: PiiCipher, now: datetime, limit: int = 200
) -> list[RejectionNotice]:
    """Refusals not yet told, each claimed once (cleared again when a corrected
    registration is refused anew, so each refusal is told once)."""

    def build(
        session: Session, submission: Submission, participant: Participant
    ) -> RejectionNotice:
        agent = (
            session.get(Agent, participant.registered_by_agent_id)
            if participant.registered_by_agent_id
            else None
        )
        return RejectionNotice(
            reference=submission.reference,
            reason=RejectionReason(submission.reason_code or RejectionReason.OTHER),
            addresses=reachable_addresses(session, cipher, participant.id),
            agent_address=(
                agent_address(agent, cipher) if agent is not None and agent.active else None
            ),
            resident_name=mask_name(cipher.decrypt(participant.full_name_encrypted)),
            village=participant.village,
        )

    return _claim_untold(
        uow, SubmissionState.REJECTED, Submission.rejected_notice_at, now, limit, build
    )


def erased_reference(submission_id: int) -> str:
    """What stands in for the reference once nothing may link the row to a person: unique,
    never a Sadar reference (SDR-…), so no answer file or callback can match it."""
    return f"ERASED-{submission_id}"


def cancel_or_withdraw(session: Session, participant_id: int, now: datetime, actor: str) -> str:
    """What erasure does to the hand-over: before it was handed over, it is cancelled
    ("cancelled") and the reference goes with the rest; after, BPJS keeps the membership
    under its own rules and Sadar owes the branch (or the partner API) a withdrawal
    ("withdrawal"): the reference, which alone names the registration to them, stays until
    the withdrawal is handed over (bot.services.registry.batch.export_withdrawals), then
    goes too. The KPJ number and the branch's remark go at once."""
    submission = session.scalar(
        select(Submission).where(Submission.participant_id == participant_id).with_for_update()
    )
    if submission is None:
        return "none"
    state = SubmissionState(submission.state)
    outcome = "cancelled"
    # A claimed pending one may be in the partner API's hands right now (its reply is
    # recorded by bot.services.registry.driver): it is owed a withdrawal too.
    in_flight = state is SubmissionState.PENDING and submission.claimed_at is not None
    if in_flight or state in (SubmissionState.SUBMITTED, SubmissionState.ACCEPTED):
        submission.withdrawal = "due"
        note(session, submission, "withdrawal due: erased by the resident", actor, now)
        outcome = "withdrawal"
    else:
        if state is not SubmissionState.CANCELLED:
            move(session, submission, SubmissionState.CANCELLED, now, actor, "erased")
        submission.reference = erased_reference(submission.id)
    submission.kpj_encrypted = None
    submission.payment_code_encrypted = None
    submission.reason_detail_encrypted = None
    submission.participant_id = None
    return outcome


@dataclass(frozen=True)
class Pipeline:
    """What operators see: counts per state per regency and village, the oldest waiting
    submission, rejections by reason, withdrawals owed."""

    by_area: dict[tuple[str, str], Counter[str]]
    oldest_waiting: datetime | None
    rejections: Counter[str]
    withdrawals_due: int

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.by_area.values():
            total.update(counts)
        return total

    def gauges(self, now: datetime) -> dict[str, tuple[str, str, dict[str, float]]]:
        """The pipeline as Prometheus gauges (bot.infra.metrics.ScrapedGauges' shape)."""
        totals = self.totals()
        oldest = self.oldest_waiting
        return {
            "sadar_submissions": (
                "Registrations handed over to BPJS Ketenagakerjaan, by state.",
                "state",
                {state.value: float(totals[state.value]) for state in SubmissionState},
            ),
            "sadar_submission_oldest_waiting_seconds": (
                "Age of the oldest registration waiting (pending or submitted); 0: none.",
                "",
                {"": (now - as_utc(oldest)).total_seconds() if oldest else 0.0},
            ),
            "sadar_submission_withdrawals_due": (
                "Registrations erased after the hand-over whose withdrawal is still owed.",
                "",
                {"": float(self.withdrawals_due)},
            ),
        }


def pipeline(uow: UnitOfWork, regency: str | None = None, *, scope: Scope = EVERYTHING) -> Pipeline:
    """The operators' view, of one regency or of all, within ``scope``. A registration
    erased after the hand-over counts in its state and as a withdrawal owed, never as one
    waiting."""
    in_area = [func.lower(Submission.regency) == regency.strip().lower()] if regency else []

    def scoped(query: Select[T2]) -> Select[T2]:
        return submissions_in_scope(query.select_from(Submission).where(*in_area), scope)

    with uow:
        session = uow.session
        area = scoped(
            select(Submission.regency, Submission.village, Submission.state, func.count())
        ).group_by(Submission.regency, Submission.village, Submission.state)
        by_area: dict[tuple[str, str], Counter[str]] = {}
        for row_regency, row_village, state, count in session.execute(area):
            by_area.setdefault((row_regency, row_village), Counter())[state] = int(count)
        waiting = (SubmissionState.PENDING.value, SubmissionState.SUBMITTED.value)
        oldest = session.scalar(
            scoped(select(func.min(Submission.created_at))).where(
                Submission.state.in_(waiting), Submission.participant_id.is_not(None)
            )
        )
        rejections = Counter(
            {
                str(code): int(count)
                for code, count in session.execute(
                    scoped(select(Submission.reason_code, func.count()))
                    .where(Submission.state == SubmissionState.REJECTED.value)
                    .group_by(Submission.reason_code)
                )
            }
        )
        withdrawals = session.scalar(
            scoped(select(func.count())).where(Submission.withdrawal == "due")
        )
    return Pipeline(by_area, as_utc(oldest), rejections, int(withdrawals or 0))


@dataclass(frozen=True)
class RejectionLine:
    """A registration BPJS Ketenagakerjaan did not accept, for the operators (the reference
    and the area; the resident's data stays behind the reference)."""

    reference: str
    village: str
    regency: str
    reason: str
    since: datetime


def rejected_registrations(
    uow: UnitOfWork, regency: str | None = None, limit: int = 200, *, scope: Scope = EVERYTHING
) -> list[RejectionLine]:
    """The latest rejections still standing, newest first, within ``scope``."""
    query = (
        select(
            Submission.reference,
            Submission.village,
            Submission.regency,
            Submission.reason_code,
            Submission.state_at,
        )
        .where(
            Submission.state == SubmissionState.REJECTED.value,
            Submission.participant_id.is_not(None),
        )
        .order_by(Submission.state_at.desc(), Submission.id.desc())
        .limit(limit)
    )
    if regency:
        query = query.where(func.lower(Submission.regency) == regency.strip().lower())
    query = submissions_in_scope(query, scope)
    with uow:
        return [
            RejectionLine(reference, village, area, str(reason or "other"), as_utc(since))
            for reference, village, area, reason, since in uow.session.execute(query)
        ]


#: The states of a registration still waiting for its KPJ number.
WAITING_STATES = (
    SubmissionState.PENDING,
    SubmissionState.SUBMITTED,
    SubmissionState.NEEDS_ATTENTION,
)


@dataclass(frozen=True)
class WaitingLine:
    """A resident still waiting for their KPJ number: their reference, masked name, village,
    where the registration stands and since when (the console's "who is waiting")."""

    reference: str
    masked_name: str
    village: str
    regency: str
    state: SubmissionState
    registered_at: datetime
    state_at: datetime


def _waiting(query: Select[T2], scope: Scope) -> Select[T2]:
    """The registrations of ``scope`` still waiting for a KPJ number whose resident is still
    there (one erased after the hand-over is a withdrawal owed, not a wait)."""
    query = query.join(Participant, Participant.id == Submission.participant_id).where(
        Submission.state.in_([state.value for state in WAITING_STATES])
    )
    if scope.everything:
        return query
    return where_in_scope(
        query, scope, Submission.village, Participant.district, Submission.regency
    )


def waiting_count(uow: UnitOfWork, *, scope: Scope = EVERYTHING) -> tuple[int, datetime | None]:
    """How many wait for a KPJ number in ``scope``, and since when the longest has."""
    query = _waiting(
        select(func.count(), func.min(Submission.created_at)).select_from(Submission), scope
    )
    with uow:
        count, oldest = uow.session.execute(query).one()
    return int(count or 0), as_utc(oldest) if oldest is not None else None


def waiting_registrations(
    uow: UnitOfWork, cipher: PiiCipher, *, scope: Scope = EVERYTHING, limit: int = 500
) -> list[WaitingLine]:
    """The registrations without a KPJ number yet, the longest waiting first, in ``scope``."""
    query = (
        _waiting(
            select(
                Submission.reference,
                Participant.full_name_encrypted,
                Submission.village,
                Submission.regency,
                Submission.state,
                Submission.created_at,
                Submission.state_at,
            ).select_from(Submission),
            scope,
        )
        .order_by(Submission.created_at, Submission.id)
        .limit(limit)
    )
    with uow:
        rows = uow.session.execute(query).all()
    return [
        WaitingLine(
            reference,
            mask_name(cipher.decrypt(name)),
            village,
            regency,
            SubmissionState(state),
            as_utc(created),
            as_utc(moved),
        )
        for reference, name, village, regency, state, created, moved in rows
    ]
