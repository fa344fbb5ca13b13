"""Monthly contribution of a BPU participant, from the tariff data file.

Pure: no I/O beyond reading the packaged data file once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TARIFF_FILE = Path(__file__).resolve().parent / "data" / "bpu_tariff.toml"


@dataclass(frozen=True)
class Tariff:
    jkk_percent: float
    jkm_flat: int
    jht_percent: float
    jht_on_nominal: bool
    lowest_nominal: int
    highest_nominal: int
    bracket_width: int
    regulation: str
    effective_date: str

    def nominal_income(self, declared_income: int) -> int:
        """The bracket's nominal income on which JKK is computed."""
        if declared_income < 0:
            raise ValueError("income cannot be negative")
        if declared_income <= self.lowest_nominal:
            return self.lowest_nominal
        steps = -(-(declared_income - self.lowest_nominal) // self.bracket_width)
        return min(self.lowest_nominal + steps * self.bracket_width, self.highest_nominal)


@dataclass(frozen=True)
class Contribution:
    declared_income: int
    nominal_income: int
    jkk: int
    jkm: int
    jht: int  # 0 when JHT is not chosen

    @property
    def total(self) -> int:
        return self.jkk + self.jkm + self.jht

    @property
    def with_jht(self) -> bool:
        return self.jht > 0


@lru_cache(maxsize=1)
def load_tariff(path: Path = TARIFF_FILE) -> Tariff:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rates, brackets, source = data["rates"], data["brackets"], data["source"]
    return Tariff(
        jkk_percent=float(rates["jkk_percent_of_nominal"]),
        jkm_flat=int(rates["jkm_flat_rupiah"]),
        jht_percent=float(rates["jht_percent"]),
        jht_on_nominal=rates["jht_base"] == "nominal",
        lowest_nominal=int(brackets["lowest_nominal_rupiah"]),
        highest_nominal=int(brackets["highest_nominal_rupiah"]),
        bracket_width=int(brackets["width_rupiah"]),
        regulation=str(source["regulation"]),
        effective_date=str(source["effective_date"]),
    )


def _percent(amount: int, percent: float) -> int:
    return round(amount * percent / 100)


def monthly_contribution(
    declared_income: int, with_jht: bool, tariff: Tariff | None = None
) -> Contribution:
    tariff = tariff or load_tariff()
    nominal = tariff.nominal_income(declared_income)
    jht_base = nominal if tariff.jht_on_nominal else max(declared_income, tariff.lowest_nominal)
    return Contribution(
        declared_income=declared_income,
        nominal_income=nominal,
        jkk=_percent(nominal, tariff.jkk_percent),
        jkm=tariff.jkm_flat,
        jht=_percent(jht_base, tariff.jht_percent) if with_jht else 0,
    )
