"""Villages and their figures, as imported from CSV, and how free-text village names are
matched. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

VILLAGE_COLUMNS = ("name", "district", "regency", "province", "households", "officials")


def name_key(text: str) -> str:
    """'  Desa  KARANGLO ' -> 'karanglo': how a typed village name is compared."""
    words = text.strip().lower().split()
    if words and words[0] in ("desa", "kelurahan", "kel.", "ds.", "ds"):
        words = words[1:]
    return " ".join(words)


class HasArea(Protocol):
    @property
    def village(self) -> str: ...
    @property
    def district(self) -> str: ...
    @property
    def regency(self) -> str: ...


def area_key(place: HasArea) -> tuple[str, str, str]:
    """Village, district and regency as compared: a participant belongs to the agent of the
    village whose key is theirs."""
    return name_key(place.village), name_key(place.district), name_key(place.regency)


class RowProblem(ValueError):
    """A CSV row that cannot be imported; the message says what to fix, in English for
    the operator running the import."""


@dataclass(frozen=True)
class VillageRecord:
    name: str
    district: str
    regency: str
    province: str
    households: int
    officials: int

    @property
    def key(self) -> tuple[str, str, str]:
        return name_key(self.name), name_key(self.district), name_key(self.regency)


def _count(row: dict[str, str], column: str) -> int:
    raw = (row.get(column) or "").strip().replace(".", "").replace(",", "")
    if not raw.isdigit():
        raise RowProblem(f"{column} must be a whole number, got {row.get(column)!r}")
    return int(raw)


def village_from_row(row: dict[str, str]) -> VillageRecord:
    missing = [
        c for c in ("name", "district", "regency", "province") if not (row.get(c) or "").strip()
    ]
    if missing:
        raise RowProblem(f"missing {', '.join(missing)}")
    households, officials = _count(row, "households"), _count(row, "officials")
    if officials > households:
        raise RowProblem(f"officials ({officials}) exceed households ({households})")
    return VillageRecord(
        name=" ".join(row["name"].split()),
        district=" ".join(row["district"].split()),
        regency=" ".join(row["regency"].split()),
        province=" ".join(row["province"].split()),
        households=households,
        officials=officials,
    )
