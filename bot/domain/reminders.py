"""The monthly reminder schedule: which reminder a participant gets on which day, and at
what moment of that day in their own time zone. Pure: the caller passes dates and state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.nik import provinces
from bot.domain.payments import (
    PaymentCalendar,
    add_months,
    months_between,
    next_unpaid_period,
    period_of,
)

DEFAULT_TIMEZONE = "Asia/Jakarta"


class ReminderKind(StrEnum):
    BEFORE_DUE = "before_due"
    ON_DUE = "on_due"
    AFTER_DUE = "after_due"
    #: Replaces AFTER_DUE when this unpaid month is the one that makes the membership lapse.
    NON_ACTIVE_WARNING = "non_active_warning"


class ReminderState(StrEnum):
    PLANNED = "planned"
    QUEUED = "queued"
    #: A worker took it; not yet handed to the platform (safe to retry after a crash).
    CLAIMED = "claimed"
    #: Being handed to the platform; after a crash nobody knows if it went (never retried).
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReminderPolicy:
    """Offsets and daytime window; every value is a setting (see bot/infra/settings.py)."""

    days_before_due: int = 3
    days_after_due: int = 3
    send_from: time = time(8, 0)
    send_until: time = time(20, 0)

    def day_of(self, kind: ReminderKind, period: date, calendar: PaymentCalendar) -> date:
        due = calendar.due_date(period)
        if kind is ReminderKind.BEFORE_DUE:
            return due - timedelta(days=self.days_before_due)
        if kind is ReminderKind.ON_DUE:
            return due
        return due + timedelta(days=self.days_after_due)


@dataclass(frozen=True)
class Occasion:
    """One (kind, period) whose reminder day is the day being planned."""

    kind: ReminderKind
    period: date


def occasions_on(day: date, calendar: PaymentCalendar, policy: ReminderPolicy) -> list[Occasion]:
    """Every reminder kind and period that falls on ``day`` (offsets may cross months)."""
    found = []
    for offset in (-1, 0, 1):
        period = add_months(period_of(day), offset)
        for kind in ReminderKind:
            if policy.day_of(kind, period, calendar) == day:
                found.append(Occasion(kind, period))
    return found


def months_owed_at(period: date, first_period: date, paid_through: date | None) -> int:
    """Unpaid months up to and including ``period`` (0 when it is paid or not yet started)."""
    if period < first_period:
        return 0
    return max(0, months_between(next_unpaid_period(first_period, paid_through), period) + 1)


def applies(
    occasion: Occasion, first_period: date, paid_through: date | None, months_for_lapse: int
) -> bool:
    """Whether this participant should get this reminder: never for a paid period; on the
    due date always while unpaid; before it while the membership is still active (fewer than
    ``months_for_lapse`` months overdue); after it while this month does not make it lapse,
    and the warning exactly when it does."""
    owed = months_owed_at(occasion.period, first_period, paid_through)
    if owed == 0:
        return False
    if occasion.kind is ReminderKind.ON_DUE:
        return True
    if occasion.kind is ReminderKind.BEFORE_DUE:
        return owed - 1 < months_for_lapse  # the months before this one that are overdue
    if occasion.kind is ReminderKind.NON_ACTIVE_WARNING:
        return owed == months_for_lapse
    return owed < months_for_lapse


def timezone_for(province_code: str) -> str:
    """WIB, WITA or WIT from the province (../shared/domain.md section 6)."""
    province = provinces().get(province_code)
    return province.timezone if province else DEFAULT_TIMEZONE


def send_moment(day: date, timezone: str, policy: ReminderPolicy) -> datetime:
    """The start of the day's sending window in the participant's zone, in UTC."""
    local = datetime.combine(day, policy.send_from, tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def next_send_moment(now: datetime, timezone: str, policy: ReminderPolicy) -> datetime:
    """``now`` if it is daytime for the participant, else the next window's start (UTC)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if policy.send_from <= local.time() < policy.send_until:
        return now
    day = local.date() if local.time() < policy.send_from else local.date() + timedelta(days=1)
    return send_moment(day, timezone, policy)
