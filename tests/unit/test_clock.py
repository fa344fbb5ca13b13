"""The application clock: Indonesia's calendar day, whatever the server's zone."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.clock import (
    INDONESIA_TIME,
    Clock,
    FixedClock,
    ShiftedClock,
    clock_starting_at,
    local_date,
    start_of_day,
)
from bot.domain.registration import due_date, first_period
from bot.infra.settings import Settings
from tests.support.clock import CRITICAL_MOMENTS, WIB, Moment, utc_day_differs


@pytest.mark.parametrize("moment", CRITICAL_MOMENTS, ids=str)
def test_today_is_jakartas_day_at_every_critical_moment(moment: Moment) -> None:
    assert FixedClock(moment.at).today() == moment.jakarta_day


@pytest.mark.parametrize("moment", CRITICAL_MOMENTS, ids=str)
def test_first_month_and_its_due_date_follow_jakartas_day(moment: Moment) -> None:
    today = FixedClock(moment.at).today()
    assert first_period(today) == moment.first_period
    assert due_date(first_period(today)) == moment.first_due


def test_the_critical_moments_include_ones_where_the_utc_day_is_wrong() -> None:
    # Otherwise the dated runs could pass with a clock that reads the UTC date.
    assert sum(utc_day_differs(m) for m in CRITICAL_MOMENTS) >= 4


def test_15th_at_23_30_and_00_30_wib_are_the_same_utc_day_but_not_the_same_day_here() -> None:
    before = datetime(2027, 1, 15, 16, 30, tzinfo=UTC)  # 23:30 WIB on the 15th
    after = datetime(2027, 1, 15, 17, 30, tzinfo=UTC)  # 00:30 WIB on the 16th
    assert before.date() == after.date()
    assert local_date(before) == date(2027, 1, 15)
    assert local_date(after) == date(2027, 1, 16)


def test_local_date_in_the_participants_own_zone() -> None:
    instant = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 23:30 WIB, 00:30 WITA, 01:30 WIT
    from zoneinfo import ZoneInfo

    assert local_date(instant) == date(2026, 11, 20)
    assert local_date(instant, ZoneInfo("Asia/Makassar")) == date(2026, 11, 21)
    assert local_date(instant, ZoneInfo("Asia/Jayapura")) == date(2026, 11, 21)


def test_sqlite_naive_timestamps_are_read_as_utc() -> None:
    assert local_date(datetime(2026, 11, 30, 17, 30)) == date(2026, 12, 1)


def test_start_of_day_is_midnight_wib_in_utc() -> None:
    assert start_of_day(date(2026, 12, 1)) == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


def test_fixed_clock_stays_until_moved_and_is_always_utc() -> None:
    clock = FixedClock(datetime(2026, 12, 31, 23, 30, tzinfo=WIB))
    assert clock.now() == datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert clock.now().tzinfo == UTC
    clock.advance(timedelta(hours=1))
    assert clock.today() == date(2027, 1, 1)
    with pytest.raises(ValueError, match="time zone"):
        FixedClock(datetime(2026, 12, 31, 23, 30))


def test_shifted_clock_starts_at_the_given_instant_and_runs_on() -> None:
    start = datetime(2028, 2, 29, 23, 59, 59, tzinfo=WIB)
    anchor = time.time() - 2.0  # the clock showed ``start`` two seconds ago
    clock = ShiftedClock(start, anchor)
    shown = clock.now()
    assert start + timedelta(seconds=1.5) < shown < start + timedelta(seconds=30)
    assert clock.today() == date(2028, 3, 1)


def test_processes_with_the_same_anchor_agree() -> None:
    start, anchor = datetime(2026, 8, 17, 9, 0, tzinfo=WIB), time.time()
    first, second = ShiftedClock(start, anchor), ShiftedClock(start, anchor)
    assert abs((first.now() - second.now()).total_seconds()) < 0.5


def test_no_setting_means_the_machine_clock() -> None:
    clock = clock_starting_at(None)
    assert type(clock) is Clock
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5
    assert clock.today(INDONESIA_TIME) == datetime.now(INDONESIA_TIME).date()


def test_a_shifted_clock_is_refused_in_production_and_needs_a_zone() -> None:
    with pytest.raises(ValueError, match="SADAR_CLOCK_STARTS_AT"):
        Settings(_env_file=None, clock_starts_at="2026-12-15T23:30:00")
    production = {
        "env": "production",
        "pii_hash_key": "x" * 40,
        "pii_encryption_keys": "bm90LXRoZS1kZXYta2V5LW5vdC10aGUtZGV2LWtleS0=",
    }
    with pytest.raises(ValueError, match="unset it in production"):
        Settings(_env_file=None, clock_starts_at="2026-12-15T23:30:00+07:00", **production)
    shifted = Settings(_env_file=None, clock_starts_at="2026-12-15T23:30:00+07:00")
    assert shifted.clock_starts_at == datetime(2026, 12, 15, 23, 30, tzinfo=WIB)
