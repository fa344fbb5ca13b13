"""Rasa's conversation store with the protection the application database has (UU PDP).

Loaded by the Rasa server (Python 3.10) from endpoints.yml (``type:
nlu.tracker_store.EncryptedSQLTrackerStore``). Rasa's SQL store keeps every event (the
typed NIK, name and phone, slot values) in clear, keyed by the sender id, and has no way to
erase a conversation. This one:

- encrypts each event's data with the application's keys (``SADAR_PII_ENCRYPTION_KEYS``,
  Fernet, rotation by a key list) and names conversations by a keyed hash of the sender id
  (``SADAR_PII_HASH_KEY``), so neither the database nor a backup reads as personal data;
- erases the whole conversation when the erasure action sets ``ERASE_SLOT`` (a resident's
  "hapus data saya"), instead of saving the turn;
- creates a local SQLite file readable by its owner only, in WAL mode with
  ``synchronous=NORMAL`` on one kept connection (issue 31: with Rasa's engine, the rollback
  journal's disk syncs on every commit and a new connection per query took about 12% of
  the server's samples under load, blocking its event loop meanwhile), ``secure_delete`` on, and
  the WAL truncated after an erasure so no page of an erased conversation stays behind;
- reads only what a turn needs: the events of the current session that it has not read
  yet. Decoded events of recently active conversations are kept in memory (a bounded LRU,
  ``SADAR_TRACKER_CACHE_CONVERSATIONS``); a turn checks by one count and the highest row
  id that nothing was added or deleted (the usual case: one query), else reads the rows
  written since (by another replica) after checking that none was deleted (erasure,
  purge), else reads the session again. Before this, every turn read, decrypted and decoded the
  whole session (issue 16: ~26% of the Rasa server's time under load).

Loading this module also installs the action-response validator built once
(nlu/rasa_runtime.py).

Old conversations in clear are converted by ``sadar conversations migrate``; conversations
past the retention period are deleted by ``sadar conversations purge`` (bot/services/
conversations.py), which the reminder worker runs every day.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event as sa_event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from bot.infra.crypto import PiiCipher
from bot.infra.privacy import conversation_key, owner_only
from bot.infra.unstored import as_stored
from nlu import rasa_runtime

log = logging.getLogger(__name__)
rasa_runtime.install()

#: Conversations whose decoded events stay in memory (least recently used beyond it go).
DEFAULT_CACHED_CONVERSATIONS = 500


@dataclass
class CachedSession:
    """The decoded events of a conversation's current session, as last read or saved."""

    #: Highest row id read or written for the conversation.
    last_id: int
    #: Rows of the conversation (all sessions) with an id up to ``last_id``.
    rows: int
    events: list[dict[str, Any]] = field(default_factory=list)
    #: Checked against the database by this turn's read: the turn's save may trust it.
    checked: bool = False


class RecentSessions:
    """A bounded LRU of CachedSession by conversation key."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(0, capacity)
        self._items: OrderedDict[str, CachedSession] = OrderedDict()

    def get(self, key: str) -> CachedSession | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: str, item: CachedSession) -> None:
        if not self.capacity:
            return
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def drop(self, key: str) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


def current_session(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's rule for the current session: events at or after the latest SessionStarted's
    timestamp (all of them when there is none)."""
    starts = [
        e.get("timestamp") or 0.0 for e in events if e.get("event") == SessionStarted.type_name
    ]
    if not starts:
        return events
    latest = max(starts)
    return [e for e in events if (e.get("timestamp") or 0.0) >= latest]


#: Per connection to a local conversation file: see ``_use_sqlite_engine``.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA secure_delete=ON",
)

#: Set to True by the erasure action: the store deletes the conversation on save.
ERASE_SLOT = "erase_conversation"


#: Positional placeholders of the drivers Sadar runs on (sqlite3; psycopg2).
PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@dataclass(frozen=True)
class TurnStatements:
    """The statements of every turn, in the driver's own SQL: built as ORM queries they
    cost more than running them (SQLAlchemy's own code was 14.4% of the Rasa server's
    samples under the open-loop benchmark at 45 turns/s, 8.0% after; issue 31)."""

    count_and_last: str
    last_id: str
    insert: str

    @classmethod
    def of(cls, engine: Any, table: str) -> TurnStatements:
        style = engine.dialect.paramstyle
        if style not in PLACEHOLDERS:
            raise ValueError(
                f"conversation store: the {engine.dialect.driver} driver's parameter style "
                f"{style!r} is not supported; use SQLite or PostgreSQL (psycopg2)."
            )
        mark = PLACEHOLDERS[style]
        columns = "sender_id, type_name, timestamp, intent_name, action_name, data"
        return cls(
            count_and_last=f"SELECT count(id), max(id) FROM {table} WHERE sender_id = {mark}",
            last_id=f"SELECT max(id) FROM {table} WHERE sender_id = {mark}",
            insert=f"INSERT INTO {table} ({columns}) VALUES ({', '.join([mark] * 6)})",
        )


class EncryptedSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        keys = os.environ.get("SADAR_PII_ENCRYPTION_KEYS", "")
        hash_key = os.environ.get("SADAR_PII_HASH_KEY", "")
        if not keys or not hash_key:
            # Refuse rather than fall back: Rasa would quietly keep conversations in memory.
            raise RuntimeError(
                "SADAR_PII_ENCRYPTION_KEYS and SADAR_PII_HASH_KEY must be set for Rasa's "
                "conversation store (`sadar run` and docker-compose.yml set them)."
            )
        self._cipher = PiiCipher(keys)
        self._hash_key = hash_key
        self._recent = RecentSessions(
            int(os.environ.get("SADAR_TRACKER_CACHE_CONVERSATIONS", DEFAULT_CACHED_CONVERSATIONS))
        )
        sqlite_file = _sqlite_file(str(kwargs.get("host") or ""))
        if sqlite_file is not None:
            owner_only(sqlite_file)  # before Rasa opens it: created owner-only, folder too
        super().__init__(*args, **kwargs)
        if sqlite_file is not None:
            self._use_sqlite_engine(sqlite_file)
            owner_only(sqlite_file)
        self._statements = TurnStatements.of(self.engine, self.SQLEvent.__tablename__)

    def _use_sqlite_engine(self, sqlite_file: Path) -> None:
        """Replace Rasa's SQLite engine (a new connection per session, rollback journal,
        full sync) by one pooled connection in WAL mode. A power cut may lose the last
        turns; the file stays consistent. The Rasa server runs the store on its event
        loop's thread only, so one connection is enough; the pool keeps a spare."""
        engine = sa.create_engine(
            self.engine.url,
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=2,
            connect_args={"timeout": 30, "check_same_thread": False},
        )

        @sa_event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()
            owner_only(sqlite_file)  # the WAL and SHM files appear on connect

        self.engine.dispose()
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=engine)

    def conversation_key(self, sender_id: str) -> str:
        return conversation_key(self._hash_key, sender_id)

    def _event_query(
        self, session: Any, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Any:
        return super()._event_query(
            session, self.conversation_key(sender_id), fetch_events_from_all_sessions
        )

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:
            with self.session_scope() as session:
                rows = self._event_query(session, sender_id, True).all()
                events = [self._decoded(row.data) for row in rows]
        else:
            events = self._current_events(sender_id)
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    def _decoded(self, data: str) -> dict[str, Any]:
        return json.loads(self._cipher.decrypt(data))  # type: ignore[no-any-return]  # JSON object

    def _current_events(self, sender_id: str) -> list[dict[str, Any]]:
        """The current session's events: the cached ones plus the rows written since, or
        the whole session read again when the cache cannot be trusted."""
        key = self.conversation_key(sender_id)
        table = self.SQLEvent
        cached = self._recent.get(key)
        if cached is not None:
            with self.engine.connect() as connection:
                rows_now, last_now = connection.exec_driver_sql(
                    self._statements.count_and_last, (key,)
                ).one()
            if rows_now == cached.rows and last_now == cached.last_id:
                cached.checked = True  # the usual turn: one query, nothing new
                return list(cached.events)
        with self.session_scope() as session:
            if cached is not None:
                still_there = (
                    session.query(sa.func.count(table.id))
                    .filter(table.sender_id == key, table.id <= cached.last_id)
                    .scalar()
                )
                if still_there == cached.rows:
                    newer = (
                        session.query(table.id, table.data)
                        .filter(table.sender_id == key, table.id > cached.last_id)
                        .order_by(table.id)
                        .all()
                    )
                    if newer:
                        events = current_session(
                            cached.events + [self._decoded(row.data) for row in newer]
                        )
                        cached = CachedSession(newer[-1].id, cached.rows + len(newer), events)
                        self._recent.put(key, cached)
                    cached.checked = True
                    return list(cached.events)
                self._recent.drop(key)  # rows were deleted (erasure, purge): read again
            rows = (
                self._event_query(session, sender_id, False)
                .with_entities(table.id, table.data)
                .all()
            )
            events = [self._decoded(row.data) for row in rows]
            if rows:
                last_id = rows[-1].id
                count = (
                    session.query(sa.func.count(table.id))
                    .filter(table.sender_id == key, table.id <= last_id)
                    .scalar()
                )
                self._recent.put(key, CachedSession(last_id, int(count), events, checked=True))
        return list(events)

    def _stored_known(self, key: str) -> int | None:
        """How many of the tracker's events are stored already, when this turn's read
        knows (the conversation's lock keeps other writers out meanwhile)."""
        cached = self._recent.get(key)
        if cached is not None and cached.checked:
            cached.checked = False
            return len(cached.events)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        key = self.conversation_key(tracker.sender_id)
        stored = self._stored_known(key)
        if stored is not None:
            new_events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            if not any(_is_erasure(event) for event in new_events):
                self._append(key, new_events)  # the usual turn
                return
        with self.session_scope() as session:
            if stored is None:  # counted as Rasa does
                stored = int(self._event_query(session, tracker.sender_id, False).count())
            new_events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            if any(_is_erasure(event) for event in new_events):
                self._recent.drop(key)
                erased = (
                    session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == key).delete()
                )
                session.commit()
                if self.engine.dialect.name == "sqlite":
                    # The WAL still holds the erased pages until a checkpoint: now, emptied.
                    session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
                log.info("conversation erased at the resident's request (%d events)", erased)
                return
        self._append(key, new_events)

    def _append(self, key: str, new_events: list[Any]) -> None:
        """The turn's new events, encrypted, in one statement and one transaction."""
        if not new_events:
            return
        rows, decoded = [], []
        for event in new_events:
            data = as_stored(event.as_dict())
            text = json.dumps(data)
            decoded.append(json.loads(text))  # as a later read would return it
            intent = (data.get("parse_data") or {}).get("intent", {}).get("name")
            rows.append(
                (key, event.type_name, data.get("timestamp"), intent, data.get("name"),
                 self._cipher.encrypt(text))
            )  # fmt: skip
        with self.engine.begin() as connection:
            connection.exec_driver_sql(self._statements.insert, rows)
            last_id = connection.exec_driver_sql(self._statements.last_id, (key,)).scalar()
        self._remember_saved(key, last_id, decoded)

    def _remember_saved(self, key: str, last_id: int | None, decoded: list[dict[str, Any]]) -> None:
        """Extend the cached session with what this turn wrote, whose last row is
        ``last_id``. Should another writer have added rows to the same conversation in
        between (replicas without a shared lock store), the next read's count no longer
        matches and it reads the session again."""
        cached = self._recent.get(key)
        if cached is None or last_id is None or not decoded:
            return
        events = current_session(cached.events + decoded)
        self._recent.put(key, CachedSession(int(last_id), cached.rows + len(decoded), events))


def _is_erasure(event: Any) -> bool:
    return isinstance(event, SlotSet) and event.key == ERASE_SLOT and event.value is True


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url[len(prefix) :] not in ("", ":memory:"):
        return Path(url[len(prefix) :])
    return None
