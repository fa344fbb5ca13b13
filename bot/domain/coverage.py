"""Village coverage against the Desa Sadar targets: how many residents and officials are
participants, and how they pay. Pure: callers pass one ``ParticipantFacts`` per participant.

Targets (../shared/domain.md section 5): the key criterion of a Desa Sadar village is that
the head and all officials are enrolled; villages also set household targets (Karanglo: 50%
of its households). A household target is a setting per report, not a fixed rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from bot.domain.payments import ParticipantStatus, PaymentCalendar, period_of, standing


@dataclass(frozen=True)
class ParticipantFacts:
    area: tuple[str, str, str]  # village, district, regency as shown
    first_period: date
    paid_through: date | None
    is_official: bool
    registered_on: date
    #: Sadar knows a chat address reminders can reach (Telegram or WhatsApp).
    reachable: bool = True
    #: BPJS Ketenagakerjaan knows them (bot.domain.submissions.owes_contributions): until
    #: then they wait for their KPJ number and owe nothing.
    contributing: bool = True


@dataclass
class Coverage:
    area: tuple[str, ...]
    households: int = 0
    officials: int = 0
    participants: int = 0
    officials_enrolled: int = 0
    paid_this_month: int = 0
    in_arrears: int = 0
    non_active: int = 0
    new_this_month: int = 0
    #: Registered in Sadar, not yet known to BPJS Ketenagakerjaan (no KPJ number yet).
    awaiting_kpj: int = 0
    #: Participants no reminder can reach (e.g. registered in the web chat): agents follow up.
    unreachable: int = 0
    villages: set[tuple[str, str, str]] = field(default_factory=set)

    @property
    def household_share(self) -> float | None:
        """Participants per household: one participant per household counts as 100%."""
        return self.participants / self.households if self.households else None

    @property
    def officials_share(self) -> float | None:
        return self.officials_enrolled / self.officials if self.officials else None

    def meets(self, household_target: float) -> bool:
        """Desa Sadar: every official enrolled, and the household target reached."""
        return (
            self.officials > 0
            and self.officials_enrolled >= self.officials
            and (self.household_share or 0) >= household_target
        )


def coverage(
    villages: Iterable[tuple[tuple[str, str, str], int, int]],
    participants: Iterable[ParticipantFacts],
    today: date,
    calendar: PaymentCalendar,
    level: str = "village",
) -> list[Coverage]:
    """Figures per village, district or regency (``level``), sorted by area.

    ``villages``: (area, households, officials); participants in areas with no village
    record still count, with no households or officials to compare against."""
    depth = {"village": 3, "district": 2, "regency": 1}[level]

    def bucket(area: tuple[str, str, str]) -> tuple[str, ...]:
        village, district, regency = area
        return (regency, district, village)[:depth]

    rows: dict[tuple[str, ...], Coverage] = {}

    def row(area: tuple[str, str, str]) -> Coverage:
        key = bucket(area)
        if key not in rows:
            rows[key] = Coverage(area=key)
        return rows[key]

    for area, households, officials in villages:
        target = row(area)
        if area not in target.villages:
            target.villages.add(area)
            target.households += households
            target.officials += officials
    this_month = period_of(today)
    for person in participants:
        target = row(person.area)
        target.participants += 1
        target.officials_enrolled += person.is_official
        target.new_this_month += period_of(person.registered_on) == this_month
        target.unreachable += not person.reachable
        if not person.contributing:
            target.awaiting_kpj += 1
            continue
        state = standing(person.first_period, person.paid_through, today, calendar)
        target.paid_this_month += bool(person.paid_through and person.paid_through >= this_month)
        target.in_arrears += state.months_owed > 0
        target.non_active += state.status is ParticipantStatus.NON_ACTIVE
    return [rows[key] for key in sorted(rows)]
