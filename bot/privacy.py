"""Keyed hashing and masking of personal data (UU PDP 27/2022).

Identifiers are stored as keyed hashes so that a copied database does not reveal who
talked to the bot, and they are masked wherever they could reach a log line.
"""

from __future__ import annotations

import hashlib
import hmac


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 hex digest: stable for lookups, useless without the key."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def mask_digits(value: str, keep_start: int = 4, keep_end: int = 2) -> str:
    """Keep the first and last few characters, star the rest: '081234567890' -> '0812******90'."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_sender(sender_id: str) -> str:
    """Mask the identifying part of a sender id.

    'wa:+6281234567890' -> 'wa:+628********90'
    """
    channel, sep, local_id = sender_id.partition(":")
    if not sep:
        return mask_digits(sender_id)
    return f"{channel}:{mask_digits(local_id)}"
