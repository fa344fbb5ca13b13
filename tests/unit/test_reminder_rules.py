"""The pure payment calendar and reminder schedule (bot/domain/payments.py, reminders.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.domain.payments import (
    ParticipantStatus,
    PaymentCalendar,
    add_months,
    cover,
    load_calendar,
    months_for_amount,
    standing,
)
from bot.domain.reminders import (
    Occasion,
    ReminderKind,
    ReminderPolicy,
    applies,
    months_owed_at,
    next_send_moment,
    occasions_on,
    send_moment,
    timezone_for,
)

CAL = PaymentCalendar(
    due_day=15,
    months_unpaid_for_non_active=3,
    non_working_weekdays=frozenset({6, 7}),
    holidays=frozenset({date(2026, 8, 17)}),
)
POLICY = ReminderPolicy(days_before_due=3, days_after_due=3)
NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)


@pytest.mark.parametrize(
    ("period", "due"),
    [
        (date(2026, 10, 1), date(2026, 10, 15)),  # Thursday
        (date(2026, 11, 1), date(2026, 11, 16)),  # 15th is a Sunday
        (date(2026, 8, 1), date(2026, 8, 18)),  # Saturday, then the 17th is a holiday
        (date(2027, 1, 1), date(2027, 1, 15)),
    ],
)
def test_due_dates_move_past_weekends_and_listed_holidays(period: date, due: date) -> None:
    assert CAL.due_date(period) == due


def test_the_shipped_calendar_is_data() -> None:
    calendar = load_calendar()
    assert calendar.due_day == 15 and calendar.months_unpaid_for_non_active == 3
    assert date(2026, 8, 17) in calendar.holidays


def test_months_wrap_across_years() -> None:
    assert add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert add_months(date(2027, 1, 1), -1) == date(2026, 12, 1)


def test_a_payment_covers_the_oldest_unpaid_months_and_can_pay_ahead() -> None:
    assert cover(NOV, None, 1) == (NOV, NOV)
    assert cover(NOV, NOV, 3) == (DEC, date(2027, 2, 1))
    with pytest.raises(ValueError, match="1 to 12"):
        cover(NOV, None, 13)


def test_amounts_must_be_whole_months() -> None:
    assert months_for_amount(50_400, 16_800) == 3
    with pytest.raises(ValueError, match="whole number"):
        months_for_amount(20_000, 16_800)


@pytest.mark.parametrize(
    ("paid_through", "today", "owed", "status"),
    [
        (None, date(2026, 11, 10), 0, ParticipantStatus.AWAITING_FIRST_PAYMENT),
        (None, date(2026, 11, 17), 1, ParticipantStatus.AWAITING_FIRST_PAYMENT),
        (NOV, date(2026, 12, 20), 1, ParticipantStatus.ACTIVE),
        (NOV, date(2027, 2, 1), 2, ParticipantStatus.ACTIVE),  # December and January
        (NOV, date(2027, 2, 16), 3, ParticipantStatus.NON_ACTIVE),  # February's due passed
        (date(2027, 4, 1), date(2027, 3, 16), 0, ParticipantStatus.ACTIVE),  # paid ahead
    ],
)
def test_arrears_and_status_follow_from_payments(
    paid_through: date | None, today: date, owed: int, status: ParticipantStatus
) -> None:
    result = standing(NOV, paid_through, today, CAL)
    assert (result.months_owed, result.status) == (owed, status)


def test_occasions_on_a_day() -> None:
    # November 2026 is due on Monday the 16th: before on the 13th, after on the 19th.
    assert occasions_on(date(2026, 11, 13), CAL, POLICY) == [Occasion(ReminderKind.BEFORE_DUE, NOV)]
    assert occasions_on(date(2026, 11, 16), CAL, POLICY) == [Occasion(ReminderKind.ON_DUE, NOV)]
    assert {o.kind for o in occasions_on(date(2026, 11, 19), CAL, POLICY)} == {
        ReminderKind.AFTER_DUE,
        ReminderKind.NON_ACTIVE_WARNING,
    }
    assert occasions_on(date(2026, 11, 20), CAL, POLICY) == []


def test_offsets_may_cross_into_the_previous_month() -> None:
    policy = ReminderPolicy(days_before_due=20)
    assert Occasion(ReminderKind.BEFORE_DUE, DEC) in occasions_on(date(2026, 11, 25), CAL, policy)


@pytest.mark.parametrize(
    ("kind", "paid_through", "expected"),
    [
        (ReminderKind.BEFORE_DUE, None, True),
        (ReminderKind.BEFORE_DUE, DEC, False),  # paid ahead: nothing for a paid month
        (ReminderKind.ON_DUE, date(2026, 8, 1), True),  # 4 months owed, still reminded monthly
        (ReminderKind.BEFORE_DUE, date(2026, 9, 1), True),  # 3 owed incl. December: last chance
        (ReminderKind.BEFORE_DUE, date(2026, 8, 1), False),  # already non-active
        (ReminderKind.AFTER_DUE, date(2026, 10, 1), True),  # 2 owed
        (ReminderKind.NON_ACTIVE_WARNING, date(2026, 10, 1), False),
        (ReminderKind.AFTER_DUE, date(2026, 9, 1), False),  # 3 owed: the warning instead
        (ReminderKind.NON_ACTIVE_WARNING, date(2026, 9, 1), True),
        (ReminderKind.NON_ACTIVE_WARNING, date(2026, 8, 1), False),  # warned last month
    ],
)
def test_which_reminders_apply(
    kind: ReminderKind, paid_through: date | None, expected: bool
) -> None:
    first = date(2026, 6, 1) if paid_through else DEC
    assert applies(Occasion(kind, DEC), first, paid_through, 3) is expected


def test_nothing_before_the_first_period() -> None:
    assert months_owed_at(NOV, DEC, None) == 0


def test_time_zones_follow_the_province() -> None:
    assert timezone_for("35") == "Asia/Jakarta"  # Jawa Timur, WIB
    assert timezone_for("51") == "Asia/Makassar"  # Bali, WITA
    assert timezone_for("91") == "Asia/Jayapura"  # Papua, WIT
    assert timezone_for("00") == "Asia/Jakarta"


def test_reminders_go_out_at_eight_local_time_in_each_zone() -> None:
    day = date(2026, 11, 13)
    assert send_moment(day, "Asia/Jakarta", POLICY) == datetime(2026, 11, 13, 1, 0, tzinfo=UTC)
    assert send_moment(day, "Asia/Makassar", POLICY) == datetime(2026, 11, 13, 0, 0, tzinfo=UTC)
    assert send_moment(day, "Asia/Jayapura", POLICY) == datetime(2026, 11, 12, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        # 12:00 UTC is 19:00 WIB (daytime) but 21:00 WIT (night): wait for 08:00 WIT.
        (datetime(2026, 11, 13, 12, 0, tzinfo=UTC), "Asia/Jakarta", None),
        (
            datetime(2026, 11, 13, 12, 0, tzinfo=UTC),
            "Asia/Jayapura",
            datetime(2026, 11, 13, 23, 0, tzinfo=UTC),
        ),
        # 22:30 UTC is 05:30 WIB next day: wait until 08:00 WIB that day.
        (
            datetime(2026, 11, 13, 22, 30, tzinfo=UTC),
            "Asia/Jakarta",
            datetime(2026, 11, 14, 1, 0, tzinfo=UTC),
        ),
    ],
)
def test_quiet_hours_across_time_zones(now: datetime, zone: str, expected: datetime | None) -> None:
    assert next_send_moment(now, zone, POLICY) == (expected or now)


def test_the_window_edges() -> None:
    policy = ReminderPolicy(send_from=time(8), send_until=time(20))
    at_eight = datetime(2026, 11, 13, 1, 0, tzinfo=UTC)  # 08:00 WIB
    at_twenty = datetime(2026, 11, 13, 13, 0, tzinfo=UTC)  # 20:00 WIB
    assert next_send_moment(at_eight, "Asia/Jakarta", policy) == at_eight
    assert next_send_moment(at_twenty, "Asia/Jakarta", policy) > at_twenty
