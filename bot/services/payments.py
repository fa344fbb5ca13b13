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
from sqlalchemy.orm import Session

from bot.db.models import AuditEvent, Participant, Payment
from bot.domain.clock import local_date
from bot.domain.payments import cover, load_calendar, months_for_amount, standing
from bot.domain.registration import make_reference
from bot.domain.senders import channel_of
from bot.services.participants import participant_id_for_sender
from bot.services.unit_of_work import UnitOfWork

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


def _free_receipt(session: Session, prefix: str, column: str = "receipt") -> str:
    """A receipt number nobody holds yet."""
    field = Payment.receipt if column == "receipt" else Payment.group_receipt
    for _ in range(RECEIPT_ATTEMPTS):
        receipt = make_reference(prefix=prefix)
        if session.scalar(select(Payment.id).where(field == receipt).limit(1)) is None:
            return receipt
    raise RuntimeError(f"no free {prefix} receipt after {RECEIPT_ATTEMPTS} attempts")


def record_payment(
    uow: UnitOfWork,
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
    """Store one payment at ``now`` with its audit event (the status follows Indonesia's
    calendar day of it); months and amount must agree with the participant's contribution.
    Idempotent on ``provider_reference``: a repeat returns the first record."""
    verified = source is not PaymentSource.PARTICIPANT_REPORT
    with uow:
        session = uow.session
        if provider_reference:
            earlier = _earlier(session, provider_reference)
            if earlier is not None:
                return earlier
        participant = session.scalar(
            select(Participant).where(Participant.id == participant_id).with_for_update()
        )
        if participant is None:
            raise PaymentRejected(f"no participant with id {participant_id}")
        count = _months(participant, months, amount)
        payment = Payment(
            participant_id=participant.id,
            receipt=_free_receipt(session, RECEIPT_PREFIX),
            source=source.value,
            provider_reference=provider_reference,
            amount=count * participant.monthly_contribution,
            months=count,
            verified=verified,
            recorded_by=recorded_by,
            paid_at=paid_at or now,
        )
        try:
            _store(
                session,
                participant,
                payment,
                now,
                "payment_recorded" if verified else "payment_reported",
                f"months={count}",
            )
        except IntegrityError as error:
            if not (provider_reference and "provider_reference" in str(error.orig)):
                raise
            if not uow.is_outermost:
                raise
            # A concurrent delivery of the same notification won: read it back.
            uow.rollback()
            earlier = _earlier(session, provider_reference)
            assert earlier is not None
            return earlier
        result = _recorded(payment, participant, duplicate=False)
        uow.commit()
    log.info(
        "payment %s for %s: %d month(s), %s",
        result.receipt,
        result.participant_reference,
        result.months,
        "verified" if verified else "unverified report",
    )
    return result


def _earlier(session: Session, provider_reference: str) -> RecordedPayment | None:
    earlier = session.scalar(
        select(Payment).where(Payment.provider_reference == provider_reference)
    )
    if earlier is None:
        return None
    owner = session.get(Participant, earlier.participant_id) if earlier.participant_id else None
    if owner is None:
        # Kept for accounting after its participant erased their data (bot/services/erasure.py).
        raise PaymentRejected("this payment's participant erased their data")
    return _recorded(earlier, owner, duplicate=True)


@dataclass(frozen=True)
class GroupPayment:
    group_receipt: str
    members: list[RecordedPayment]

    @property
    def total(self) -> int:
        return sum(member.amount for member in self.members)


def record_group_payment(
    uow: UnitOfWork,
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
    with uow:
        session = uow.session
        group_receipt = _free_receipt(session, GROUP_RECEIPT_PREFIX, "group_receipt")
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
                receipt=_free_receipt(session, RECEIPT_PREFIX),
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
        uow.commit()
    log.info("group payment %s: %d member(s), %d month(s)", group_receipt, len(results), months)
    return GroupPayment(group_receipt, results)


def report_own_payment(
    uow: UnitOfWork, hash_key: str, sender_id: str, months: int, now: datetime
) -> RecordedPayment | None:
    """The sender says they paid: stored unverified for their own registration (None when
    this conversation has none), to be confirmed by an agent or the provider."""
    with uow:
        participant_id = participant_id_for_sender(uow, hash_key, sender_id)
        if participant_id is None:
            return None
        reported = record_payment(
            uow,
            participant_id,
            source=PaymentSource.PARTICIPANT_REPORT,
            recorded_by=f"participant:{channel_of(sender_id).value}",
            months=months,
            now=now,
        )
        uow.commit()
    return reported


@dataclass(frozen=True)
class PaymentLine:
    """One payment as operators list it: the participant by reference only."""

    payment_id: int
    receipt: str
    participant_reference: str
    source: str
    months: int
    amount: int
    verified: bool
    period_from: date | None
    period_to: date | None


def list_payments(uow: UnitOfWork, unverified_only: bool = False) -> list[PaymentLine]:
    """Payments, newest first."""
    query = (
        select(Payment, Participant.reference)
        .join(Participant, Participant.id == Payment.participant_id)
        .order_by(Payment.id.desc())
    )
    if unverified_only:
        query = query.where(Payment.verified.is_(False))
    with uow:
        return [
            PaymentLine(
                payment.id,
                payment.receipt,
                reference,
                payment.source,
                payment.months,
                payment.amount,
                payment.verified,
                payment.period_from,
                payment.period_to,
            )
            for payment, reference in uow.session.execute(query).tuples()
        ]


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
    uow: UnitOfWork, payment_id: int, confirmed_by: str, *, now: datetime
) -> RecordedPayment:
    """Turn a participant's report into a verified payment covering months."""
    with uow:
        session = uow.session
        payment = session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
        if payment is None:
            raise PaymentRejected(f"no payment with id {payment_id}")
        participant = session.scalar(
            select(Participant).where(Participant.id == payment.participant_id).with_for_update()
        )
        if participant is None:
            raise PaymentRejected(f"payment {payment_id}'s participant erased their data")
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
        confirmed = _recorded(payment, participant, duplicate=False)
        uow.commit()
    return confirmed
