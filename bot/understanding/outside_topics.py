"""Which service outside Sadar a message asks about (BPJS Kesehatan, a loan, bansos), so the
resident is told where to go instead of getting a programme blurb. Pure; the words are data
in bot/domain/data/outside_topics.toml."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from nlu.parsing.common import fold, word_pattern

_DATA = Path(__file__).resolve().parent.parent / "domain" / "data" / "outside_topics.toml"


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    topics = tomllib.loads(_DATA.read_text(encoding="utf-8"))
    return tuple((name, word_pattern(list(entry["words"]))) for name, entry in topics.items())


def outside_topic(text: str) -> str | None:
    """The outside service named first in ``text`` ("health", "loan", "social_aid"), or None."""
    folded = fold(text or "")
    found = [(m.start(), name) for name, p in _patterns() if (m := p.search(folded))]
    return min(found)[1] if found else None


def outside_topics() -> tuple[str, ...]:
    """Every topic, each with a response utter_outside_<topic> in domain.yml."""
    return tuple(name for name, _ in _patterns())
