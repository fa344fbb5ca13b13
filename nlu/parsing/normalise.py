"""Word-for-word normalisation of slang, abbreviations and regional words ('brp' -> 'berapa',
'piye' -> 'bagaimana'). Used on token lemmas only, never on the text itself, so names and
entity spans keep what the person typed."""

from __future__ import annotations

import csv
from functools import lru_cache

from nlu.parsing.lookups import LOOKUP_DIR


@lru_cache(maxsize=1)
def slang_map() -> dict[str, str]:
    with (LOOKUP_DIR / "slang.csv").open(encoding="utf-8") as f:
        return {row["written"]: row["standard"] for row in csv.DictReader(f)}


def normalise_word(word: str) -> str:
    """The standard form of one word; a repeated letter run is squeezed first ('bangettt')."""
    lowered = word.lower()
    mapping = slang_map()
    if lowered in mapping:
        return mapping[lowered]
    squeezed = _squeeze(lowered)
    return mapping.get(squeezed, squeezed)


def _squeeze(word: str) -> str:
    out: list[str] = []
    for char in word:
        if len(out) >= 2 and out[-1] == char and out[-2] == char:
            continue
        out.append(char)
    result = "".join(out)
    # "iyaaa" -> "iyaa" -> keep two; a trailing doubled vowel is usually emphasis
    if len(result) > 3 and result[-1] == result[-2] and result[-1] in "aiueo":
        result = result[:-1]
    return result


def normalise_text(text: str) -> str:
    return " ".join(normalise_word(w) for w in text.split())
