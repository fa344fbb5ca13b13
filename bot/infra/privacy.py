"""Keyed hashing and masking of personal data (UU PDP 27/2022).

Identifiers are stored as keyed hashes so that a copied database does not reveal who
talked to the bot, and they are masked wherever they could reach a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path


def secrets_match(given: str, expected: str) -> bool:
    """Constant-time comparison of a presented secret (token, signature) with the expected
    one, so it cannot be guessed a character at a time."""
    return hmac.compare_digest(given.encode(), expected.encode())


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 hex digest: stable for lookups, useless without the key."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def conversation_key(key: str, sender_id: str) -> str:
    """How Rasa's conversation store names a conversation: a keyed hash of the sender id
    (domain-separated from the hashes that name participants)."""
    return keyed_hash(key, f"conversation:{sender_id}")


def owner_only(path: Path) -> None:
    """A local database file (SQLite, and its WAL/SHM companions) readable by its owner
    only. A folder created for it is the owner's only too; an existing folder (which may
    be shared, like /tmp) is left as it is."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    path.touch(mode=0o600, exist_ok=True)
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            os.chmod(candidate, 0o600)


def mask_digits(value: str | None, keep_start: int = 4, keep_end: int = 2) -> str:
    """Keep the first and last few characters, star the rest: '081234567890' -> '0812******90'.

    A value no longer than what would be kept is all stars (nothing of it shown); ``None``
    is '-'. ``keep_end=0`` keeps no end at all (``value[-0:]`` would be the whole value)."""
    if value is None:
        return "-"
    keep_start, keep_end = max(0, keep_start), max(0, keep_end)
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    end = value[len(value) - keep_end :]
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + end


def mask_name(name: str) -> str:
    """Enough for an agent who knows the person, too little for anyone else:
    'Sutini Wahyuningsih' -> 'Sut*** W.'."""
    parts = name.split()
    if not parts:
        return "-"
    first = parts[0][:3] + "***"
    return f"{first} {parts[-1][0]}." if len(parts) > 1 else first


def mask_sender(sender_id: str) -> str:
    """Mask the identifying part of a sender id.

    'wa:+6281234567890' -> 'wa:+628********90' (only the country code and '8' kept at the
    start), 'tg:1234567890' -> 'tg:********90' (a chat id keeps nothing at the start).
    """
    channel, sep, local_id = sender_id.partition(":")
    if not sep:
        return mask_digits(sender_id, 0, 2)
    keep_start = 4 if local_id.startswith("+62") else 0
    return f"{channel}:{mask_digits(local_id, keep_start, 2)}"
