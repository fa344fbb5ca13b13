"""Message metadata the gateway vouches for (e.g. a Telegram contact the sender shared).

Rasa stores whatever metadata a caller of its channel sends, so a reader cannot tell the
gateway's facts from a forger's. The gateway therefore signs its metadata (HMAC-SHA256
over the sender id and the metadata) and readers accept only what verifies; anything
unsigned, badly signed or signed for another sender reads as no metadata at all. Pure:
the key comes from the caller (derived from SADAR_RASA_CHANNEL_TOKEN, see ``signing_key``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.infra.privacy import keyed_hash, secrets_match

#: Where the signed metadata travels inside Rasa's message metadata (Rasa adds keys of its
#: own, such as model_id, next to it; those are never signed and never read as ours).
SIGNED_KEY = "sadar"
SIGNATURE_KEY = "sadar_signature"


def signing_key(channel_token: str) -> str:
    """The metadata key, derived from the gateway's Rasa channel token (one secret to set;
    the two uses never share a key)."""
    return keyed_hash(channel_token, "sadar metadata signature v1")


def _signature(key: str, sender_id: str, metadata: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {"sender": sender_id, "metadata": metadata},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return keyed_hash(key, canonical)


def sign(key: str, sender_id: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata to send to Rasa for ``sender_id``, with its signature."""
    return {SIGNED_KEY: dict(metadata), SIGNATURE_KEY: _signature(key, sender_id, metadata)}


def verified(key: str | None, sender_id: str, received: Mapping[str, Any] | None) -> dict[str, Any]:
    """The gateway's metadata from what Rasa passed on, or {} when it does not verify
    (no key configured, unsigned, tampered, or signed for another sender)."""
    if not key or not isinstance(received, Mapping):
        return {}
    metadata, signature = received.get(SIGNED_KEY), received.get(SIGNATURE_KEY)
    if not isinstance(metadata, dict) or not isinstance(signature, str):
        return {}
    if not secrets_match(signature, _signature(key, sender_id, metadata)):
        return {}
    return dict(metadata)
