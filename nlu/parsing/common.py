from __future__ import annotations

import re
from dataclasses import dataclass

Value = str | int


@dataclass(frozen=True)
class Found:
    """One entity in a message: its type, normalised value and character span."""

    entity: str
    value: Value
    start: int
    end: int
    text: str
    #: For money: the period the amount is earned in ("day", "week", "month", "year").
    period: str | None = None


def overlaps(a: Found, b: Found) -> bool:
    return a.start < b.end and b.start < a.end


def fold(text: str) -> str:
    """Lower-case with the same length, so spans found in the folded text fit the original."""
    folded = text.lower()
    return folded if len(folded) == len(text) else text


WORD_BOUNDARY_LEFT = r"(?<![\w])"
WORD_BOUNDARY_RIGHT = r"(?![\w])"


def word_pattern(alternatives: list[str]) -> re.Pattern[str]:
    """Match any of the phrases as whole words, longest first."""
    escaped = sorted((re.escape(a) for a in alternatives), key=len, reverse=True)
    return re.compile(WORD_BOUNDARY_LEFT + "(" + "|".join(escaped) + ")" + WORD_BOUNDARY_RIGHT)
