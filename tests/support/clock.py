"""Fixed moments for tests. No test reads the machine's date: each passes one of these (or
its own) to the code as a clock, so the suite passes on every day of the year.

``CRITICAL_MOMENTS`` are the instants that break date handling in systems like this one;
the date-sensitive tests run at every one of them (tests/integration/test_dated_runs.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.clock import FixedClock

WIB = ZoneInfo("Asia/Jakarta")

#: A plain working day, mid-month, office hours: the default "now" of in-process tests.
ORDINARY_MOMENT = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)
#: Where the end-to-end stack's clock starts (SADAR_CLOCK_STARTS_AT); it runs on from there.
E2E_CLOCK_START = datetime(2026, 11, 20, 9, 0, tzinfo=WIB)


def fixed_clock(at: datetime = ORDINARY_MOMENT) -> FixedClock:
    return FixedClock(at)


@dataclass(frozen=True)
class Moment:
    """An instant, and the calendar facts a person in Jakarta would state about it."""

    name: str
    at: datetime
    #: Indonesia's calendar day at that instant (not the UTC day).
    jakarta_day: date
    #: The month a resident registering at that instant pays first.
    first_period: date
    #: When that first month is due (the 15th, or the next working day).
    first_due: date

    def __str__(self) -> str:
        return self.name


CRITICAL_MOMENTS = [
    Moment(
        "1st of the month, 00:30 WIB (still the 30th in UTC)",
        datetime(2026, 12, 1, 0, 30, tzinfo=WIB),
        date(2026, 12, 1),
        date(2026, 12, 1),
        date(2026, 12, 15),
    ),
    Moment(
        "15th, 23:30 WIB (16:30 UTC): last half hour before the due date passes",
        datetime(2027, 1, 15, 23, 30, tzinfo=WIB),
        date(2027, 1, 15),
        date(2027, 1, 1),
        date(2027, 1, 15),
    ),
    Moment(
        "16th, 00:30 WIB (still the 15th in UTC): the due date has passed",
        datetime(2027, 1, 16, 0, 30, tzinfo=WIB),
        date(2027, 1, 16),
        date(2027, 2, 1),
        date(2027, 2, 15),
    ),
    Moment(
        "31 December, 23:30 WIB",
        datetime(2026, 12, 31, 23, 30, tzinfo=WIB),
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2027, 1, 15),
    ),
    Moment(
        "1 January, 00:30 WIB (still 31 December in UTC)",
        datetime(2027, 1, 1, 0, 30, tzinfo=WIB),
        date(2027, 1, 1),
        date(2027, 1, 1),
        date(2027, 1, 15),
    ),
    Moment(
        "29 February 2028, 20:00 WIB",
        datetime(2028, 2, 29, 20, 0, tzinfo=WIB),
        date(2028, 2, 29),
        date(2028, 3, 1),
        date(2028, 3, 15),
    ),
    Moment(
        # 15-16 August 2026 are a weekend and the 17th is Independence Day (holiday in
        # bot/domain/data/payment_calendar.toml), so August's contribution is due the 18th.
        "17 August 2026, Independence Day, 23:30 WIB: due date moved to the 18th",
        datetime(2026, 8, 17, 23, 30, tzinfo=WIB),
        date(2026, 8, 17),
        date(2026, 8, 1),
        date(2026, 8, 18),
    ),
    Moment(
        "19 August 2026, 00:30 WIB (still the 18th in UTC): the moved due date has passed",
        datetime(2026, 8, 19, 0, 30, tzinfo=WIB),
        date(2026, 8, 19),
        date(2026, 9, 1),
        date(2026, 9, 15),
    ),
]


def utc_day_differs(moment: Moment) -> bool:
    """True where a server reading its UTC date would get the day wrong."""
    return moment.at.astimezone(ZoneInfo("UTC")).date() != moment.jakarta_day


def eighteenth_birthday_moments(birthday: date) -> tuple[datetime, datetime]:
    """23:30 WIB on the day before ``birthday`` (17 years old) and 00:30 WIB on it (18),
    which are the same UTC day."""
    eve = datetime.combine(birthday - timedelta(days=1), datetime.min.time(), tzinfo=WIB)
    return eve + timedelta(hours=23, minutes=30), eve + timedelta(hours=24, minutes=30)


def clock_environment(starts_at: datetime) -> dict[str, str]:
    """Settings that put every process of a test on the same shifted clock."""
    return {
        "SADAR_CLOCK_STARTS_AT": starts_at.isoformat(),
        "SADAR_CLOCK_ANCHOR": repr(time.time()),
    }
