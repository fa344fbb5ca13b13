"""Numbers written in words, Indonesian and a little Javanese: 'dua setengah juta',
'seratus lima puluh ribu', 'sejuta', 'limang atus ewu'."""

from __future__ import annotations

UNITS = {
    "nol": 0,
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
    "loro": 2,
    "rong": 2,
    "telu": 3,
    "telung": 3,
    "papat": 4,
    "patang": 4,
    "limang": 5,
    "enem": 6,
    "pitu": 7,
    "pitung": 7,
    "wolu": 8,
    "wolung": 8,
    "songo": 9,
    "sanga": 9,
    "sangang": 9,
}
TEENS = {"sepuluh": 10, "sebelas": 11}
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
    "seribu": 1_000,
    "sejuta": 1_000_000,
    "sepuluh": 10,
    "sebelas": 11,
    "setengah": 0.5,
    "satus": 100,
    "sewu": 1_000,
    "sayuta": 1_000_000,
    "sejuto": 1_000_000,
}
NUMBER_WORDS = frozenset(
    list(UNITS) + list(TEENS) + list(SMALL_MULTIPLIERS) + list(LARGE_MULTIPLIERS) + list(FUSED)
)


def words_to_number(words: list[str]) -> float | None:
    """Value of a sequence of number words, or None if they do not form a number.

    'setengah' before a large multiplier is a half unit ('dua setengah juta' = 2,500,000);
    after one it is half of it ('sejuta setengah' = 1,500,000)."""
    if not words or any(w not in NUMBER_WORDS for w in words) or words == ["se"]:
        return None
    total = 0.0
    current = 0.0  # the part below the last large multiplier
    last_unit = 0.0
    last_large = 0
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else None
        if word == "setengah":
            if following in LARGE_MULTIPLIERS:
                current += 0.5
            elif last_large and current == 0:
                total += last_large / 2
            else:
                current += 0.5
        elif word in FUSED:
            value = FUSED[word]
            if value >= 1_000:
                total += value
                last_large = int(value)
            else:
                current += value
            last_unit = 0
        elif word in UNITS:
            current += UNITS[word]
            last_unit = UNITS[word]
        elif word == "belas":
            current += 10
            last_unit = 0
        elif word == "puluh":
            current += last_unit * 9
            last_unit = 0
        elif word in ("ratus", "atus"):
            current += last_unit * 99 if last_unit else 100
            last_unit = 0
        elif word in LARGE_MULTIPLIERS:
            multiplier = LARGE_MULTIPLIERS[word]
            total += (current or 1) * multiplier
            current, last_unit, last_large = 0, 0, multiplier
    return total + current
