"""Dates of birth as residents write them: '17-08-1980', '17/8/80', '17 agustus 1980',
'17 agt 80', 'tgl 17 bln 8 thn 1980', 'tanggal dua puluh satu april 1979', 'tujuh belas
agustus sembilan belas delapan puluh', 'lahir th 79 bulan april tgl 21' (labelled parts in
any order), 'April 21, 1979'. Values are ISO dates (YYYY-MM-DD).

A part given alone ('tahunnya 82', 'bulannya 9', 'tgl nya 5') is a ``DateParts``: it changes
that part of a date already given (``merge_date``). A label may carry the possessive of any
of the resident's languages, fused or apart: '-nya', Minang and Malay '-nyo' ('taunnyo 88'),
Sundanese and Bugis '-na' ('taunna 82'), Javanese '-e'/'-ne' ('tahune 82', 'tahun e 82')."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from nlu.parsing.common import Found, fold
from nlu.parsing.numbers import evaluate, number_word, year_from_words

MONTHS = {
    1: ["januari", "jan", "janu", "january", "janiari"],
    2: ["februari", "pebruari", "febuari", "feb", "peb", "febr", "february"],
    3: ["maret", "mar", "mrt", "march"],
    4: ["april", "apr", "april"],
    5: ["mei", "may"],
    6: ["juni", "jun", "june"],
    7: ["juli", "jul", "july"],
    8: ["agustus", "agus", "agu", "agt", "ags", "agst", "agts", "agustur", "august", "aug"],
    9: ["september", "sept", "sep", "spt", "september", "sepember"],
    10: ["oktober", "okt", "oct", "october"],
    11: ["november", "nopember", "nov", "nop"],
    12: ["desember", "des", "dec", "december", "dember"],
}
MONTH_BY_NAME = {name: number for number, names in MONTHS.items() for name in names}

#: Labels of a date's parts, bare: a possessive ending is read by ``_label`` ("tanggale",
#: "tglnya", "bulannyo", "taunna").
DAY_LABELS = frozenset({"tgl", "tanggal", "tg", "tang", "tangal"})
MONTH_LABELS = frozenset({"bln", "bulan", "bl", "sasi", "sasih", "wulan"})
YEAR_LABELS = frozenset({"thn", "tahun", "th", "tah", "taun", "thun"})
#: Possessive endings, fused with a label or written apart ("thn nya", "tahun e"): the part
#: is then said of a date already given. Indonesian "-nya", Minang and Malay "-nyo",
#: Sundanese and Bugis "-na", Javanese "-e" and "-ne", "-ku" and "-mu". Longest first.
POSSESSIVES = ("nya", "nyo", "na", "ne", "ku", "mu", "e")
#: Endings fused only with a label of three letters or more ("the" is no "th" + "-e").
_SHORT_POSSESSIVES = frozenset({"na", "ne", "ku", "mu", "e"})
#: What a labelled value may not be followed by: then it is money or an age, not a date part.
_NOT_A_DATE_PART = frozenset(
    {"jt", "juta", "jutaan", "rb", "ribu", "ribuan", "rebu", "k", "ewu", "yuta", "hari",
     "minggu", "orang", "kali", "x", "persen", "jam"}
)  # fmt: skip
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd"})
_FILLERS = frozenset({"lahir", "ke", "kelahiran", "yaitu", "adalah", "itu", *POSSESSIVES})
#: Between a part's label and its new value in a correction ("bulannya salah, harusnya 9",
#: "tahunnya yang bener 82"): skipped after a label, never read as the value.
_CORRECTION_BRIDGE = frozenset(
    {"salah", "keliru", "ralat", "harusnya", "seharusnya", "mestinya", "yang", "yg", "benar",
     "bener", "betul",
     "jadi", "tuh", "sih", "kak", "min", "ya", "sebenarnya", "aslinya", "ternyata"}
)  # fmt: skip

#: Words a message of labelled parts alone may also hold ("eh, taun 82 kak").
_ALONE = _FILLERS | _CORRECTION_BRIDGE | {"eh", "ehh", "maaf", "sori", "sorry"}

_NUMERIC = re.compile(r"(?<![\d])(\d{1,2})\s?([-/.])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})(?![\d])")
#: "16 10 1981": day, month and a four-digit year separated by spaces only; with a
#: two-digit year ("16 10 81") only when the three numbers are the whole message, since
#: spaced numbers elsewhere may be anything (an RT, an amount).
_SPACED = re.compile(r"(?<![\d])(\d{1,2})\s+(\d{1,2})\s+(\d{4})(?![\d])")
_SPACED_ALONE = re.compile(r"^\s*(\d{1,2})\s+(\d{1,2})\s+(\d{2})\s*$")
_ISO = re.compile(r"(?<![\d])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d])")
_TOKEN = re.compile(r"[a-z]+|\d+")


def full_year(two_or_four_digits: str, today: date) -> int:
    """A two-digit year takes the century that makes it not in the future (ages 0-100)."""
    year = int(two_or_four_digits)
    if len(two_or_four_digits) == 4:
        return year
    candidate = 2000 + year
    return candidate if candidate <= today.year else 1900 + year


def _resolve_year(year: int, digits: int, today: date) -> int:
    return full_year(f"{year:02d}" if digits == 2 else str(year), today)


def _make(day: int, month: int, year: int, two_digit: bool, today: date) -> date | None:
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    if two_digit and value > today and year >= 2000:
        return _make(day, month, year - 100, False, today)  # a birth date is never ahead
    return value


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class DateParts:
    """Parts of a date given by their labels ('tahunnya 82'); None where not given."""

    day: int | None
    month: int | None
    year: int | None
    start: int
    end: int
    #: Said as a reference to a date already given ('tahunnya', 'bulannya', 'tgl nya').
    referential: bool = False


def _tokens(folded: str) -> list[_Token]:
    return [_Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]


def _number_words(tokens: list[_Token], index: int) -> list[str]:
    words: list[str] = []
    while index + len(words) < len(tokens):
        word = tokens[index + len(words)].text
        if number_word(word) is None or word in ("koma", "setengah", "seprapat", "seperempat"):
            break
        words.append(word)
    return words


def _read_number(tokens: list[_Token], index: int, low: int, high: int) -> list[tuple[int, int]]:
    """Readings (value, tokens used) of a day or month at ``index``, longest first."""
    if index >= len(tokens):
        return []
    text = tokens[index].text
    if text.isdigit():
        value = int(text)
        return [(value, 1)] if len(text) <= 2 and low <= value <= high else []
    words = _number_words(tokens, index)
    readings = []
    for size in range(len(words), 0, -1):
        said = evaluate(words[:size])
        if said is not None and said == int(said) and low <= said <= high:
            readings.append((int(said), size))
    return readings


def _read_month(tokens: list[_Token], index: int, labelled: bool) -> list[tuple[int, int]]:
    if index < len(tokens) and tokens[index].text in MONTH_BY_NAME:
        return [(MONTH_BY_NAME[tokens[index].text], 1)]
    return _read_number(tokens, index, 1, 12) if labelled else []


def _read_year(tokens: list[_Token], index: int) -> tuple[int, bool, int] | None:
    """(year, said with two digits, tokens used) at ``index``."""
    if index >= len(tokens):
        return None
    text = tokens[index].text
    if text.isdigit():
        if len(text) == 4:
            return int(text), False, 1
        if len(text) == 2:
            return int(text), True, 1
        return None
    words = _number_words(tokens, index)
    for size in range(len(words), 0, -1):
        year = year_from_words(words[:size])
        if year is not None and (year < 100 or 1900 <= year <= 2100):
            return year, year < 100, size
    return None


def _label(word: str, labels: frozenset[str]) -> tuple[bool, bool]:
    """Whether ``word`` is one of ``labels``, and whether it carries a possessive ending
    ("tahunnya", "taunnyo", "bulanna", "tanggale"): then it speaks of a date already given."""
    if word in labels:
        return True, False
    for ending in POSSESSIVES:
        stem = word.removesuffix(ending)
        if stem != word and stem in labels and (len(stem) >= 3 or ending not in _SHORT_POSSESSIVES):
            return True, True
    return False, False


def _skip(tokens: list[_Token], index: int, labels: frozenset[str]) -> tuple[int, bool, bool]:
    """Past a part's label and fillers ('tgl', 'bulan', 'tahun lahir'); whether one was, and
    whether it carried a possessive ('tahunnya', 'thn nya', 'tahun e')."""
    labelled = referential = False
    while index < len(tokens):
        word = tokens[index].text
        is_label, possessive = _label(word, labels)
        if is_label:
            labelled, referential = True, referential or possessive
        elif labelled and (word in _FILLERS or word in _CORRECTION_BRIDGE):
            referential = referential or word in POSSESSIVES
        else:
            break
        index += 1
    return index, labelled, referential


def _date_at(tokens: list[_Token], index: int, today: date) -> tuple[date, int] | None:
    """A date starting at ``index`` ('[tgl] DAY [bln] MONTH [thn] YEAR' or 'MONTH DAY YEAR'),
    and the index after it."""
    at, _, _ = _skip(tokens, index, DAY_LABELS)
    for day, used in _read_number(tokens, at, 1, 31):
        after_day = at + used
        if after_day < len(tokens) and tokens[after_day].text in _ORDINAL_SUFFIXES:
            after_day += 1
        month_at, month_labelled, _ = _skip(tokens, after_day, MONTH_LABELS)
        for month, month_used in _read_month(tokens, month_at, month_labelled):
            year_at, _, _ = _skip(tokens, month_at + month_used, YEAR_LABELS)
            year = _read_year(tokens, year_at)
            if year is not None:
                full = _resolve_year(year[0], 2 if year[1] else 4, today)
                value = _make(day, month, full, year[1], today)
                if value is not None:
                    return value, year_at + year[2]
    # English order: "April 21, 1979"
    if index < len(tokens) and tokens[index].text in MONTH_BY_NAME:
        for day, used in _read_number(tokens, index + 1, 1, 31):
            after_day = index + 1 + used
            if after_day < len(tokens) and tokens[after_day].text in _ORDINAL_SUFFIXES:
                after_day += 1
            year = _read_year(tokens, after_day)
            if year is not None:
                month = MONTH_BY_NAME[tokens[index].text]
                full = _resolve_year(year[0], 2 if year[1] else 4, today)
                value = _make(day, month, full, year[1], today)
                if value is not None:
                    return value, after_day + year[2]
    return None


def find_date_parts(text: str, today: date) -> list[DateParts]:
    """Every labelled part of a date, each on its own ('bulannya 9', 'tahun 79', 'tgl 21').

    A part is said of a date already given (``referential``) when its label carries a
    possessive ('tahunnya 82', 'taunnyo 88', 'thn nya 82', 'tahun e 82') or when the message
    is nothing but labelled parts ('taun 82', 'salah, tahun 82 kak')."""
    folded = fold(text)
    tokens = _tokens(folded)
    parts: list[DateParts] = []
    index = 0
    while index < len(tokens):
        word = tokens[index].text
        found: DateParts | None = None
        for labels, kind in ((DAY_LABELS, "day"), (MONTH_LABELS, "month"), (YEAR_LABELS, "year")):
            if not _label(word, labels)[0]:
                continue
            at, _, referential = _skip(tokens, index, labels)
            year: tuple[int, bool, int] | None = None
            if kind == "year":
                year = _read_year(tokens, at)
                readings = [(year[0], year[2])] if year else []
            elif kind == "month":
                readings = _read_month(tokens, at, labelled=True)
            else:
                readings = _read_number(tokens, at, 1, 31)
            if not readings:
                continue
            value, used = readings[0]
            following = tokens[at + used].text if at + used < len(tokens) else ""
            if following in _NOT_A_DATE_PART:
                continue
            if kind == "year" and year is not None:
                value = _resolve_year(value, 2 if year[1] else 4, today)
            found = DateParts(
                day=value if kind == "day" else None,
                month=value if kind == "month" else None,
                year=value if kind == "year" else None,
                start=tokens[index].start,
                end=tokens[at + used - 1].end,
                referential=referential,
            )
            index = at + used
            break
        if found is not None:
            parts.append(found)
        else:
            index += 1
    if parts and all(
        t.text in _ALONE or any(p.start <= t.start < p.end for p in parts) for t in tokens
    ):  # "taun 82": the message only names parts, so it speaks of the date given
        parts = [replace(p, referential=True) for p in parts]
    return parts


def merge_date(previous: str | date, parts: list[DateParts]) -> str | None:
    """``previous`` with the parts given changed; None if that is no date."""
    base = previous if isinstance(previous, date) else date.fromisoformat(str(previous))
    day, month, year = base.day, base.month, base.year
    for part in parts:
        day, month, year = part.day or day, part.month or month, part.year or year
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def find_dates(text: str, today: date) -> list[Found]:
    """Dates written in any of the usual ways; ``today`` decides a two-digit year's century."""
    folded = fold(text)
    found: list[Found] = []

    def add(start: int, end: int, value: date | None) -> None:
        if value is None or any(f.start < end and start < f.end for f in found):
            return
        found.append(Found("date", value.isoformat(), start, end, text[start:end]))

    for match in _NUMERIC.finditer(folded):
        year_text = match.group(4)
        day, month = int(match.group(1)), int(match.group(3))
        value = _make(day, month, full_year(year_text, today), len(year_text) == 2, today)
        add(match.start(), match.end(), value)
    for match in (*_SPACED.finditer(folded), *_SPACED_ALONE.finditer(folded)):
        year_text = match.group(3)
        day, month = int(match.group(1)), int(match.group(2))
        value = _make(day, month, full_year(year_text, today), len(year_text) == 2, today)
        add(match.start(), match.end(), value)
    for match in _ISO.finditer(folded):
        value = _make(int(match.group(4)), int(match.group(3)), int(match.group(1)), False, today)
        add(match.start(), match.end(), value)
    tokens = _tokens(folded)
    index = 0
    while index < len(tokens):
        read = _date_at(tokens, index, today)
        if read is None:
            index += 1
            continue
        value, after = read
        add(tokens[index].start, tokens[after - 1].end, value)
        index = after
    # Labelled parts in any order: "lahir th 79 bulan april tgl 21"
    parts = [
        p
        for p in find_date_parts(text, today)
        if not any(f.start < p.end and p.start < f.end for f in found)
    ]
    days = [p for p in parts if p.day]
    months = [p for p in parts if p.month]
    years = [p for p in parts if p.year]
    if len(days) == len(months) == len(years) == 1:
        value = _make(days[0].day or 0, months[0].month or 0, years[0].year or 0, False, today)
        start = min(p.start for p in (*days, *months, *years))
        end = max(p.end for p in (*days, *months, *years))
        add(start, end, value)
    return sorted(found, key=lambda f: f.start)
