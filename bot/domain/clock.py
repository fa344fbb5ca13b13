"""The application's one clock, and which calendar day "today" is.

Servers run on UTC, but contribution rules, due dates and ages follow Indonesia's calendar:
between 17:00 and 24:00 UTC it is already tomorrow in Jakarta. So nothing in the domain,
the services or the actions asks the machine for the time: they receive a ``Clock`` (or
the instant it gave) from the edge, and turn an instant into a calendar day with
``local_date`` in the zone the rule names. Stored timestamps stay timezone-aware UTC.

Kept to the standard library and Python 3.10 syntax: the Rasa process imports it too.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

#: Western Indonesia Time (WIB, UTC+7): the calendar of contribution months, due dates,
#: ages and reports. Rules that follow the participant's own zone (quiet hours for
#: reminders) take the zone from the NIK's province instead.
INDONESIA_TIME = ZoneInfo("Asia/Jakarta")


class Clock:
    """The machine's clock, read in one place. Subclasses pin or shift it for tests and
    demos; callers see only ``now()`` (aware, UTC) and ``today()`` (a calendar day)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def today(self, zone: ZoneInfo = INDONESIA_TIME) -> date:
        return local_date(self.now(), zone)


class FixedClock(Clock):
    """Stands still at one instant until a test moves it."""

    def __init__(self, at: datetime) -> None:
        self._at = _require_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _require_utc(at)

    def advance(self, by: timedelta) -> None:
        self._at += by


class ShiftedClock(Clock):
    """Shows ``starts_at`` at the real instant ``anchor`` (Unix seconds; default: now) and
    runs at the real pace from there, like ``faketime``: whole processes (end-to-end tests,
    a training session) live on another day while timeouts, leases and expiries still pass.
    Processes given the same anchor agree on the time."""

    def __init__(self, starts_at: datetime, anchor: float | None = None) -> None:
        real = time.time() if anchor is None else anchor
        self._shift = _require_utc(starts_at) - datetime.fromtimestamp(real, timezone.utc)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._shift


def clock_starting_at(starts_at: datetime | None, anchor: float | None = None) -> Clock:
    """The machine's clock, or one shifted to ``starts_at`` (``SADAR_CLOCK_STARTS_AT``,
    ``SADAR_CLOCK_ANCHOR``)."""
    return Clock() if starts_at is None else ShiftedClock(starts_at, anchor)


def _require_utc(instant: datetime) -> datetime:
    """An aware instant in UTC; a naive one is refused rather than guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant.isoformat()} has no time zone; give an offset, e.g. +07:00")
    return instant.astimezone(timezone.utc)


def local_date(instant: datetime, zone: ZoneInfo = INDONESIA_TIME) -> date:
    """The calendar day ``instant`` falls on in ``zone`` (a naive instant is taken as UTC,
    as SQLite hands back what was stored in UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(zone).date()


def start_of_day(day: date, zone: ZoneInfo = INDONESIA_TIME) -> datetime:
    """The UTC instant ``day`` begins in ``zone``: the lower bound of "since the 1st"."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc)
