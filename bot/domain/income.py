"""An income given per day, week or year, and the monthly figure it suggests.

The monthly income is the base of the contribution, so a day's or a week's earnings are never
stored as the month's: the resident is shown the monthly figure computed here and confirms it
(or types their own). The conversion factors are assumptions kept as data
(bot/domain/data/income_periods.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PERIODS_FILE = Path(__file__).resolve().parent / "data" / "income_periods.toml"
MONTH = "month"


@dataclass(frozen=True)
class IncomePerPeriod:
    """An income the resident gave for a period other than a month ('sehari 80 rb')."""

    amount: int
    period: str  # "day", "week" or "year"


@dataclass(frozen=True)
class PeriodFactors:
    days_worked_per_month: float
    weeks_per_month: float
    months_per_year: float
    round_to: int

    def per_month(self, period: str) -> float:
        """How many of ``period`` make a month (a year: a fraction)."""
        factors = {
            "day": self.days_worked_per_month,
            "week": self.weeks_per_month,
            "year": 1 / self.months_per_year,
            MONTH: 1.0,
        }
        if period not in factors:
            raise ValueError(f"unknown income period {period!r}")
        return factors[period]


@lru_cache(maxsize=1)
def load_factors(path: Path = PERIODS_FILE) -> PeriodFactors:
    periods = tomllib.loads(path.read_text(encoding="utf-8"))["periods"]
    return PeriodFactors(
        days_worked_per_month=float(periods["days_worked_per_month"]),
        weeks_per_month=float(periods["weeks_per_month"]),
        months_per_year=float(periods["months_per_year"]),
        round_to=int(periods["round_to_rupiah"]),
    )


def monthly_estimate(income: IncomePerPeriod, factors: PeriodFactors | None = None) -> int:
    """The monthly figure to propose: the amount times the period's share of a month,
    rounded to the data file's step (never to zero)."""
    factors = factors or load_factors()
    raw = income.amount * factors.per_month(income.period)
    step = factors.round_to
    return max(step, round(raw / step) * step) if step > 1 else round(raw)
