"""Channels without buttons (WhatsApp text) show options as a numbered list; this maps a
reply such as "2", "no. 2", "pilih 2" or the option's own words back to that option."""

from __future__ import annotations

import re
from collections.abc import Sequence

_NUMBER_REPLY = re.compile(r"^(?:no\.?|nomor|nomer|pilih|pilihan|opsi)?\s*(\d{1,2})\s*[.)]?$")
_NON_WORD = re.compile(r"[^\w]+")


def _words(text: str) -> str:
    return _NON_WORD.sub(" ", text.casefold()).strip()


def resolve_option(text: str, titles: Sequence[str]) -> int | None:
    """Index of the option the reply picks, or None when it is an ordinary message."""
    cleaned = text.strip().casefold()
    match = _NUMBER_REPLY.match(cleaned)
    if match:
        number = int(match.group(1))
        return number - 1 if 1 <= number <= len(titles) else None
    words = _words(cleaned)
    if not words:
        return None
    for index, title in enumerate(titles):
        if _words(title) == words:
            return index
    return None
