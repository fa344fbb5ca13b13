"""Redaction of personal identifiers in free text (log lines, exception messages).

The last line of defence for logs: whatever a log call or an exception carries, a NIK
(16 digits, with or without separators) or an Indonesian mobile number (08…, 628…, +628…)
leaves the process as a placeholder. Standard library only, Python 3.10-compatible: the
Rasa server (.venv-rasa) and Sadar's own processes share this one function."""

from __future__ import annotations

import re
from collections.abc import Callable

NIK_PLACEHOLDER = "[NIK]"
PHONE_PLACEHOLDER = "[PHONE]"
TOKEN_PLACEHOLDER = "[TOKEN]"

#: 16 digits, each pair optionally separated by one space, dot or dash ("3201 0112 …",
#: "32.01.01.120390.0001"); not part of a longer run of digits, nor the decimals of a
#: number ("0.9279876543210987").
_NIK = re.compile(r"(?<!\d)(?<!\d\.)\d(?:[ .\-]?\d){15}(?!\d)")
#: 08…, 628…, +628… followed by 8 to 11 more digits, separators allowed as for the NIK.
_PHONE = re.compile(r"(?<!\d)(?<!\d\.)(?:\+62|62|0)[ .\-]?8(?:[ .\-]?\d){8,11}(?!\d)")
#: One dot and no other separator: a decimal number ("0.8123456789"), not an identifier.
_DECIMAL = re.compile(r"\d+\.\d+")
#: A Telegram bot token in an API URL (https://api.telegram.org/bot<id>:<secret>/…).
_BOT_TOKEN = re.compile(r"(?<=/bot)\d+:[A-Za-z0-9_\-]+")
#: Cheap pre-check: nothing to do for text with too few digits in a row.
_DIGITS = re.compile(r"\d[ .\-]?\d[ .\-]?\d[ .\-]?\d[ .\-]?\d[ .\-]?\d[ .\-]?\d[ .\-]?\d")


def redact(text: str) -> str:
    """``text`` with every NIK, Indonesian mobile number and Telegram bot token replaced by
    a placeholder; amounts ("Rp16.800"), dates and short numbers are left as they are."""
    if "/bot" in text:
        text = _BOT_TOKEN.sub(TOKEN_PLACEHOLDER, text)
    if _DIGITS.search(text) is None:
        return text
    text = _NIK.sub(_replace_with(NIK_PLACEHOLDER), text)
    return _PHONE.sub(_replace_with(PHONE_PLACEHOLDER), text)


def _replace_with(placeholder: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        found = match.group()
        return found if _DECIMAL.fullmatch(found) else placeholder

    return replace
