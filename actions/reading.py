"""The one reader of a tracker's latest message, as Rasa's NLU read it: every action reads
it here (``message_from`` for the interpreter's ``Message``; the helpers for one part)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot.infra.settings import Settings
from bot.infra.signed_metadata import signing_key, verified
from bot.understanding.interpreter import Entity, Message


def _latest(tracker: Tracker) -> dict[str, Any]:
    return tracker.latest_message or {}


def message_from(tracker: Tracker) -> Message:
    """The latest message as the interpreter reads it (text, intent, entities, ranking)."""
    latest = _latest(tracker)
    intent = latest.get("intent") or {}
    return Message(
        text=(latest.get("text") or "").strip(),
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        entities=tuple(
            Entity(e.get("entity", ""), e.get("value"), e.get("start"), e.get("end"))
            for e in latest.get("entities") or []
        ),
        ranking=tuple(
            (r.get("name", ""), float(r.get("confidence") or 0.0))
            for r in latest.get("intent_ranking") or []
        ),
    )


def latest_intent(tracker: Tracker) -> str | None:
    return message_from(tracker).intent


def latest_entity_value(tracker: Tracker, entity: str) -> Any:
    """The first value of ``entity`` in the latest message (None without one)."""
    return message_from(tracker).entity(entity)


def latest_entity_values(tracker: Tracker, entity: str) -> list[Any]:
    """Every value of ``entity`` in the latest message, in order."""
    return [e.value for e in message_from(tracker).entities if e.name == entity]


def message_text(tracker: Tracker) -> str:
    """The latest message exactly as the person typed it ("" for none)."""
    return str(_latest(tracker).get("text") or "")


def latest_metadata(tracker: Tracker) -> Any:
    """What the channel sent with the latest message (signed by the gateway when it
    vouches for it: bot/infra/signed_metadata.py)."""
    return _latest(tracker).get("metadata")


def gateway_metadata(tracker: Tracker, settings: Settings) -> dict[str, Any]:
    """The latest message's metadata that the gateway signed for this sender ({} for
    anything else: anyone reaching Rasa could claim a verified number or a photo's fields)."""
    channel_token = settings.rasa_channel_token_value
    return verified(
        signing_key(channel_token) if channel_token else None,
        tracker.sender_id,
        latest_metadata(tracker),
    )
