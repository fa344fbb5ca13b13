"""Run by the Rasa environment's Python (3.10) from tests/security/test_conversation_store.py:
saves one conversation through Sadar's conversation store into the SQLite file given, the
way the Rasa server does, then reads it back and prints what Rasa sees (JSON)."""

from __future__ import annotations

import asyncio
import json
import sys

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

from nlu.tracker_store import EncryptedSQLTrackerStore


async def main(url: str, sender: str, text: str, erase: bool) -> None:
    domain = Domain.from_yaml("slots:\n  nik:\n    type: text\n    mappings: [{type: custom}]\n")
    store = EncryptedSQLTrackerStore(host=url, domain=domain)
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(text, {"name": "inform", "confidence": 1.0}))
    tracker.update(SlotSet("nik", text))
    tracker.update(ActionExecuted("action_listen"))
    if erase:
        tracker.update(SlotSet("erase_conversation", True))
    await store.save(tracker)
    again = await store.retrieve(sender)
    print(json.dumps({"slots": again.current_slot_values() if again else None}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "erase"))
