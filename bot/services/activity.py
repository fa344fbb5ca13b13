"""Registrations and payments per month, for the dashboard chart."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from bot.db.models import Participant, Payment
from bot.domain.access import EVERYTHING, Scope
from bot.domain.clock import local_date
from bot.domain.payments import add_months, period_of
from bot.services.scoping import payments_in_scope, where_in_scope
from bot.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class MonthActivity:
    month: date
    registrations: int
    payments: int


def monthly_activity(
    uow: UnitOfWork, today: date, months: int = 12, *, scope: Scope = EVERYTHING
) -> list[MonthActivity]:
    """Registrations and verified payments per month (of ``scope`` only)."""
    first = add_months(period_of(today), -(months - 1))
    registrations = where_in_scope(
        select(Participant.created_at),
        scope,
        Participant.village,
        Participant.district,
        Participant.regency,
    )
    payments = payments_in_scope(
        select(Payment.created_at).where(Payment.verified), scope, participant_joined=False
    )
    with uow:
        session = uow.session
        registered = Counter(
            period_of(local_date(moment))
            for moment in session.scalars(registrations)
            if moment is not None
        )
        paid = Counter(
            period_of(local_date(moment))
            for moment in session.scalars(payments)
            if moment is not None
        )
    return [
        MonthActivity(month, registered[month], paid[month])
        for month in (add_months(first, i) for i in range(months))
    ]


def registrations_between(
    uow: UnitOfWork, start: datetime, end: datetime, *, scope: Scope = EVERYTHING
) -> int:
    """Participants registered in [start, end) (aware instants), of ``scope`` only."""
    query = where_in_scope(
        select(func.count())
        .select_from(Participant)
        .where(Participant.created_at >= start.astimezone(UTC))
        .where(Participant.created_at < end.astimezone(UTC)),
        scope,
        Participant.village,
        Participant.district,
        Participant.regency,
    )
    with uow:
        return int(uow.session.scalar(query) or 0)
