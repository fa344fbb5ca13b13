"""Dates of birth as residents write them: '17-08-1980', '17/8/80', '17 agustus 1980',
'17 agt 80', 'tgl 17 bln 8 thn 1980'. Values are ISO dates (YYYY-MM-DD)."""

from __future__ import annotations

import re
from datetime import date

from nlu.parsing.common import Found, fold

MONTHS = {
    1: ["januari", "jan", "janu"],
    2: ["februari", "pebruari", "feb", "peb", "febr"],
    3: ["maret", "mar", "mrt"],
    4: ["april", "apr"],
    5: ["mei"],
    6: ["juni", "jun"],
    7: ["juli", "jul"],
    8: ["agustus", "agus", "agu", "agt", "ags", "agst", "agts"],
    9: ["september", "sept", "sep", "spt"],
    10: ["oktober", "okt", "oct"],
    11: ["november", "nopember", "nov", "nop"],
    12: ["desember", "des", "dec"],
}
MONTH_BY_NAME = {name: number for number, names in MONTHS.items() for name in names}
_MONTH_NAMES = "|".join(sorted(MONTH_BY_NAME, key=len, reverse=True))

_NUMERIC = re.compile(r"(?<![\d])(\d{1,2})\s?([-/.])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})(?![\d])")
_WORDS = re.compile(
    rf"(?<![\w])(\d{{1,2}})[\s\-/.]*({_MONTH_NAMES})\.?[\s\-/.,]*'?(\d{{4}}|\d{{2}})(?![\d])"
)
_LABELLED = re.compile(
    rf"(?<![\w])(?:tgl|tanggal|tg)\.?\s*(\d{{1,2}})[\s,]*(?:bln|bulan|bl)\.?\s*(\d{{1,2}}|{_MONTH_NAMES})"
    rf"[\s,]*(?:thn|tahun|th|tah)\.?\s*(\d{{4}}|\d{{2}})(?![\d])"
)


def full_year(two_or_four_digits: str, today: date) -> int:
    """A two-digit year takes the century that makes it not in the future (ages 0-100)."""
    year = int(two_or_four_digits)
    if len(two_or_four_digits) == 4:
        return year
    candidate = 2000 + year
    return candidate if candidate <= today.year else 1900 + year


def _make(day: str, month: int, year: int) -> date | None:
    try:
        return date(year, month, int(day))
    except ValueError:
        return None


def find_dates(text: str, today: date) -> list[Found]:
    """Dates written in any of the usual ways; ``today`` decides a two-digit year's century."""
    folded = fold(text)
    found: list[Found] = []

    def add(match: re.Match[str], day: str, month: int, year_text: str) -> None:
        if any(f.start < match.end() and match.start() < f.end for f in found):
            return
        value = _make(day, month, full_year(year_text, today))
        if value is not None:
            found.append(
                Found(
                    "date",
                    value.isoformat(),
                    match.start(),
                    match.end(),
                    text[match.start() : match.end()],
                )
            )

    for match in _LABELLED.finditer(folded):
        month_text = match.group(2)
        month = int(month_text) if month_text.isdigit() else MONTH_BY_NAME[month_text]
        add(match, match.group(1), month, match.group(3))
    for match in _WORDS.finditer(folded):
        add(match, match.group(1), MONTH_BY_NAME[match.group(2)], match.group(3))
    for match in _NUMERIC.finditer(folded):
        add(match, match.group(1), int(match.group(3)), match.group(4))
    return sorted(found, key=lambda f: f.start)
