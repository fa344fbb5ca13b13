"""Recording payments and keeping each participant's paid-through month and status in step.

Three sources: an agent's cash collection, a payment provider's signed notification, and
the participant's own "sudah bayar" report, which waits unverified until someone confirms
it. Only verified payments cover months."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import AuditEvent, Participant, Payment
from bot.domain.clock import local_date
from bot.domain.payments import cover, load_calendar, months_for_amount, standing
from bot.domain.registration import make_reference

log = logging.getLogger(__name__)
RECEIPT_PREFIX = "KWT"
GROUP_RECEIPT_PREFIX = "JMP"
RECEIPT_ATTEMPTS = 5


class PaymentSource(StrEnum):
    AGENT_CASH = "agent_cash"
    PROVIDER = "provider"
    PARTICIPANT_REPORT = "participant_report"


class PaymentRejected(ValueError):
    """The payment cannot be recorded as given; the message says why."""


@dataclass(frozen=True)
class RecordedPayment:
    payment_id: int
    receipt: str
    participant_reference: str
    months: int
    amount: int
    verified: bool
    period_from: date | None
    period_to: date | None
    #: True when this provider reference was recorded before: nothing new was stored.
    duplicate: bool = False


def _recorded(payment: Payment, participant: Participant, duplicate: bool) -> RecordedPayment:
    return RecordedPayment(
        payment_id=payment.id,
        receipt=payment.receipt,
        participant_reference=participant.reference,
        months=payment.months,
        amount=payment.amount,
        verified=payment.verified,
        period_from=payment.period_from,
        period_to=payment.period_to,
        duplicate=duplicate,
    )


def _store(
    session: Session,
    participant: Participant,
    payment: Payment,
    now: datetime,
    action: str,
    fields: str,
) -> None:
    """Add a payment (a verified one moves the months paid) with its audit event."""
    if payment.verified:
        _apply(session, participant, payment, local_date(now))
    payment.created_at = now
    session.add(payment)
    session.flush()
    session.add(
        AuditEvent(
            participant_id=participant.id,
            actor=payment.recorded_by,
            action=action,
            fields=fields,
            created_at=now,
        )
    )


def _apply(session: Session, participant: Participant, payment: Payment, today: date) -> None:
    """Cover the oldest unpaid months and refresh the status (participant row locked)."""
    first, last = cover(participant.first_period, participant.paid_through, payment.months)
    payment.period_from, payment.period_to = first, last
    participant.paid_through = last
    participant.status = standing(
        participant.first_period, last, today, load_calendar()
    ).status.value


def record_payment(
    sessions: sessionmaker[Session],
    participant_id: int,
    *,
    source: PaymentSource,
    recorded_by: str,
    months: int | None = None,
    amount: int | None = None,
    provider_reference: str | None = None,
    now: datetime,
    paid_at: datetime | None = None,
) -> RecordedPayment:
    """Store one payment at ``now`` (the status follows Indonesia's calendar day of it);
    months and amount must agree with the participant's contribution. Idempotent on
    ``provider_reference``: a repeat returns the first record."""
    verified = source is not PaymentSource.PARTICIPANT_REPORT
    for _ in range(RECEIPT_ATTEMPTS):
        try:
            with sessions.begin() as session:
                if provider_reference:
                    earlier = session.scalar(
                        select(Payment).where(Payment.provider_reference == provider_reference)
                    )
                    if earlier is not None:
                        owner = session.get(Participant, earlier.participant_id)
                        assert owner is not None
                        return _recorded(earlier, owner, duplicate=True)
                participant = session.scalar(
                    select(Participant).where(Participant.id == participant_id).with_for_update()
                )
                if participant is None:
                    raise PaymentRejected(f"no participant with id {participant_id}")
                count = _months(participant, months, amount)
                payment = Payment(
                    participant_id=participant.id,
                    receipt=make_reference(prefix=RECEIPT_PREFIX),
                    source=source.value,
                    provider_reference=provider_reference,
                    amount=count * participant.monthly_contribution,
                    months=count,
                    verified=verified,
                    recorded_by=recorded_by,
                    paid_at=paid_at or now,
                )
                _store(
                    session,
                    participant,
                    payment,
                    now,
                    "payment_recorded" if verified else "payment_reported",
                    f"months={count}",
                )
                result = _recorded(payment, participant, duplicate=False)
        except IntegrityError as error:
            if provider_reference and "provider_reference" in str(error.orig):
                continue  # a concurrent delivery of the same notification won: read it back
            if "receipt" in str(error.orig):
                continue  # receipt collision: draw another
            raise
        log.info(
            "payment %s for %s: %d month(s), %s",
            result.receipt,
            result.participant_reference,
            result.months,
            "verified" if verified else "unverified report",
        )
        return result
    raise RuntimeError("could not record the payment after several attempts")


@dataclass(frozen=True)
class GroupPayment:
    group_receipt: str
    members: list[RecordedPayment]

    @property
    def total(self) -> int:
        return sum(member.amount for member in self.members)


def record_group_payment(
    sessions: sessionmaker[Session],
    leader_id: int,
    member_ids: list[int],
    months: int,
    recorded_by: str,
    *,
    now: datetime,
) -> GroupPayment:
    """A jimpitan group pays for all its members at once: each member's months are covered
    (all or none), under one group receipt that the agent hands to the group leader."""
    members = list(dict.fromkeys([leader_id, *member_ids]))
    group_receipt = make_reference(prefix=GROUP_RECEIPT_PREFIX)
    with sessions.begin() as session:
        participants = session.scalars(
            select(Participant)
            .where(Participant.id.in_(members))
            .order_by(Participant.id)
            .with_for_update()
        ).all()
        found = {p.id for p in participants}
        missing = [m for m in members if m not in found]
        if missing:
            raise PaymentRejected(f"unknown participant id(s) {missing}")
        results = []
        for participant in participants:
            count = _months(participant, months, None)
            payment = Payment(
                participant_id=participant.id,
                receipt=make_reference(prefix=RECEIPT_PREFIX),
                group_receipt=group_receipt,
                source=PaymentSource.AGENT_CASH.value,
                amount=count * participant.monthly_contribution,
                months=count,
                verified=True,
                recorded_by=recorded_by,
                paid_at=now,
            )
            _store(
                session,
                participant,
                payment,
                now,
                "group_payment_recorded",
                f"months={count} group={group_receipt} leader={leader_id}",
            )
            results.append(_recorded(payment, participant, duplicate=False))
    log.info("group payment %s: %d member(s), %d month(s)", group_receipt, len(results), months)
    return GroupPayment(group_receipt, results)


def _months(participant: Participant, months: int | None, amount: int | None) -> int:
    if months is None and amount is None:
        raise PaymentRejected("give the months paid, the amount, or both")
    try:
        from_amount = (
            months_for_amount(amount, participant.monthly_contribution)
            if amount is not None
            else None
        )
    except ValueError as error:
        raise PaymentRejected(str(error)) from error
    if months is not None and from_amount is not None and months != from_amount:
        raise PaymentRejected(
            f"Rp{amount} pays {from_amount} month(s) at Rp{participant.monthly_contribution}, "
            f"not {months}"
        )
    count = months if months is not None else from_amount
    assert count is not None
    if not 1 <= count <= 12:
        raise PaymentRejected(f"a payment covers 1 to 12 months, not {count}")
    return count


def confirm_payment(
    sessions: sessionmaker[Session], payment_id: int, confirmed_by: str, *, now: datetime
) -> RecordedPayment:
    """Turn a participant's report into a verified payment covering months."""
    with sessions.begin() as session:
        payment = session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
        if payment is None:
            raise PaymentRejected(f"no payment with id {payment_id}")
        participant = session.scalar(
            select(Participant).where(Participant.id == payment.participant_id).with_for_update()
        )
        assert participant is not None
        if not payment.verified:
            payment.verified = True
            _apply(session, participant, payment, local_date(now))
            session.add(
                AuditEvent(
                    participant_id=participant.id,
                    actor=confirmed_by,
                    action="payment_confirmed",
                    fields=f"payment={payment.id}",
                    created_at=now,
                )
            )
        return _recorded(payment, participant, duplicate=False)
