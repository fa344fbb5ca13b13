"""Who may see which residents in the operations console (issue 32, "scoped access").

The administrator sees everything; an operator account is limited to one regency or to a
set of villages, and every list, count and download the console shows is narrowed to that
scope. Pure: place names are compared as the rest of Sadar compares them (``name_key``,
with a regency's "Kabupaten"/"Kab." dropped as ``regency_label`` does), and the spellings a
stored name may have are listed here so the services can narrow rows in SQL.

A row whose kecamatan is not recorded (a ticket opened for a village named in chat, a
registration erased after its hand-over) belongs to a village scope by its village and
regency, as ticket routing matches agents (bot/services/handoff.py). A row whose regency
is not recorded belongs to no scope but everything."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote

from bot.domain.places import regency_label
from bot.domain.villages import name_key

#: A village as (village, district, regency).
Triple = tuple[str, str, str]

#: The words ``name_key`` drops in front of a village's (or a kecamatan's) name.
_PLACE_PREFIXES = ("desa", "kelurahan", "kel.", "ds.", "ds")
#: The words ``regency_label`` drops in front of a regency's name (a city keeps "kota").
_REGENCY_PREFIXES = ("kabupaten", "kab.", "kab")
_CITY_PREFIXES = ("kota adm.", "kota adm", "kota administrasi")

#: Query parameters whose values name no person (months, areas, sorting): kept in the
#: audit record. Any other parameter keeps its name only.
SAFE_QUERY_PARAMETERS = frozenset(
    {
        "month", "from", "to", "period", "level", "channel", "state", "kind", "sort",
        "order", "page", "village", "district", "regency", "format",
    }
)  # fmt: skip
MAX_AUDIT_PATH = 300


class OutsideScope(PermissionError):
    """The account asked for an area it may not see."""


def place_name_key(text: str) -> str:
    """A village's or a kecamatan's name as compared: 'Desa  Karanglo ' -> 'karanglo'."""
    return name_key(text)


def regency_key(text: str) -> str:
    """A regency's name as compared: 'Kabupaten Tuban', 'Kab. Tuban' and 'tuban' are one
    ('tuban'); a city keeps its kind ('kota surabaya')."""
    return name_key(regency_label(" ".join(text.split())))


def place_spellings(key: str) -> tuple[str, ...]:
    """The lower-case, trimmed names whose ``place_name_key`` is ``key``."""
    return (key, *(f"{prefix} {key}" for prefix in _PLACE_PREFIXES))


def regency_spellings(key: str) -> tuple[str, ...]:
    """The lower-case, trimmed names whose ``regency_key`` is ``key``."""
    if key.startswith("kota "):
        city = key.removeprefix("kota ")
        return (key, *(f"{prefix} {city}" for prefix in _CITY_PREFIXES))
    return (key, *(f"{prefix} {key}" for prefix in _REGENCY_PREFIXES))


def parse_village(text: str) -> Triple:
    """'Karanglo/Kerek/Tuban' -> ('Karanglo', 'Kerek', 'Tuban'); ValueError otherwise."""
    parts = [" ".join(part.split()) for part in text.split("/")]
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{text!r} is not a village written as Desa/Kecamatan/Kabupaten")
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class Scope:
    """What an account may see: everything (the administrator), one regency, or a set of
    villages."""

    regency: str | None = None
    #: (village, district, regency) as written in the village table.
    villages: frozenset[Triple] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.regency is not None and self.villages:
            raise ValueError("a scope is a regency or a set of villages, not both")
        if self.regency is not None and not regency_key(self.regency):
            raise ValueError("a regency needs a name")

    @property
    def everything(self) -> bool:
        return self.regency is None and not self.villages

    @property
    def regency_key(self) -> str | None:
        return regency_key(self.regency) if self.regency is not None else None

    @property
    def village_keys(self) -> frozenset[Triple]:
        """The villages as compared."""
        return frozenset(
            (place_name_key(v), place_name_key(d), regency_key(r)) for v, d, r in self.villages
        )

    def allows(self, village: str | None, district: str | None, regency: str | None) -> bool:
        """Whether a row of this area may be shown (module docstring: a missing kecamatan)."""
        if self.everything:
            return True
        if not regency or not regency.strip():
            return False
        if self.regency is not None:
            return regency_key(regency) == self.regency_key
        if not village or not village.strip():
            return False
        wanted = (place_name_key(village), regency_key(regency))
        return any(
            (v, r) == wanted and (not district or place_name_key(district) == d)
            for v, d, r in self.village_keys
        )

    def describe(self) -> str:
        """In Indonesian, for the console and the audit: 'semua wilayah', 'Kabupaten Tuban',
        'Kota Surabaya', 'Desa Karanglo (Kerek, Tuban)', '3 desa'."""
        if self.regency is not None:
            label = regency_label(" ".join(self.regency.split()))
            return label if label.lower().startswith("kota ") else f"Kabupaten {label}"
        if len(self.villages) == 1:
            ((village, district, regency),) = self.villages
            return f"Desa {village} ({district}, {regency_label(regency)})"
        if self.villages:
            return f"{len(self.villages)} desa"
        return "semua wilayah"


EVERYTHING = Scope()


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the administrator (operator_id None) or an operator."""

    operator_id: int | None
    name: str
    scope: Scope

    @property
    def is_administrator(self) -> bool:
        return self.operator_id is None


ADMINISTRATOR = Viewer(None, "administrator", EVERYTHING)


def audit_path(target: str) -> str:
    """A requested path as the audit keeps it: the query's values only for parameters that
    name no person (SAFE_QUERY_PARAMETERS); '/admin/x?month=2026-11&nik=3523…' ->
    '/admin/x?month=2026-11&nik=…'."""
    path, _, query = target.partition("?")
    kept = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        safe = name.lower() in SAFE_QUERY_PARAMETERS
        kept.append(f"{quote(name, safe='')}={quote(value, safe='') if safe else '…'}")
    written = path + ("?" + "&".join(kept) if kept else "")
    return written[:MAX_AUDIT_PATH]
