"""What a payment message says: "bayar SDR-XXXX-XXXX 3 bulan", a jimpitan group's
references, "sudah bayar 2 bulan", and an agent's explicit KONFIRMASI for a large payment.
Pure, like the interpreter of form answers (bot/understanding/interpreter.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.parsing.common import fold
from nlu.parsing.identifiers import REFERENCE

#: "sudah bayar 3 bulan": 1 to 12 months (a payment covers at most a year).
_MONTHS_SAID = re.compile(r"\b(1[0-2]|[1-9])\s*(?:bulan|bln|bl)\b", re.IGNORECASE)
_CONFIRMED = re.compile(r"\b(?:konfirmasi|konfirm|dikonfirmasi|yakin)\b")
#: "tidak yakin", "belum konfirmasi", "jangan dikonfirmasi": a negated confirmation is none.
_NEGATED = re.compile(
    r"\b(?:tidak|tdk|gak|ga|nggak|enggak|ndak|tak|belum|blm|jangan|bukan|ora|mboten|teu)\s+"
    r"(?:\w+\s+)?(?:konfirmasi|konfirm|dikonfirmasi|yakin)\b"
)


def _confirms(folded: str) -> bool:
    """An explicit confirmation that no negation takes back."""
    return bool(_CONFIRMED.search(folded)) and not _NEGATED.search(folded)


def months_mentioned(text: str) -> int | None:
    match = _MONTHS_SAID.search(text or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class PaymentRequest:
    #: Participant references in the order written (a jimpitan leader first).
    references: list[str]
    months: int | None
    #: The agent wrote KONFIRMASI: a payment over the confirmation threshold may go ahead.
    confirmed: bool


def read_payment_request(text: str) -> PaymentRequest:
    return PaymentRequest(
        references=list(dict.fromkeys(REFERENCE.findall((text or "").upper()))),
        months=months_mentioned(text),
        confirmed=_confirms(fold(text or "")),
    )
