"""How numbers are written for residents."""

from __future__ import annotations

from datetime import date


def rupiah(amount: int) -> str:
    """Indonesian style: 1500000 -> 'Rp1.500.000'."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")


def tanggal(day: date) -> str:
    """Dates as residents write them: 2026-12-15 -> '15-12-2026'."""
    return day.strftime("%d-%m-%Y")


def programmes(with_jht: bool) -> str:
    return "JKK + JKM + JHT" if with_jht else "JKK + JKM"


MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip


def bulan(period: date) -> str:
    """A contribution month: 2026-11-01 -> 'November 2026'."""
    return f"{MONTHS[period.month - 1]} {period.year}"


def bulan_range(first: date, last: date) -> str:
    """'November 2026' or 'September-November 2026' or 'Desember 2026-Februari 2027'."""
    if first == last:
        return bulan(first)
    if first.year == last.year:
        return f"{MONTHS[first.month - 1]}-{bulan(last)}"
    return f"{bulan(first)}-{bulan(last)}"


def percent(share: float | None) -> str:
    """A share as people read it: 0.456 -> '46%'; None (nothing to divide by) -> '-'."""
    return "-" if share is None else f"{share:.0%}"
