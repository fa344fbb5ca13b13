"""Amounts of rupiah as residents write them: '1,5 juta', '1.500.000', '1.5jt', '500rb',
'sejuta', 'dua setengah juta', 'Rp 2 jt', 'gaji 2000000'. Values are integer rupiah."""

from __future__ import annotations

import re

from nlu.parsing.common import Found, fold
from nlu.parsing.numbers import LARGE_MULTIPLIERS, NUMBER_WORDS, words_to_number

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+")
_GROUPED = re.compile(r"^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")
UNIT_ALIASES = {
    "jt": "juta",
    "jta": "juta",
    "juta": "juta",
    "jutaan": "juta",
    "jutah": "juta",
    "rb": "ribu",
    "rbu": "ribu",
    "ribu": "ribu",
    "ribuan": "ribu",
    "rebu": "ribu",
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
        "sebulan",
        "perbulan",
        "bulanan",
    }
)
MINIMUM_BARE_AMOUNT = 10_000
FUSED_LARGE = frozenset({"seribu", "sejuta", "sewu", "sayuta", "sejuto"})


def parse_numeral(token: str) -> float:
    """'1.500.000' -> 1500000; '1,5' and '1.5' -> 1.5; '2000' -> 2000."""
    if _GROUPED.match(token):
        return float(re.sub(r"[.,]", "", token))
    if re.fullmatch(r"\d+[.,]\d+", token):
        return float(token.replace(",", "."))
    return float(re.sub(r"[.,]", "", token))


def _is_number_token(token: str) -> bool:
    return token[0].isdigit() or token in NUMBER_WORDS or token in UNIT_ALIASES


def _value(tokens: list[str]) -> float | None:
    words: list[str] = []
    numerals: list[float] = []
    for token in tokens:
        if token[0].isdigit():
            words.append("\x00num")
            numerals.append(parse_numeral(token))
        else:
            words.append(UNIT_ALIASES.get(token, token))
    if "\x00num" not in words:
        return words_to_number(words)
    # Replace each numeral by a placeholder unit and evaluate the same way as words.
    total = 0.0
    current = 0.0
    last_large = 0
    numeral_iter = iter(numerals)
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else None
        if word == "\x00num":
            current += next(numeral_iter)
        elif word in LARGE_MULTIPLIERS:
            total += (current or 1) * LARGE_MULTIPLIERS[word]
            current, last_large = 0, LARGE_MULTIPLIERS[word]
        elif (
            word == "setengah" and following not in LARGE_MULTIPLIERS and last_large and not current
        ):
            total += last_large / 2
        else:
            partial = words_to_number([word] if word != "setengah" else ["setengah"])
            if partial is None:
                return None
            current += partial
    return total + current


def find_money(text: str) -> list[Found]:
    folded = fold(text)
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]
    found: list[Found] = []
    index = 0
    while index < len(tokens):
        token, start, _ = tokens[index]
        has_currency = token in CURRENCY_WORDS
        run_start = index + 1 if has_currency else index
        run_end = run_start
        while run_end < len(tokens) and _is_number_token(tokens[run_end][0]):
            if run_end > run_start:
                if folded[tokens[run_end - 1][2] : tokens[run_end][1]].strip():
                    break  # only white space may separate the parts of one amount
                before = UNIT_ALIASES.get(tokens[run_end - 1][0], tokens[run_end - 1][0])
                if tokens[run_end][0][0].isdigit() and before not in LARGE_MULTIPLIERS:
                    break  # "2 500" is two numbers, "2 juta 500 ribu" is one
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
        # A run starts with a number, not a bare unit ("berapa juta", "ribuan", "k").
        if not run or run[0] in UNIT_ALIASES or run[0] in LARGE_MULTIPLIERS:
            index += 1
            continue
        value = _value(run)
        words = [UNIT_ALIASES.get(t, t) for t in run]
        has_multiplier = any(w in LARGE_MULTIPLIERS or w in FUSED_LARGE for w in words)
        grouped = len(run) == 1 and bool(_GROUPED.match(run[0]))
        nearby = {t[0] for t in tokens[max(0, index - 3) : index]}
        nearby |= {t[0] for t in tokens[run_end : run_end + 2]}
        context = bool(nearby & MONEY_CONTEXT)
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
            span_start = start if has_currency else tokens[run_start][1]
            span_end = tokens[run_end - 1][2]
            found.append(
                Found("money", round(value), span_start, span_end, text[span_start:span_end])
            )
            index = run_end
        else:
            index += 1
    return found
