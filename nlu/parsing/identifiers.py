"""NIK (16 digits, spaces/dots/dashes allowed) and Indonesian mobile numbers (to E.164)."""

from __future__ import annotations

import re

from nlu.parsing.common import Found

_NIK = re.compile(r"(?<![\d+])\d(?:[ .\-]?\d){15}(?![\d])")
_PHONE = re.compile(r"(?<![\d])(?:\+62|62|0)[ .\-]?8\d(?:[ .\-]?\d){7,10}(?![\d])")


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def find_niks(text: str) -> list[Found]:
    found = []
    for match in _NIK.finditer(text):
        value = digits(match.group())
        if len(value) == 16:
            found.append(Found("nik", value, match.start(), match.end(), match.group()))
    return found


def normalise_phone(raw: str) -> str | None:
    """'0812-3456-7890', '+62 812 3456 7890', '6281234567890' -> '+6281234567890'."""
    number = digits(raw)
    if number.startswith("0"):
        number = "62" + number[1:]
    if not number.startswith("628") or not 11 <= len(number) <= 14:
        return None
    return "+" + number


def find_phones(text: str) -> list[Found]:
    found = []
    for match in _PHONE.finditer(text):
        value = normalise_phone(match.group())
        if value is not None:
            found.append(Found("phone", value, match.start(), match.end(), match.group()))
    return found
