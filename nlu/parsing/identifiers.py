"""NIK (16 digits, spaces/dots/dashes allowed), Indonesian mobile numbers (to E.164) and
the codes Sadar itself hands out (participant references, receipts, tickets)."""

from __future__ import annotations

import re

from nlu.parsing.common import Found

_NIK = re.compile(r"(?<![\d+])\d(?:[ .\-]?\d){15}(?![\d])")
_PHONE = re.compile(r"(?<![\d])(?:\+62|62|0)[ .\-]?8\d(?:[ .\-]?\d){7,10}(?![\d])")

#: A participant's reference, "SDR-7K3M-9QXA" (bot/domain/registration.py makes them).
REFERENCE = re.compile(r"\bSDR-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
#: Each code's shape and the one word the intent classifier sees instead of it: its
#: random letters are noise, and must not tip "bayar SDR-… 3 bulan" towards another intent.
_CODE_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^SDR-[0-9A-Z]{4}-[0-9A-Z]{4}$"), "kodewarga"),
    (re.compile(r"^(?:KWT|JMP)-[0-9A-Z]{4}-[0-9A-Z]{4}$"), "kodekuitansi"),
    (re.compile(r"^T-\d{1,7}$"), "kodetiket"),
)


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


def code_word(token: str) -> str | None:
    """The stand-in word for a code Sadar hands out ("SDR-…", "KWT-…", "T-1042"), written
    in any case and with trailing punctuation; None for anything else."""
    bare = token.strip(".,;:!?()\"'").upper()
    return next((word for shape, word in _CODE_WORDS if shape.match(bare)), None)
