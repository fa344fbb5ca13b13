"""Numbers written in words, Indonesian and a little Javanese: 'dua setengah juta',
'seratus lima puluh ribu', 'sejuta', 'limang atus ewu', 'satu koma dua juta', 'dua jutaan',
'sembilan belas delapan puluh' (a year). Mixed with digits too: '2 ratus ribu', '1 juta 700'."""

from __future__ import annotations

from collections.abc import Sequence

UNITS = {
    "nol": 0,
    "kosong": 0,
    "satu": 1,
    "se": 1,
    "dua": 2,
    "tiga": 3,
    "empat": 4,
    "lima": 5,
    "enam": 6,
    "tujuh": 7,
    "delapan": 8,
    "sembilan": 9,
    # Javanese
    "siji": 1,
    "sa": 1,
    "loro": 2,
    "rong": 2,
    "telu": 3,
    "telung": 3,
    "papat": 4,
    "patang": 4,
    "limang": 5,
    "enem": 6,
    "nem": 6,
    "pitu": 7,
    "pitung": 7,
    "wolu": 8,
    "wolung": 8,
    "songo": 9,
    "sanga": 9,
    "sangang": 9,
}
#: Whole words worth a number below a hundred (Javanese has many).
TEENS = {
    "sepuluh": 10,
    "sebelas": 11,
    "sewelas": 11,
    "rolas": 12,
    "telulas": 13,
    "patbelas": 14,
    "limalas": 15,
    "nembelas": 16,
    "pitulas": 17,
    "wolulas": 18,
    "songolas": 19,
    "sangalas": 19,
    "selawe": 25,
    "seket": 50,
    "suwidak": 60,
}
SMALL_MULTIPLIERS = {"belas": None, "puluh": 10, "ratus": 100, "atus": 100}
LARGE_MULTIPLIERS = {
    "ribu": 1_000,
    "rebu": 1_000,
    "ewu": 1_000,
    "juta": 1_000_000,
    "yuta": 1_000_000,
    "milyar": 1_000_000_000,
    "miliar": 1_000_000_000,
}
FUSED = {
    "seratus": 100,
    "satus": 100,
    "seribu": 1_000,
    "sewu": 1_000,
    "sejuta": 1_000_000,
    "sayuta": 1_000_000,
    "sejuto": 1_000_000,
    # Sundanese, Minang and Banjar write the "one" prefix "sa-": sajuta, saratus, saribu.
    "sajuta": 1_000_000,
    "saratus": 100,
    "saribu": 1_000,
    "setengah": 0.5,
    "seprapat": 0.25,
    "seperempat": 0.25,
}
#: "koma": the digits after it are decimals ("satu koma dua juta" = 1,200,000).
DECIMAL_POINT = "koma"
NUMBER_WORDS = frozenset(
    list(UNITS)
    + list(TEENS)
    + list(SMALL_MULTIPLIERS)
    + list(LARGE_MULTIPLIERS)
    + list(FUSED)
    + [DECIMAL_POINT]
)
#: Words that may end in "-an" as an approximation ("jutaan", "ratusan", "sejutaan").
_APPROXIMABLE = frozenset(
    list(SMALL_MULTIPLIERS) + list(LARGE_MULTIPLIERS) + [w for w, v in FUSED.items() if v >= 100]
)

Token = str | float  # a number word, or a numeral already read from digits


def number_word(word: str) -> str | None:
    """The number word ``word`` stands for ('jutaan' -> 'juta'), or None."""
    if word in NUMBER_WORDS:
        return word
    if word.endswith("an") and word[:-2] in _APPROXIMABLE:
        return word[:-2]  # "-an" marks an approximation: read as the figure itself
    return None


def _fraction(digits: Sequence[Token]) -> float:
    text = "".join(str(UNITS[str(d)]) for d in digits)
    return float("0." + text) if text else 0.0


def evaluate(tokens: Sequence[Token]) -> float | None:
    """Value of number words mixed with numerals (floats), or None if they form no number.

    'setengah' before a large multiplier is a half unit ('dua setengah juta' = 2,500,000);
    after one it is half of it ('sejuta setengah' = 1,500,000). A remainder after 'juta'
    with no 'ribu' counts in thousands ('1 juta 700', 'sejuta tujuh ratus' = 1,700,000) or,
    a single digit, in hundreds of thousands ('sejuta lima' = 1,500,000): nobody earns a
    million and seven hundred rupiah."""
    words = [t if isinstance(t, float) else number_word(t) for t in tokens]
    if not words or any(w is None for w in words) or words in (["se"], ["sa"], [DECIMAL_POINT]):
        return None
    total = 0.0
    current = 0.0  # the part below the last large multiplier
    last_unit = 0.0
    last_large = 0
    remainder_bare = False  # the part after the last large multiplier is a bare number
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else None
        if isinstance(word, float):
            current += word
            last_unit = word
            remainder_bare = bool(last_large)
        elif word == DECIMAL_POINT:
            digits: list[Token] = []
            while index + 1 < len(words) and str(words[index + 1]) in UNITS:
                index += 1
                digits.append(str(words[index]))
            if not digits or not current:
                return None
            current += _fraction(digits)
            last_unit = 0
        elif word in ("setengah", "seprapat", "seperempat"):
            share = FUSED[word]
            if following in LARGE_MULTIPLIERS or not (last_large and current == 0):
                current += share
            else:
                total += last_large * share
            remainder_bare = False
        elif word in FUSED:
            value = FUSED[word]
            if value >= 1_000:
                total += current * value if current else value
                current, last_large = 0, int(value)
            else:
                current += value
                remainder_bare = bool(last_large)
            last_unit = 0
        elif word in TEENS:
            current += TEENS[word]
            last_unit = 0
            remainder_bare = bool(last_large)
        elif word in UNITS:
            current += UNITS[word]
            last_unit = UNITS[word]
            remainder_bare = bool(last_large)
        elif word == "belas":
            current += 10
            last_unit = 0
        elif word == "puluh":
            current += last_unit * 9
            last_unit = 0
        elif word in ("ratus", "atus"):
            current += last_unit * 99 if last_unit else 100
            last_unit = 0
            remainder_bare = bool(last_large)
        elif word in LARGE_MULTIPLIERS:
            multiplier = LARGE_MULTIPLIERS[word]
            total += (current or 1) * multiplier
            current, last_unit, last_large, remainder_bare = 0, 0, multiplier, False
        index += 1
    if remainder_bare and last_large == 1_000_000 and 0 < current < 1_000:
        current *= 100_000 if current < 10 and current == int(current) else 1_000
    return total + current


def words_to_number(words: list[str]) -> float | None:
    """Value of a sequence of number words, or None if they do not form a number."""
    return evaluate(words)


def year_from_words(words: list[str]) -> int | None:
    """A year said in words: 'seribu sembilan ratus delapan puluh', 'sembilan belas delapan
    puluh' (19 and 80), 'dua ribu lima'; two digits ('delapan puluh') stay two digits."""
    if not words or any(number_word(w) is None for w in words):
        return None
    whole = evaluate(words)
    if any(w in ("ribu", "seribu", "sewu", "ewu") for w in words):
        return int(whole) if whole is not None and whole == int(whole) else None
    for split in range(1, len(words)):
        century, rest = evaluate(words[:split]), evaluate(words[split:])
        if century == 19.0 and rest is not None and 0 <= rest < 100 and rest == int(rest):
            return int(1900 + rest)  # "dua puluh satu" is 21, not 2001: only 19.. is split
    if whole is not None and whole == int(whole) and 0 <= whole < 100:
        return int(whole)
    return None
