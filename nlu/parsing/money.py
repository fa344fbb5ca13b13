"""Amounts of rupiah as residents write them: '1,5 juta', '1.500.000', '1.5jt', '500rb',
'sejuta', 'dua setengah juta', 'Rp 2 jt', 'gaji 2000000', 'satu koma dua juta', 'dua jutaan',
'sekitar 1jt an', '1 juta 700'. Values are integer rupiah; approximations ('-an', 'sekitar',
'kira2', '±', Sundanese 'kinten-kinten', 'sakitar', Javanese 'kurang luwih', 'udakara') are
read as the figure itself. Each amount carries the period it is earned in: 'sehari 80 rb',
'300 ribuan seminggu', 'harian 80rb', 'saminggu 400 rebu', 'sapoe 80rb' are not monthly
figures. A period is a unit (hari, poe, dinten, minggu, bulan, sasih, taun …) after 'per',
'tiap', '/' …, or fused with a prefix (se-, sa-, sak-, sa'-, per-) or with '-an'."""

from __future__ import annotations

import re

from nlu.parsing.common import Found, fold
from nlu.parsing.numbers import (
    DECIMAL_POINT,
    LARGE_MULTIPLIERS,
    SMALL_MULTIPLIERS,
    Token,
    evaluate,
    number_word,
)

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+|/")
_GROUPED = re.compile(r"^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")
#: '1.750.000,00' and '1,750,000.00': grouped thousands with cents.
_WITH_CENTS = re.compile(r"^(\d{1,3}(?:([.,])\d{3})+)(?!\2)[.,](\d{1,2})$")
UNIT_ALIASES = {
    "jt": "juta",
    "jta": "juta",
    "juta": "juta",
    "jutaan": "juta",
    "jtan": "juta",
    "jutah": "juta",
    "jeti": "juta",
    "rb": "ribu",
    "rbu": "ribu",
    "rbuan": "ribu",
    "rban": "ribu",
    "ribu": "ribu",
    "ribuan": "ribu",
    "rebu": "ribu",
    "rebuan": "ribu",
    "k": "ribu",
    "ewu": "ewu",
    "yuta": "yuta",
    "miliar": "miliar",
    "milyar": "milyar",
}
CURRENCY_WORDS = frozenset({"rp", "idr", "rupiah"})
#: Words after which a bare number is an amount of money ("gaji 2000000").
MONEY_CONTEXT = frozenset(
    {
        "gaji",
        "gajih",
        "penghasilan",
        "penghasilannya",
        "pendapatan",
        "pendapatannya",
        "income",
        "hasil",
        "omzet",
        "omset",
        "upah",
        "bayaran",
    }
)  # and every word that names a period ("sebulan", "sapoe", "mingguan"): period_word
MINIMUM_BARE_AMOUNT = 10_000
FUSED_LARGE = frozenset({"seribu", "sejuta", "sewu", "sayuta", "sejuto"})

# --- periods -----------------------------------------------------------------------------
#: A unit that names a period: after "per", "tiap", "/" … ("80rb per hari", "unggal poe"),
#: or fused with a prefix or "-an" (``period_word``). Sundanese "poe", "sasih", Javanese
#: "dina", "wulan", krama and Sundanese "dinten".
PERIOD_UNITS = {
    **dict.fromkeys(["hari", "hr", "dina", "ari", "poe", "dinten"], "day"),
    **dict.fromkeys(["minggu", "mgg", "mg", "pekan", "minggon"], "week"),
    **dict.fromkeys(["bulan", "bln", "bl", "sasi", "sasih", "wulan"], "month"),
    **dict.fromkeys(["tahun", "thn", "th", "taun"], "year"),
}
#: Prefixes meaning "one" or "per" that fuse with a unit: "sehari", "sabulan" (Sundanese,
#: Minang), "sakminggu", "sa'minggu" (Javanese), "perminggu". Longest first.
PERIOD_PREFIXES = ("sa'", "sak", "per", "se", "sa")
#: "-an" makes a unit's adverb: "harian", "mingguan", "bulanan", "tahunan", "wulanan".
PERIOD_SUFFIX = "an"
#: Words that name a period but follow no rule: Javanese "sasen" (a month), "minggon"
#: (weekly, "minggu" + "-an").
PERIOD_WORDS = {"sasen": "month", "minggon": "week"}
#: Units a prefix or "-an" may fuse with: not the two-letter abbreviations ("seth", "sebl"
#: and "the" are no periods).
_FUSABLE = {unit: period for unit, period in PERIOD_UNITS.items() if len(unit) >= 3}
_PER = frozenset(
    {"per", "tiap", "setiap", "saben", "saban", "unggal", "/", "satu", "1", "dalam", "se", "sa",
     "sak"}
)  # fmt: skip


def period_word(word: str) -> str | None:
    """The period one word names on its own ("sehari", "saminggu", "sapoe", "perbulan",
    "sataun", "mingguan"), or None."""
    if word in PERIOD_WORDS:
        return PERIOD_WORDS[word]
    for prefix in PERIOD_PREFIXES:
        if word.startswith(prefix) and word[len(prefix) :] in _FUSABLE:
            return _FUSABLE[word[len(prefix) :]]
    stem = word.removesuffix(PERIOD_SUFFIX)
    if stem != word and len(stem) >= 4 and stem in _FUSABLE:
        return _FUSABLE[stem]
    return None


#: Words that may stand between an amount and its period ("80rb an per hari").
_BETWEEN_AFTER = frozenset({"an", "rupiah", "rp", "kotor", "bersih", "aja", "saja", "lah", "ya"})
_BETWEEN_BEFORE = frozenset(
    {
        "dapat", "dapet", "dpt", "bisa", "bs", "sekitar", "kira", "kurang", "lebih", "kurleb",
        "gaji", "gajinya", "penghasilan", "penghasilannya", "pendapatan", "hasil", "upah",
        "saya", "sy", "aku", "kalau", "kalo", "klo", "cuma", "cuman", "hanya", "paling",
        "rata", "sekitaran", "kisaran", "rp", "ya", "itu", "an", "oleh",
        "entuk", "olih", "antara",
        # about, in Sundanese and Javanese (ngoko, krama): "kinten-kinten", "sakitar",
        # "kurang luwih", "kirang langkung", "udakara"; Sundanese topic particles "mah", "teh"
        "kinten", "sakitar", "luwih", "kirang", "langkung", "udakara", "mah", "teh",
    }
)  # fmt: skip

#: Words that go with an amount ("kira2 sejutaan", "gaji saya 2 juta"), never a name.
AMOUNT_WORDS = _BETWEEN_BEFORE | _BETWEEN_AFTER


def parse_numeral(token: str) -> float:
    """'1.500.000' -> 1500000; '1,5' and '1.5' -> 1.5; '2000' -> 2000; '1.750.000,00'."""
    if _GROUPED.match(token):
        return float(re.sub(r"[.,]", "", token))
    cents = _WITH_CENTS.match(token)
    if cents:
        return float(re.sub(r"[.,]", "", cents.group(1)) + "." + cents.group(3))
    if re.fullmatch(r"\d+[.,]\d+", token):
        return float(token.replace(",", "."))
    return float(re.sub(r"[.,]", "", token))


def _is_number_token(token: str) -> bool:
    return token[0].isdigit() or number_word(token) is not None or token in UNIT_ALIASES


def _value(tokens: list[str]) -> float | None:
    parts: list[Token] = []
    for token in tokens:
        if token[0].isdigit():
            parts.append(parse_numeral(token))
        else:
            parts.append(UNIT_ALIASES.get(token, token))
    return evaluate(parts)


def _period_at(tokens: list[str], index: int) -> tuple[str, int] | None:
    """The period named by the tokens starting at ``index``, and how many tokens it takes."""
    if index >= len(tokens):
        return None
    token = tokens[index]
    period = period_word(token)
    if period:
        return period, 1
    if token in _PER and index + 1 < len(tokens) and tokens[index + 1] in PERIOD_UNITS:
        return PERIOD_UNITS[tokens[index + 1]], 2
    return None


def _period_after(tokens: list[str], end: int) -> tuple[str, int, int] | None:
    """(period, first token, token after it) for a period right after an amount."""
    index = end
    while index < len(tokens) and index - end <= 2:
        found = _period_at(tokens, index)
        if found:
            return found[0], index, index + found[1]
        if tokens[index] not in _BETWEEN_AFTER:
            return None
        index += 1
    return None


def _period_before(tokens: list[str], start: int, floor: int) -> tuple[str, int] | None:
    """(period, first token) for a period a few words before an amount ("sehari dapat 80rb")."""
    for first in range(start - 1, max(floor, start - 5) - 1, -1):
        if tokens[first] == "/":
            return None
        for size in (2, 1):
            found = _period_at(tokens, first - size + 1) if first - size + 1 >= floor else None
            if found and found[1] == size:
                return found[0], first - size + 1
        if tokens[first] not in _BETWEEN_BEFORE and not tokens[first].isdigit():
            return None
    return None


def find_money(text: str) -> list[Found]:
    folded = fold(text)
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]
    words = [t[0] for t in tokens]
    # "sehari 80 rb, sebulan 2 jt": punctuation ends the reach of a period word
    clause_starts = [
        i
        for i in range(1, len(tokens))
        if re.search(r"[,;.!?\n]", re.sub(r"[.,]-", "", folded[tokens[i - 1][2] : tokens[i][1]]))
    ]
    found: list[Found] = []
    claimed_before = -1  # tokens up to here already belong to an earlier amount
    index = 0
    while index < len(tokens):
        token, start, _ = tokens[index]
        has_currency = token in CURRENCY_WORDS
        run_start = index + 1 if has_currency else index
        run_end = run_start
        while run_end < len(tokens) and _is_number_token(tokens[run_end][0]):
            if _period_at(words, run_end):
                break  # "80rb sa dina", "1 juta satu bulan": "one" of the period, not the amount's
            if run_end > run_start:
                if folded[tokens[run_end - 1][2] : tokens[run_end][1]].strip():
                    break  # only white space may separate the parts of one amount
                before = UNIT_ALIASES.get(tokens[run_end - 1][0], tokens[run_end - 1][0])
                before = number_word(before) or before
                if tokens[run_end][0][0].isdigit() and LARGE_MULTIPLIERS.get(before, 0) < 1e6:
                    break  # "2 500", "100rb 1 hari": two numbers; "2 juta 500 ribu" is one
            run_end += 1
        run = [t[0] for t in tokens[run_start:run_end]]
        glued_to_word = (
            run
            and run_start > 0
            and tokens[run_start - 1][2] == tokens[run_start][1]
            and tokens[run_start - 1][0] not in CURRENCY_WORDS
        )
        if glued_to_word:  # "kira2", "no3": not an amount
            index = run_start + 1
            continue
        # A run starts with a number, not a bare unit ("berapa juta", "ribuan", "ratusan").
        first = (number_word(run[0]) or UNIT_ALIASES.get(run[0])) if run else None
        if (
            not run
            or run[0] in UNIT_ALIASES
            or first in LARGE_MULTIPLIERS
            or first in SMALL_MULTIPLIERS
            or first == DECIMAL_POINT
        ):
            index += 1
            continue
        value = _value(run)
        normal = [UNIT_ALIASES.get(t, number_word(t) or t) for t in run]
        has_multiplier = any(w in LARGE_MULTIPLIERS or w in FUSED_LARGE for w in normal)
        grouped = len(run) == 1 and bool(_GROUPED.match(run[0]) or _WITH_CENTS.match(run[0]))
        nearby = set(words[max(0, index - 3) : index]) | set(words[run_end : run_end + 2])
        context = any(w in MONEY_CONTEXT or period_word(w) for w in nearby)
        accepted = (
            value is not None
            and value >= 1
            and (
                has_multiplier
                or has_currency
                or (grouped and value >= 1_000)
                or (context and value >= MINIMUM_BARE_AMOUNT)
            )
        )
        if accepted and value is not None:
            clause = max([s for s in clause_starts if s <= run_start] or [0])
            floor = max(clause, claimed_before + 1)
            period, claimed_before = _period_of(words, run_start, run_end, floor, clause_starts)
            claimed_before = max(claimed_before, run_end - 1)
            span_start = start if has_currency else tokens[run_start][1]
            span_end = tokens[run_end - 1][2]
            found.append(
                Found(
                    "money",
                    round(value),
                    span_start,
                    span_end,
                    text[span_start:span_end],
                    period=period,
                )
            )
            index = run_end
        else:
            index += 1
    return found


def _period_of(
    words: list[str], start: int, end: int, floor: int, clause_starts: list[int]
) -> tuple[str, int]:
    """The amount's period ('month' unless said) and the last token it claims. A period word
    between two amounts belongs to the one it touches without a word between."""
    next_clause = min([s for s in clause_starts if s >= end] or [len(words)])
    after = _period_after(words[:next_clause], end)
    before = _period_before(words, start, floor)
    if after and before:
        leads_next = after[2] < len(words) and _is_number_token(words[after[2]])
        if leads_next:  # "sehari 80rb sebulan 2jt": 'sebulan' is the next amount's
            return before[0], end - 1
    if after:
        return after[0], after[2] - 1
    if before:
        return before[0], end - 1
    return "month", end - 1
