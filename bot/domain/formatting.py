"""How numbers are written for residents."""

from __future__ import annotations


def rupiah(amount: int) -> str:
    """Indonesian style: 1500000 -> 'Rp1.500.000'."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")
