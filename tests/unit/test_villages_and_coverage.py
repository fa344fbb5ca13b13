"""Pure village rules and coverage arithmetic (bot/domain/villages.py, coverage.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.coverage import ParticipantFacts, coverage
from bot.domain.payments import PaymentCalendar
from bot.domain.villages import RowProblem, name_key, village_from_row

CAL = PaymentCalendar(15, 3, frozenset({6, 7}), frozenset())
TODAY = date(2026, 11, 20)
KARANGLO = ("Karanglo", "Kerek", "Tuban")


@pytest.mark.parametrize(
    ("typed", "key"),
    [("Karanglo", "karanglo"), ("  desa  KARANGLO ", "karanglo"), ("Kel. Tanjung", "tanjung")],
)
def test_village_names_match_however_they_are_typed(typed: str, key: str) -> None:
    assert name_key(typed) == key


def test_village_rows_accept_thousands_separators_and_refuse_nonsense() -> None:
    row = {"name": "Karanglo", "district": "Kerek", "regency": "Tuban", "province": "Jawa Timur",
           "households": "1.524", "officials": "12"}  # fmt: skip
    assert village_from_row(row).households == 1524
    with pytest.raises(RowProblem, match="officials"):
        village_from_row({**row, "officials": "two"})


def person(paid_through: date | None, first: date = date(2026, 8, 1), official: bool = False,
           registered: date = date(2026, 8, 1)) -> ParticipantFacts:  # fmt: skip
    return ParticipantFacts(KARANGLO, first, paid_through, official, registered)


def test_coverage_counts_each_participant_once_per_figure() -> None:
    people = [
        person(date(2026, 11, 1), official=True),  # paid this month
        person(date(2026, 12, 1)),  # paid ahead
        person(date(2026, 9, 1)),  # owes October and November
        person(None),  # owes August to November: non-active
        person(None, first=date(2026, 11, 1), official=True, registered=date(2026, 11, 2)),
    ]
    (row,) = coverage([(KARANGLO, 10, 2)], people, TODAY, CAL)
    assert (row.participants, row.officials_enrolled) == (5, 2)
    assert (row.paid_this_month, row.in_arrears, row.non_active, row.new_this_month) == (2, 3, 1, 1)
    assert row.household_share == 0.5 and row.officials_share == 1.0
    assert row.meets(0.5) and not row.meets(0.6)


def test_a_registration_bpjs_does_not_know_yet_waits_for_its_kpj_and_owes_nothing() -> None:
    waiting = ParticipantFacts(KARANGLO, date(2026, 8, 1), None, False, date(2026, 8, 1),
                               contributing=False)  # fmt: skip
    (row,) = coverage([(KARANGLO, 10, 2)], [waiting, person(None)], TODAY, CAL)
    assert (row.participants, row.awaiting_kpj) == (2, 1)
    assert (row.in_arrears, row.non_active, row.paid_this_month) == (1, 1, 0)


def test_levels_aggregate_villages_without_double_counting() -> None:
    other = ("Sugihan", "Kerek", "Tuban")
    rows = coverage([(KARANGLO, 10, 2), (other, 20, 3)], [person(None)], TODAY, CAL, "regency")
    (tuban,) = rows
    assert (tuban.area, tuban.households, tuban.officials, tuban.participants) == (
        ("Tuban",),
        30,
        5,
        1,
    )


def test_participants_no_reminder_can_reach_are_counted_per_village() -> None:
    people = [
        person(None),
        ParticipantFacts(KARANGLO, date(2026, 11, 1), None, False, TODAY, reachable=False),
    ]
    (row,) = coverage([(KARANGLO, 10, 2)], people, TODAY, CAL)
    assert (row.participants, row.unreachable) == (2, 1)
