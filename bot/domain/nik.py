"""NIK (Nomor Induk Kependudukan) structure: PP KK CC DDMMYY SSSS.

Province, regency and district codes, the birth date (day + 40 for women) and a serial.
There is no check digit: only Dukcapil can confirm that a NIK exists, so these rules catch
typing mistakes, not fraud."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

PROVINCES_FILE = Path(__file__).resolve().parent / "data" / "provinces.toml"
FEMALE_DAY_OFFSET = 40


class Sex(StrEnum):
    MALE = "L"
    FEMALE = "P"


class NikProblem(StrEnum):
    """Why a NIK was refused; each maps to a reply telling the resident what to send."""

    LENGTH = "length"
    PROVINCE = "province"
    BIRTH_DATE = "birth_date"


class InvalidNik(ValueError):
    def __init__(self, problem: NikProblem, detail: str):
        super().__init__(detail)
        self.problem = problem


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    timezone: str


@dataclass(frozen=True)
class Nik:
    value: str
    province: Province
    regency_code: str  # PPKK
    district_code: str  # PPKKCC
    birth_date: date
    sex: Sex


@lru_cache(maxsize=1)
def provinces() -> dict[str, Province]:
    data = tomllib.loads(PROVINCES_FILE.read_text(encoding="utf-8"))["provinces"]
    return {code: Province(code, p["name"], p["tz"]) for code, p in data.items()}


def _birth_date(day: int, month: int, two_digit_year: int, today: date) -> date:
    """The century that makes the person between 0 and 100 years old (never born later
    than today)."""
    recent = date(2000 + two_digit_year, month, day)
    return recent if recent <= today else date(1900 + two_digit_year, month, day)


def parse_nik(raw: str, today: date) -> Nik:
    """Validate the structure of a NIK given as digits (spaces, dots, dashes allowed);
    ``today`` decides the century of the encoded two-digit birth year."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) != 16 or any(ch not in "0123456789 .-" for ch in raw.strip()):
        raise InvalidNik(NikProblem.LENGTH, f"a NIK has 16 digits, got {len(digits)}")
    province = provinces().get(digits[:2])
    if province is None:
        raise InvalidNik(NikProblem.PROVINCE, f"unknown province code {digits[:2]}")
    day, month, year = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    sex = Sex.MALE
    if day > FEMALE_DAY_OFFSET:
        sex, day = Sex.FEMALE, day - FEMALE_DAY_OFFSET
    try:
        birth_date = _birth_date(day, month, year, today)
    except ValueError as error:
        raise InvalidNik(NikProblem.BIRTH_DATE, "the encoded birth date is not a date") from error
    return Nik(
        value=digits,
        province=province,
        regency_code=digits[:4],
        district_code=digits[:6],
        birth_date=birth_date,
        sex=sex,
    )
