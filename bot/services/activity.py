"""Registrations and payments per month, for the dashboard chart."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from bot.db.models import Participant, Payment
from bot.domain.clock import local_date
from bot.domain.payments import add_months, period_of
from bot.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class MonthActivity:
    month: date
    registrations: int
    payments: int


def monthly_activity(uow: UnitOfWork, today: date, months: int = 12) -> list[MonthActivity]:
    first = add_months(period_of(today), -(months - 1))
    with uow:
        session = uow.session
        registered = Counter(
            period_of(local_date(moment))
            for moment in session.scalars(select(Participant.created_at))
            if moment is not None
        )
        paid = Counter(
            period_of(local_date(moment))
            for moment in session.scalars(select(Payment.created_at).where(Payment.verified))
            if moment is not None
        )
    return [
        MonthActivity(month, registered[month], paid[month])
        for month in (add_months(first, i) for i in range(months))
    ]
