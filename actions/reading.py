"""What the latest message of a tracker says, as Rasa's NLU read it (intent, entities)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_entity_value(tracker: Tracker, entity: str) -> Any:
    for item in tracker.latest_message.get("entities") or []:
        if item.get("entity") == entity:
            return item.get("value")
    return None


def message_text(tracker: Tracker) -> str:
    """The latest message as the person typed it ("" for none)."""
    return str(tracker.latest_message.get("text") or "")
