"""Occupations (canonical list with synonyms and regional words) and village names, read
from the CSV files in nlu/lookups/. The village file is the seed of the village table."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nlu.parsing.common import Found, fold, word_pattern

LOOKUP_DIR = Path(__file__).resolve().parent.parent / "lookups"


@dataclass(frozen=True)
class Occupation:
    code: str
    label: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class Village:
    name: str
    district: str
    regency: str
    province: str
    regency_code: str  # first four NIK digits of people living there


@lru_cache(maxsize=1)
def occupations() -> tuple[Occupation, ...]:
    with (LOOKUP_DIR / "occupations.csv").open(encoding="utf-8") as f:
        return tuple(
            Occupation(
                row["code"], row["label"], tuple(s.strip() for s in row["synonyms"].split("|"))
            )
            for row in csv.DictReader(f)
        )


@lru_cache(maxsize=1)
def villages() -> tuple[Village, ...]:
    with (LOOKUP_DIR / "villages.csv").open(encoding="utf-8") as f:
        return tuple(
            Village(
                row["name"], row["district"], row["regency"], row["province"], row["regency_code"]
            )
            for row in csv.DictReader(f)
        )


@dataclass(frozen=True)
class PhraseIndex:
    """Phrases (lower-case) mapped to a canonical value, and one pattern matching them all."""

    entity: str
    by_phrase: dict[str, str]
    pattern: re.Pattern[str]

    @classmethod
    def build(cls, entity: str, by_phrase: dict[str, str]) -> PhraseIndex:
        return cls(entity, by_phrase, word_pattern(list(by_phrase)))

    def find(self, text: str) -> list[Found]:
        return [
            Found(
                self.entity,
                self.by_phrase[m.group(1)],
                m.start(),
                m.end(),
                text[m.start() : m.end()],
            )
            for m in self.pattern.finditer(fold(text))
        ]


@lru_cache(maxsize=1)
def _occupation_index() -> PhraseIndex:
    return PhraseIndex.build(
        "occupation",
        {
            synonym.lower(): occupation.code
            for occupation in occupations()
            for synonym in (*occupation.synonyms, occupation.code.replace("_", " "))
        },
    )


@lru_cache(maxsize=1)
def _village_index() -> PhraseIndex:
    return PhraseIndex.build("village", {v.name.lower(): v.name for v in villages()})


def find_occupations(text: str) -> list[Found]:
    return _occupation_index().find(text)


def find_villages(text: str) -> list[Found]:
    return _village_index().find(text)


def closest_occupation(text: str, cutoff: float = 0.8) -> str | None:
    """The canonical code whose synonym is closest to ``text`` ('nelayn' -> 'nelayan')."""
    import difflib

    index = _occupation_index()
    found = index.find(text)
    if found:
        return str(found[0].value)
    phrases = list(index.by_phrase)
    match = difflib.get_close_matches(fold(text).strip(), phrases, n=1, cutoff=cutoff)
    return index.by_phrase[match[0]] if match else None


def village_by_name(name: str) -> Village | None:
    wanted = fold(name).strip()
    return next((v for v in villages() if v.name.lower() == wanted), None)


def villages_in_regency(regency_code: str) -> list[Village]:
    """Known villages of the regency a NIK was issued in (its first four digits)."""
    return [v for v in villages() if v.regency_code == regency_code]


def occupation_label(code: str) -> str:
    return next((o.label for o in occupations() if o.code == code), code)
