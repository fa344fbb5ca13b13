"""Rasa's conversation store, seen from the application: retention and migration.

The Rasa process writes it (nlu/tracker_store.py: events encrypted, conversations named by
a keyed hash of the sender id). Here: conversations whose last event is older than the
retention period are deleted, and conversations written before encryption are converted.
The table is Rasa's (``events``: id, sender_id, type_name, timestamp, intent_name,
action_name, data)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, bindparam, create_engine, text
from sqlalchemy.engine import make_url

from bot.infra.crypto import PiiCipher
from bot.infra.privacy import conversation_key, owner_only

log = logging.getLogger(__name__)
#: A conversation key is a hex HMAC-SHA256; a sender id in clear looks like "wa:+62…".
_HASHED = re.compile(r"^[0-9a-f]{64}$")
#: Fernet tokens start with the version byte 0x80, "gAAAAA" in URL-safe base64.
_ENCRYPTED_PREFIX = "gAAAAA"


def tracker_engine(tracker_store_url: str) -> Engine:
    """Rasa's URL (SQLAlchemy 1.4, psycopg2 for PostgreSQL) for this environment's drivers."""
    url = make_url(tracker_store_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        owner_only(Path(url.database))
    return create_engine(url)


def _has_events_table(engine: Engine) -> bool:
    from sqlalchemy import inspect

    return inspect(engine).has_table("events")


def purge_older_than(engine: Engine, now: datetime, retention: timedelta) -> int:
    """Delete every conversation whose latest event is older than ``retention``; the
    number of conversations deleted."""
    if not _has_events_table(engine):
        return 0
    cutoff = (now - retention).timestamp()
    with engine.begin() as connection:
        stale = (
            connection.execute(
                text(
                    "SELECT sender_id FROM events GROUP BY sender_id "
                    "HAVING MAX(timestamp) < :cutoff"
                ),
                {"cutoff": cutoff},
            )
            .scalars()
            .all()
        )
        for start in range(0, len(stale), 500):
            connection.execute(
                text("DELETE FROM events WHERE sender_id IN :keys").bindparams(
                    bindparam("keys", expanding=True)
                ),
                {"keys": stale[start : start + 500]},
            )
    if stale:
        log.info("deleted %d conversation(s) past the retention period", len(stale))
    return len(stale)


def erase_conversations(tracker_store_url: str, hash_key: str, sender_ids: list[str]) -> int:
    """Delete these conversations (a participant's other addresses, on erasure); the number
    of events deleted. Rasa servers notice the rows are gone on their next read."""
    if not sender_ids:
        return 0
    engine = tracker_engine(tracker_store_url)
    try:
        if not _has_events_table(engine):
            return 0
        keys = [conversation_key(hash_key, sender_id) for sender_id in sender_ids]
        with engine.begin() as connection:
            deleted = connection.execute(
                text("DELETE FROM events WHERE sender_id IN :keys").bindparams(
                    bindparam("keys", expanding=True)
                ),
                {"keys": keys},
            ).rowcount
        return int(deleted or 0)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Migrated:
    conversations: int
    events: int


def encrypt_existing(engine: Engine, cipher: PiiCipher, hash_key: str) -> Migrated:
    """Convert conversations stored before encryption: sender id -> keyed hash, event data
    -> ciphertext. Idempotent: rows already converted are left alone."""
    if not _has_events_table(engine):
        return Migrated(0, 0)
    conversations, events = set(), 0
    with engine.begin() as connection:
        # Only rows still in clear: run at every start, it must not read the whole store.
        rows = connection.execute(
            text("SELECT id, sender_id, data FROM events WHERE data NOT LIKE :encrypted"),
            {"encrypted": _ENCRYPTED_PREFIX + "%"},
        ).all()
        for row in rows:
            clear_id = not _HASHED.match(row.sender_id or "")
            clear_data = not (row.data or "").startswith(_ENCRYPTED_PREFIX)
            if not (clear_id or clear_data):
                continue
            key = conversation_key(hash_key, row.sender_id) if clear_id else row.sender_id
            data = cipher.encrypt(row.data) if clear_data else row.data
            connection.execute(
                text("UPDATE events SET sender_id = :key, data = :data WHERE id = :id"),
                {"key": key, "data": data, "id": row.id},
            )
            conversations.add(key)
            events += 1
    if events:
        log.info("encrypted %d event(s) of %d old conversation(s)", events, len(conversations))
    return Migrated(len(conversations), events)
