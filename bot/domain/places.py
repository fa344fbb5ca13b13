"""Indonesia's register of regions (Kemendagri codes): provinces, regencies and cities,
kecamatan, and every desa/kelurahan. Pure: the codes and names are handed in by the loader
(bot/infra/region_register.py), so the rules here are tested on a handful of places.

A code is dotted: "35" (Jawa Timur), "35.23" (Kabupaten Tuban), "35.23.16" (Kecamatan Tuban),
"35.23.16.2001" (Desa Sumurgung). A NIK's first six digits are its kecamatan's code
without the dots ("352316"): where the card was issued.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

PROVINCE_CODE = 2
REGENCY_CODE = 5
DISTRICT_CODE = 8


def place_key(text: str) -> str:
    """How a place name is compared: lower case, ASCII, no spaces or punctuation, the old
    'oe' read as 'u' ('Sumur-Gung', 'sumur gung' and 'Soemoergoeng' share 'sumurgung')."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", folded.replace("oe", "u"))


def regency_short_name(name: str) -> str:
    """'Kabupaten Tuban' -> 'Tuban'; 'Kota Adm. Jakarta Pusat' -> 'Jakarta Pusat'."""
    prefix = r"^(?:kabupaten|kab\.?|kota(?:\s+adm(?:inistrasi)?\.?)?)\s+"
    return re.sub(prefix, "", name, flags=re.I)


def regency_label(name: str) -> str:
    """How Sadar stores a regency: 'Kabupaten Tuban' -> 'Tuban' (as the operator's village
    table writes it), while a city keeps its kind ('Kota Surabaya')."""
    short = regency_short_name(name)
    # "Kota Bogor" is a city; "Kotawaringin Barat" and "Kotabaru" are regencies.
    return f"Kota {short}" if re.match(r"kota(?:\s|$)", name.strip(), re.I) else short


def regency_display(name: str) -> str:
    """How a regency is written in a message: 'Kab. Tuban', 'Kota Surabaya'."""
    label = regency_label(name)
    return label if label.startswith("Kota ") else f"Kab. {label}"


def is_kelurahan_code(code: str) -> bool:
    """Kemendagri numbers kelurahan 1xxx and desa 2xxx within a kecamatan."""
    return code[DISTRICT_CODE + 1 : DISTRICT_CODE + 2] == "1"


def nik_district_code(nik: str) -> str | None:
    """The dotted kecamatan code a NIK was issued in ('3523160101800001' -> '35.23.16')."""
    digits = re.sub(r"\D", "", nik)
    if len(digits) < 6:
        return None
    return f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}"


@dataclass(frozen=True)
class Place:
    """A desa or kelurahan with the names of the areas it lies in."""

    code: str
    name: str
    district: str
    regency: str
    province: str

    @property
    def district_code(self) -> str:
        return self.code[:DISTRICT_CODE]

    @property
    def regency_code(self) -> str:
        return self.code[:REGENCY_CODE]

    @property
    def label(self) -> str:
        """How it is offered on a button: 'Sumurgung, Kec. Tuban, Kab. Tuban'."""
        return f"{self.name}, Kec. {self.district}, {regency_display(self.regency)}"


@dataclass(frozen=True)
class Area:
    """A kecamatan, regency or province of the register."""

    code: str
    name: str


class PlaceRegister:
    """The register, indexed by name key. Built once per process (about 91,000 names)."""

    def __init__(self, areas: Mapping[str, str], villages: Mapping[str, str], source: str):
        #: Province, regency and kecamatan names by code.
        self._areas = dict(areas)
        #: Desa/kelurahan names by code.
        self._villages = dict(villages)
        #: Where the data comes from (decree, package, date), for docs and the CLI.
        self.source = source

    def __len__(self) -> int:
        return len(self._villages)

    @cached_property
    def _village_keys(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for code, name in self._villages.items():
            for key in _keys_of(name):
                index[key].append(code)
        return dict(index)

    @cached_property
    def _district_keys(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for code, name in self._areas.items():
            if len(code) == DISTRICT_CODE:
                for key in _keys_of(name):
                    index[key].append(code)
        return dict(index)

    @cached_property
    def _regency_keys(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for code, name in self._areas.items():
            if len(code) == REGENCY_CODE:
                for key in {place_key(name), place_key(regency_short_name(name))}:
                    index[key].append(code)
        return dict(index)

    @cached_property
    def _villages_by_district(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for code in self._villages:
            index[code[:DISTRICT_CODE]].append(code)
        return dict(index)

    def place(self, code: str) -> Place | None:
        name = self._villages.get(code)
        if name is None:
            return None
        return Place(
            code=code,
            name=name,
            district=self._areas.get(code[:DISTRICT_CODE], ""),
            regency=self._areas.get(code[:REGENCY_CODE], ""),
            province=self._areas.get(code[:PROVINCE_CODE], ""),
        )

    def villages_named(self, key: str) -> list[str]:
        """Codes of the desa/kelurahan whose name has this key."""
        return list(self._village_keys.get(key, ()))

    def districts_named(self, key: str) -> list[str]:
        return list(self._district_keys.get(key, ()))

    def regencies_named(self, key: str) -> list[str]:
        return list(self._regency_keys.get(key, ()))

    def village_codes_in(self, area_code: str) -> list[str]:
        """Every desa/kelurahan code inside a kecamatan, regency or province."""
        if len(area_code) == DISTRICT_CODE:
            return list(self._villages_by_district.get(area_code, ()))
        return [
            code
            for district, codes in self._villages_by_district.items()
            if district.startswith(area_code + ".")
            for code in codes
        ]

    @cached_property
    def village_keys(self) -> tuple[str, ...]:
        """Every village name key, once: what a typo is compared with."""
        return tuple(self._village_keys)

    @cached_property
    def district_keys(self) -> tuple[str, ...]:
        return tuple(self._district_keys)

    def area(self, code: str) -> Area | None:
        name = self._areas.get(code)
        return Area(code, name) if name is not None else None


def _keys_of(name: str) -> set[str]:
    """A name's keys: the name, and for 'Glagah (Glagga)' also each part."""
    keys = {place_key(name)}
    inside = re.findall(r"\(([^)]*)\)", name)
    if inside:
        keys.add(place_key(re.sub(r"\([^)]*\)", "", name)))
        keys.update(place_key(part) for part in inside)
    return {key for key in keys if key}
