"""A KTP photo in a conversation, on the gateway's side: read once Rasa says the form may
take it, and its checked fields kept while the resident confirms them.

The fields wait in the shared store, encrypted, for minutes (``ttl_seconds``), and travel
to Rasa only as signed metadata of the resident's next messages, which the conversation
store drops (nlu/tracker_store.py). They become the resident's data, stored like any typed
answer, only when the resident says they are right. The photo's bytes never leave the
call that reads them."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.domain.ktp import (
    PROBLEM_METADATA,
    READING_METADATA,
    NoReading,
    PhotoStep,
    form_answers,
)
from bot.domain.replies import BotReply
from bot.infra.crypto import PiiCipher
from bot.infra.shared_state import SharedStore

if TYPE_CHECKING:  # the reader loads OpenCV and libtesseract: only where photos are read
    from bot.services.ktp_photo.reader import KtpPhotoReader

log = logging.getLogger(__name__)

#: Long enough to answer "Benar?" after a question or two; short enough to forget soon.
PENDING_TTL_SECONDS = 15 * 60


class PhotoReadings:
    """One per gateway process; what waits for confirmation is in the shared store, so any
    gateway sharing it carries the resident's next message."""

    def __init__(
        self,
        reader: KtpPhotoReader | None,
        store: SharedStore,
        cipher: PiiCipher,
        key_of: Callable[[str], str],
        today: Callable[[], date],
        ttl_seconds: int = PENDING_TTL_SECONDS,
    ) -> None:
        self._reader = reader
        self._store = store
        self._cipher = cipher
        self._key_of = key_of
        self._today = today
        self._ttl = ttl_seconds

    def _key(self, sender_id: str) -> str:
        return f"ktp:{self._key_of(sender_id)}"

    async def read(self, sender_id: str, photo: bytes | None) -> dict[str, Any]:
        """The metadata of the "photo read" turn: the fields (kept until confirmed or
        forgotten), or the problem that has its own tip. ``photo`` None: it could not be
        fetched from the platform."""
        await self.forget(sender_id)  # a new photo replaces what an earlier one gave
        if photo is None:
            return {PROBLEM_METADATA: NoReading.NOT_RECEIVED.value}
        if self._reader is None:
            return {PROBLEM_METADATA: NoReading.UNAVAILABLE.value}
        result = await self._reader.read_async(photo, self._today())
        if result.refused is not None:
            log.info("KTP photo refused: %s (%s)", result.refused.why.value, result.refused)
            return {PROBLEM_METADATA: result.refused.why.value}
        answers = form_answers(result.reading) if result.reading is not None else {}
        if "nik" not in answers:
            # Only a NIK that passed its checks vouches for a good read: without one, a name
            # read off a dark or blurred photo may be noise. The tip says how to retake it.
            problem = result.problem.value if result.problem else NoReading.UNCLEAR.value
            return {PROBLEM_METADATA: problem}
        await self._store.put(
            self._key(sender_id), self._cipher.encrypt(json.dumps(answers)), self._ttl
        )
        return {READING_METADATA: answers}

    async def pending(self, sender_id: str) -> dict[str, Any]:
        """Metadata for the sender's next message while "Benar?" waits ({} otherwise)."""
        saved = await self._store.get(self._key(sender_id))
        if saved is None:
            return {}
        return {READING_METADATA: json.loads(self._cipher.decrypt(saved))}

    async def after_turn(self, sender_id: str, replies: list[BotReply]) -> None:
        """Kept only while Rasa's replies still ask "Benar?" about them: confirmed,
        corrected, refused or left for anything else, they are forgotten."""
        if not any(reply.photo_step == PhotoStep.CONFIRMING for reply in replies):
            await self.forget(sender_id)

    async def forget(self, sender_id: str) -> None:
        await self._store.delete(self._key(sender_id))

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
