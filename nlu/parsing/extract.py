"""All entities of one message, overlaps resolved by how specific each parser is."""

from __future__ import annotations

from datetime import date

from nlu.parsing.common import Found, overlaps
from nlu.parsing.dates import find_dates
from nlu.parsing.identifiers import find_niks, find_phones
from nlu.parsing.lookups import find_occupations, find_villages
from nlu.parsing.money import find_money

ENTITY_TYPES = ("nik", "phone", "date", "money", "occupation", "village")


def extract_entities(text: str, today: date) -> list[Found]:
    """NIK before phone before date before money: a 16-digit NIK also looks like a number."""
    candidates = [
        *find_niks(text),
        *find_phones(text),
        *find_dates(text, today),
        *find_money(text),
        *find_villages(text),
        *find_occupations(text),
    ]
    kept: list[Found] = []
    for candidate in candidates:
        if not any(overlaps(candidate, k) for k in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda f: f.start)
