"""Recording payments and keeping each participant's paid-through month and status in step.

Three sources: an agent's cash collection, a payment provider's signed notification, and
the participant's own "sudah bayar" report, which waits unverified until someone confirms
it. Only verified payments cover months. And the records an office asks for: every receipt
with its village and collector, and a village's cash book of a month, which its Wadah
counts the cash box against."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import Agent, AuditEvent, Participant, Payment, Village
from bot.db.timestamps import as_utc
from bot.domain.access import EVERYTHING, OutsideScope, Scope
from bot.domain.clock import local_date, start_of_day
from bot.domain.payments import add_months, cover, load_calendar, months_for_amount, standing
from bot.domain.registration import make_reference
from bot.domain.senders import channel_of
from bot.domain.villages import name_key
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import mask_name
from bot.services.participants import participant_id_for_sender
from bot.services.scoping import payments_in_scope
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


#: A village as compared everywhere (bot.domain.villages.area_key): village, district, regency.
Area = tuple[str, str, str]


@dataclass(frozen=True)
class PaymentLine:
    """One receipt as operators and the village's Wadah see it: the participant by reference
    and masked name (None and "" once they erased their data), the village, who collected
    it, and the jimpitan group receipt it belongs to."""

    payment_id: int
    receipt: str
    group_receipt: str | None
    participant_reference: str | None
    #: "Sut*** W." (bot.infra.privacy.mask_name), as agents see residents.
    member: str
    #: The participant's village; once they erased their data, the collecting agent's.
    area: Area | None
    #: The agent's name for an agent's cash, else who recorded it ("cli:admin", "provider").
    collected_by: str
    source: str
    months: int
    amount: int
    verified: bool
    period_from: date | None
    period_to: date | None
    paid_at: datetime

    @property
    def paid_on(self) -> date:
        """The calendar day it was paid, in Indonesia (months are counted in WIB)."""
        return local_date(self.paid_at)


_Row = TypeVar("_Row", bound=tuple[Any, ...])


def _in_month(query: Select[_Row], month: date) -> Select[_Row]:
    """Paid in ``month`` as counted in Indonesia (WIB)."""
    first = month.replace(day=1)
    return query.where(Payment.paid_at >= start_of_day(first)).where(
        Payment.paid_at < start_of_day(add_months(first, 1))
    )


def list_payments(
    uow: UnitOfWork,
    cipher: PiiCipher,
    *,
    unverified_only: bool = False,
    month: date | None = None,
    area: Area | None = None,
    cash_only: bool = False,
    limit: int | None = None,
    scope: Scope = EVERYTHING,
) -> list[PaymentLine]:
    """Receipts, newest first: all, or those paid in ``month`` (WIB), of one village, only
    cash, or only reports waiting for confirmation; at most ``limit``; within ``scope``
    (narrowed in SQL). Only the names of the receipts returned are decrypted."""
    query = (
        select(
            Payment,
            Participant.reference,
            Participant.full_name_encrypted,
            Participant.village,
            Participant.district,
            Participant.regency,
        )
        .outerjoin(Participant, Participant.id == Payment.participant_id)
        .order_by(Payment.id.desc())
    )
    if unverified_only:
        query = query.where(Payment.verified.is_(False))
    if cash_only:
        query = query.where(Payment.source == PaymentSource.AGENT_CASH.value)
    if month is not None:
        query = _in_month(query, month)
    query = payments_in_scope(query, scope, participant_joined=True)
    if area is not None:  # narrowed in SQL, decided below as everywhere (area_key)
        query = query.where(
            or_(
                Participant.id.is_(None),
                func.lower(Participant.village).contains(name_key(area[0]), autoescape=True),
            )
        )
    elif limit is not None:
        query = query.limit(limit)
    with uow:
        rows = uow.session.execute(query).tuples().all()
        agents = _agents(uow.session, {row[0].recorded_by for row in rows})
    found = []
    for payment, reference, name, village, district, regency in rows:
        agent = agents.get(payment.recorded_by)
        place = _area_of(village, district, regency, agent)
        if area is not None and (place is None or _key(place) != _key(area)):
            continue
        found.append((payment, reference, name, place, agent))
        if limit is not None and len(found) >= limit:
            break
    return [
        _line(payment, reference, mask_name(cipher.decrypt(name)) if name else "", place, agent)
        for payment, reference, name, place, agent in found
    ]


def count_payments(uow: UnitOfWork, month: date, *, scope: Scope = EVERYTHING) -> int:
    """Receipts paid in ``month`` (WIB), every source, within ``scope``."""
    query = payments_in_scope(
        _in_month(select(func.count()).select_from(Payment), month),
        scope,
        participant_joined=False,
    )
    with uow:
        return int(uow.session.scalar(query) or 0)


def _key(area: Area) -> Area:
    village, district, regency = area
    return name_key(village), name_key(district), name_key(regency)


def _agents(session: Session, actors: set[str]) -> dict[str, Agent]:
    """The agents behind ``agent:<id>`` actors, by actor."""
    ids = {int(actor[6:]) for actor in actors if actor.startswith("agent:") and actor[6:].isdigit()}
    if not ids:
        return {}
    return {f"agent:{a.id}": a for a in session.scalars(select(Agent).where(Agent.id.in_(ids)))}


def _area_of(
    village: str | None, district: str | None, regency: str | None, agent: Agent | None
) -> Area | None:
    """The participant's village; once they erased their data, the collecting agent's (the
    cash still went into that village's box)."""
    if village is not None and district is not None and regency is not None:
        return village, district, regency
    if agent is not None:
        return agent.village, agent.district, agent.regency
    return None


def _line(
    payment: Payment, reference: str | None, member: str, area: Area | None, agent: Agent | None
) -> PaymentLine:
    return PaymentLine(
        payment_id=payment.id,
        receipt=payment.receipt,
        group_receipt=payment.group_receipt,
        participant_reference=reference,
        member=member,
        area=area,
        collected_by=agent.name if agent is not None else payment.recorded_by,
        source=payment.source,
        months=payment.months,
        amount=payment.amount,
        verified=payment.verified,
        period_from=payment.period_from,
        period_to=payment.period_to,
        paid_at=as_utc(payment.paid_at),
    )


@dataclass(frozen=True)
class CashBook:
    """The cash a village's agents handed in for one month, one line per receipt, oldest
    first: what the village's Wadah counts its cash box against."""

    area: Area
    month: date
    lines: list[PaymentLine]

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def groups(self) -> dict[str, int]:
        """Each jimpitan group receipt of the month and the cash it covers."""
        totals: dict[str, int] = {}
        for line in self.lines:
            if line.group_receipt:
                totals[line.group_receipt] = totals.get(line.group_receipt, 0) + line.amount
        return totals


def cash_book(
    uow: UnitOfWork, cipher: PiiCipher, area: Area, month: date, *, scope: Scope = EVERYTHING
) -> CashBook:
    """The cash receipts of ``area`` paid in ``month`` (agents' cash and the office's).
    OutsideScope when ``area`` is not ``scope``'s."""
    if not scope.allows(*area):
        raise OutsideScope(f"{scope.describe()} does not include this village")
    lines = list_payments(uow, cipher, month=month, area=area, cash_only=True, scope=scope)
    lines.sort(key=lambda line: (line.paid_at, line.payment_id))
    return CashBook(area, month.replace(day=1), lines)


@dataclass(frozen=True)
class VillageCash:
    area: Area
    receipts: int
    total: int


def cash_by_village(
    uow: UnitOfWork, month: date, *, scope: Scope = EVERYTHING
) -> list[VillageCash]:
    """The cash receipts of ``month`` per village (as in its cash book), villages by name,
    within ``scope``; counted in the database, nothing decrypted."""
    erased_by = case((Participant.id.is_(None), Payment.recorded_by), else_="")
    query = _in_month(
        select(
            Participant.village,
            Participant.district,
            Participant.regency,
            erased_by,
            func.count(),
            func.coalesce(func.sum(Payment.amount), 0),
        )
        .outerjoin(Participant, Participant.id == Payment.participant_id)
        .where(Payment.source == PaymentSource.AGENT_CASH.value)
        .group_by(Participant.village, Participant.district, Participant.regency, erased_by),
        month,
    )
    query = payments_in_scope(query, scope, participant_joined=True)
    with uow:
        rows = uow.session.execute(query).tuples().all()
        agents = _agents(uow.session, {row[3] for row in rows})
    found: dict[Area, VillageCash] = {}
    for village, district, regency, actor, count, total in rows:
        place = _area_of(village, district, regency, agents.get(actor))
        if place is None:
            continue
        earlier = found.get(_key(place), VillageCash(place, 0, 0))
        found[_key(place)] = VillageCash(
            earlier.area, earlier.receipts + int(count), earlier.total + int(total)
        )
    return sorted(found.values(), key=lambda row: _key(row.area))


CASH_BOOK_HEADER = [
    "receipt", "paid_on", "agent", "participant_reference", "member", "months",
    "period_from", "period_to", "amount", "group_receipt",
]  # fmt: skip


def cash_book_rows(book: CashBook) -> list[list[object]]:
    """The CSV rows under CASH_BOOK_HEADER: one per receipt, then the total."""
    rows: list[list[object]] = [
        [
            line.receipt, line.paid_on.isoformat(), line.collected_by,
            line.participant_reference or "", line.member, line.months,
            f"{line.period_from:%Y-%m}" if line.period_from else "",
            f"{line.period_to:%Y-%m}" if line.period_to else "",
            line.amount, line.group_receipt or "",
        ]
        for line in book.lines
    ]  # fmt: skip
    rows.append(["total", "", "", "", "", sum(line.months for line in book.lines), "", "",
                 book.total, ""])  # fmt: skip
    return rows


def find_area(uow: UnitOfWork, code_or_name: str, district: str | None = None) -> list[Area]:
    """Villages of the village table with this code (35.23.08.2001 or 3523082001) or
    name (and district): one when it is unambiguous."""
    given = code_or_name.strip()
    digits = given.replace(".", "")
    with uow:
        query = select(Village)
        if digits.isdigit():
            dotted = f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}.{digits[6:]}"
            query = query.where(Village.code.in_([given, dotted]))
        else:
            query = query.where(Village.name_key == name_key(given))
            if district:
                query = query.where(Village.district_key == name_key(district))
        return [(v.name, v.district, v.regency) for v in uow.session.scalars(query)]


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
