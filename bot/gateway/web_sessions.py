"""The web chat's conversation ids: issued by the server, signed, ended by inactivity or
by the resident ("keluar", read by bot/channels/web.py).

A client used to choose its own id, so rotating ids escaped the per-conversation limit and
an id kept in a shared browser's storage continued someone's conversation forever. Now an
id is ``<random>.<HMAC>``: a made-up or altered one is refused (422, and the page asks for
a new one), and so is one unused for the idle minutes, or ended. Whether an id is live is
kept in the database (bot.services.web_sessions); the conversation in Rasa's store stays,
but a new id is a new conversation."""

from __future__ import annotations

import asyncio
import re
import secrets

from bot.domain.clock import Clock
from bot.domain.senders import Channel, make_sender_id
from bot.infra.privacy import keyed_hash, secrets_match
from bot.infra.settings import Settings
from bot.services.web_sessions import WebSessionBook

#: ``<24 hex>.<32 hex>``: fits the web sender pattern and a localStorage slot.
_TOKEN = re.compile(r"^([0-9a-f]{24})\.([0-9a-f]{32})$")


def session_secret(settings: Settings) -> str:
    """SADAR_WEB_SESSION_SECRET, else a key derived from SADAR_PII_HASH_KEY (never the key
    itself: a signature must not double as a participant hash)."""
    if settings.web_session_secret is not None:
        return settings.web_session_secret.get_secret_value()
    return keyed_hash(settings.pii_hash_key.get_secret_value(), "web-session-signing-key")


class WebSessions:
    def __init__(self, secret: str, book: WebSessionBook, clock: Clock) -> None:
        self._secret = secret
        self._book = book
        self._clock = clock

    def _signature(self, local_id: str) -> str:
        return keyed_hash(self._secret, f"web:{local_id}")[:32]

    def _signed_id(self, token: str) -> str | None:
        found = _TOKEN.match(token or "")
        if found is None or not secrets_match(found.group(2), self._signature(found.group(1))):
            return None
        return found.group(1)

    async def issue(self) -> str:
        local_id = secrets.token_hex(12)
        await asyncio.to_thread(self._book.open, local_id, self._clock.now())
        return f"{local_id}.{self._signature(local_id)}"

    async def admit(self, token: str, *, touch: bool = True) -> str | None:
        """The sender id (``web:<id>``) of a well-signed, live id; None otherwise.
        ``touch``: this is the resident's activity (a message), which keeps it alive; the
        page's news polls are not (and write nothing)."""
        local_id = self._signed_id(token)
        if local_id is None:
            return None
        now = self._clock.now()
        if not await asyncio.to_thread(self._book.admit, local_id, now, touch=touch):
            return None
        return make_sender_id(Channel.WEB, local_id)

    async def end(self, token: str) -> None:
        local_id = self._signed_id(token)
        if local_id is not None:
            await asyncio.to_thread(self._book.end, local_id)
