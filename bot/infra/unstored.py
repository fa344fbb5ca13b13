"""What the conversation store never keeps (issue 30): the fields read from a KTP photo
before the resident confirms them. They travel to Rasa as signed metadata of the resident's
messages and are shown in one bot message; both are redacted here as the events are stored
(nlu/tracker_store.py). Once confirmed, the form's slots hold them like any typed answer.
Pure, and importable by Rasa's Python 3.10."""

from __future__ import annotations

from typing import Any

from bot.infra.signed_metadata import SIGNED_KEY

#: Signed metadata keys for the turn only (bot.domain.ktp's READING_METADATA).
UNSTORED_KEYS = frozenset({"ktp_reading"})
#: The response that shows the fields read from a photo (domain.yml; actions/ktp_photo.py).
PHOTO_FIELDS_RESPONSE = "utter_ktp_photo_read"
#: Responses whose text shows fields read from a photo.
UNSTORED_RESPONSES = frozenset({PHOTO_FIELDS_RESPONSE})
#: What a redacted bot message says in the stored conversation.
REDACTED_TEXT = "[data dari foto KTP: tidak disimpan]"


def as_stored(data: dict[str, Any]) -> dict[str, Any]:
    """An event as the conversation store keeps it (the input is left untouched)."""
    if data.get("event") == "user":
        return _without_reading(data)
    if data.get("event") == "bot":
        metadata = data.get("metadata")
        if isinstance(metadata, dict) and metadata.get("utter_action") in UNSTORED_RESPONSES:
            # The text and the values it was filled with (Rasa keeps them as metadata).
            return {
                **data,
                "text": REDACTED_TEXT,
                "metadata": {"utter_action": metadata["utter_action"]},
            }
    return data


def _without_reading(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    parse_data = data.get("parse_data")
    if isinstance(parse_data, dict):
        data["parse_data"] = parse_data = dict(parse_data)
    for holder in (data, parse_data):
        if not isinstance(holder, dict):
            continue
        metadata = holder.get("metadata")
        signed = metadata.get(SIGNED_KEY) if isinstance(metadata, dict) else None
        if isinstance(signed, dict) and UNSTORED_KEYS & signed.keys():
            kept = {k: v for k, v in signed.items() if k not in UNSTORED_KEYS}
            holder["metadata"] = {**metadata, SIGNED_KEY: kept}  # type: ignore[dict-item]
    return data
