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
- creates a local SQLite file readable by its owner only.

Old conversations in clear are converted by ``sadar conversations migrate``; conversations
past the retention period are deleted by ``sadar conversations purge`` (bot/services/
conversations.py), which the reminder worker runs every day.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.crypto import PiiCipher
from bot.privacy import conversation_key, owner_only

log = logging.getLogger(__name__)
#: Set to True by the erasure action: the store deletes the conversation on save.
ERASE_SLOT = "erase_conversation"


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
        sqlite_file = _sqlite_file(str(kwargs.get("host") or ""))
        if sqlite_file is not None:
            owner_only(sqlite_file)  # before Rasa opens it: created owner-only, folder too
        super().__init__(*args, **kwargs)
        if sqlite_file is not None:
            owner_only(sqlite_file)

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
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [json.loads(self._cipher.decrypt(row.data)) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        key = self.conversation_key(tracker.sender_id)
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
            if any(_is_erasure(event) for event in new_events):
                erased = (
                    session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == key).delete()
                )
                session.commit()
                log.info("conversation erased at the resident's request (%d events)", erased)
                return
            for event in new_events:
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=key,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=(data.get("parse_data") or {}).get("intent", {}).get("name"),
                        action_name=data.get("name"),
                        data=self._cipher.encrypt(json.dumps(data)),
                    )
                )
            session.commit()


def _is_erasure(event: Any) -> bool:
    return isinstance(event, SlotSet) and event.key == ERASE_SLOT and event.value is True


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url[len(prefix) :] not in ("", ":memory:"):
        return Path(url[len(prefix) :])
    return None
