"""Months, due dates, what a payment covers, arrears and membership status.

A *period* is the first day of the month a contribution is for. Payments cover whole
periods, oldest unpaid first, so paying ahead is simply covering later periods. Pure: the
caller passes today's date and the recorded payments."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

CALENDAR_FILE = Path(__file__).parent / "data" / "payment_calendar.toml"
#: Payment channels sell 1, 3, 6 or 12 months at once; Sadar accepts any count up to a year.
MAX_MONTHS_PER_PAYMENT = 12


@dataclass(frozen=True)
class PaymentCalendar:
    due_day: int
    months_unpaid_for_non_active: int
    non_working_weekdays: frozenset[int]
    holidays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() not in self.non_working_weekdays and day not in self.holidays

    def due_date(self, period: date) -> date:
        """The 15th of the period's month, moved to the next working day when needed."""
        day = period.replace(day=self.due_day)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


@lru_cache(maxsize=1)
def load_calendar(path: Path = CALENDAR_FILE) -> PaymentCalendar:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return PaymentCalendar(
        due_day=int(data["due_day"]),
        months_unpaid_for_non_active=int(data["months_unpaid_for_non_active"]),
        non_working_weekdays=frozenset(int(d) for d in data["non_working_weekdays"]),
        holidays=frozenset(date.fromisoformat(d) for d in data["holidays"]),
    )


def period_of(day: date) -> date:
    return day.replace(day=1)


def add_months(period: date, months: int) -> date:
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> int:
    """Whole months from period ``start`` to period ``end`` (0 when equal)."""
    return (end.year - start.year) * 12 + end.month - start.month


def periods(start: date, count: int) -> list[date]:
    return [add_months(start, i) for i in range(count)]


class ParticipantStatus(StrEnum):
    """Membership status; it follows from the recorded payments (see ``standing``)."""

    REGISTERED = "registered"
    AWAITING_FIRST_PAYMENT = "awaiting_first_payment"
    ACTIVE = "active"
    NON_ACTIVE = "non_active"


@dataclass(frozen=True)
class Standing:
    """Where a participant stands on ``today``."""

    paid_through: date | None
    #: Periods already due (due date passed) and not paid, oldest first.
    arrears: tuple[date, ...]
    status: ParticipantStatus

    @property
    def months_owed(self) -> int:
        return len(self.arrears)


def next_unpaid_period(first_period: date, paid_through: date | None) -> date:
    return first_period if paid_through is None else add_months(paid_through, 1)


def cover(first_period: date, paid_through: date | None, months: int) -> tuple[date, date]:
    """The periods a payment of ``months`` covers: from the oldest unpaid one onwards."""
    if not 1 <= months <= MAX_MONTHS_PER_PAYMENT:
        raise ValueError(f"a payment covers 1 to {MAX_MONTHS_PER_PAYMENT} months, not {months}")
    start = next_unpaid_period(first_period, paid_through)
    return start, add_months(start, months - 1)


def standing(
    first_period: date, paid_through: date | None, today: date, calendar: PaymentCalendar
) -> Standing:
    arrears: list[date] = []
    period = next_unpaid_period(first_period, paid_through)
    while calendar.due_date(period) < today:
        arrears.append(period)
        period = add_months(period, 1)
    if len(arrears) >= calendar.months_unpaid_for_non_active:
        status = ParticipantStatus.NON_ACTIVE
    elif paid_through is None:
        status = ParticipantStatus.AWAITING_FIRST_PAYMENT
    else:
        status = ParticipantStatus.ACTIVE
    return Standing(paid_through, tuple(arrears), status)


def months_for_amount(amount: int, monthly_contribution: int) -> int:
    """How many months an amount pays; it must be a whole number of months."""
    if monthly_contribution <= 0 or amount <= 0 or amount % monthly_contribution:
        raise ValueError(
            f"Rp{amount} is not a whole number of months at Rp{monthly_contribution}/month"
        )
    return amount // monthly_contribution
