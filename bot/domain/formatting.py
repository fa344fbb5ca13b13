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
