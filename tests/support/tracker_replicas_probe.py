"""Run by the Rasa environment's Python (3.10) from tests/security/test_conversation_store.py:
two conversation stores on one database, as two Rasa replicas would be, each with its
in-memory cache of recent sessions. Prints, as JSON, what each replica reads after the
other wrote, after a purge of the rows underneath, and after an erasure."""

from __future__ import annotations

import asyncio
import json
import sys

import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

from nlu.tracker_store import EncryptedSQLTrackerStore

DOMAIN = Domain.from_yaml(
    "slots:\n  nama:\n    type: text\n    mappings: [{type: custom}]\n"
    "  erase_conversation:\n    type: bool\n    mappings: [{type: custom}]\n"
)


async def turn(store: EncryptedSQLTrackerStore, sender: str, name: str) -> None:
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(name, {"name": "inform", "confidence": 1.0}))
    tracker.update(SlotSet("nama", name))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)


async def name_seen(store: EncryptedSQLTrackerStore, sender: str) -> str | None:
    tracker = await store.retrieve(sender)
    return None if tracker is None else tracker.get_slot("nama")


async def main(url: str) -> None:
    first = EncryptedSQLTrackerStore(host=url, domain=DOMAIN)
    second = EncryptedSQLTrackerStore(host=url, domain=DOMAIN)
    sender, seen = "wa:+6281234567009", {}
    await turn(first, sender, "Siti")
    seen["second_after_first"] = await name_seen(second, sender)
    await turn(second, sender, "Sri")
    seen["first_after_second"] = await name_seen(first, sender)  # its cache is stale
    await turn(first, sender, "Suti")
    seen["second_after_first_again"] = await name_seen(second, sender)
    with first.engine.begin() as connection:  # the retention purge, from outside
        connection.execute(sa.text("DELETE FROM events"))
    seen["first_after_purge"] = await name_seen(first, sender)
    await turn(first, sender, "Sari")
    tracker = await second.get_or_create_tracker(sender)
    tracker.update(SlotSet("erase_conversation", True))
    await second.save(tracker)
    seen["first_after_erasure"] = await name_seen(first, sender)
    with first.engine.connect() as connection:
        seen["rows_left"] = connection.execute(sa.text("SELECT count(*) FROM events")).scalar()
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
