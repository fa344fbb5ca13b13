"""The web chat's turns: a message (retried requests answered once, "keluar" ending the
conversation), the greeting when the page opens, and the news an agent wrote since the page
last asked. The gateway's routes (bot/gateway/app.py) only verify the request (size, signed
live session, rate limits) and hand the sender id over."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot import messages
from bot.conversation import ConversationRouter, Patience, RasaBusy, RasaUnavailable
from bot.domain.replies import BotReply
from bot.infra.crypto import PiiCipher
from bot.infra.shared_state import SharedStore
from bot.services.handoff import Author, WebNews

log = logging.getLogger(__name__)

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
#: Sent to Rasa on the resident's behalf when the chat page opens (not typed by anyone).
GREETING_PAYLOAD = "/greet"
#: What the resident types to end the web conversation (like Telegram's /start, a control
#: of the channel, not something Rasa reads).
_END_WORDS = frozenset({"keluar", "/keluar"})


def ends_session(text: str) -> bool:
    """ "keluar" (any case, a full stop or two around it) as the whole message."""
    return text.strip().strip(".!").strip().lower() in _END_WORDS


def replies_json(replies: list[BotReply]) -> list[dict[str, Any]]:
    return [r.as_json() for r in replies if not r.is_empty]


def gateway_says(text: str) -> dict[str, Any]:
    """One reply from Sadar itself (Rasa busy, too many messages), as the chat shows it."""
    return {"replies": [BotReply(text=text).as_json()]}


def said(news: WebNews) -> str:
    """A message of a conversation with a person, as the web resident reads it."""
    if news.author is Author.AGENT:
        return messages.HANDOFF_FROM_AGENT.format(agent=news.agent_first_name, text=news.text)
    if news.author is Author.ADMIN:
        return messages.HANDOFF_FROM_ADMIN.format(text=news.text)
    return news.text


@dataclass(frozen=True)
class WebAnswer:
    """The JSON body, status code and headers the page gets."""

    body: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def busy_answer(busy: RasaBusy) -> WebAnswer:
    """503 "sedang ramai" with Retry-After: the page shows it and sends the same message
    again by itself (the same message id, answered once)."""
    seconds = busy.retry_after_seconds
    return WebAnswer(
        {**gateway_says(messages.BUSY), "retry_after": seconds},
        503,
        {"Retry-After": str(seconds)},
    )


class WebConversations:
    """Turns one admitted web chat request into the page's answer."""

    def __init__(
        self,
        router: ConversationRouter,
        store: SharedStore,
        end_session: Callable[[str], Awaitable[None]],
        news: Callable[[str], list[WebNews]],
        wait_seconds: float,
        admission_wait_seconds: float | None = None,
        cipher: PiiCipher | None = None,
    ):
        self._router = router
        self._store = store
        self._end_session = end_session
        self._news = news
        self._wait_seconds = wait_seconds
        # A person at a page waits a few seconds at most, then is told and the page retries.
        self._patience = Patience(wait_seconds=admission_wait_seconds)
        # The answers kept for retries hold what the resident gave (a summary, the fields of
        # a KTP photo): encrypted in the shared store, like every personal datum at rest.
        self._cipher = cipher

    async def message(
        self, session: str, sender_id: str, text: str, message_id: str | None
    ) -> WebAnswer:
        """``session``: the issued id the page sent, ``sender_id`` the sender it admits."""
        if ends_session(text):
            # A control of the web channel: the page forgets the id, and a new one starts a
            # new conversation (a shared browser does not hand this one to the next person).
            await self._end_session(session)
            return WebAnswer({**gateway_says(messages.WEB_SESSION_ENDED), "ended": True})
        key = f"web:{sender_id}:{message_id}" if message_id else None
        if key and not await self._store.claim(key, IDEMPOTENCY_TTL_SECONDS):
            return await self._answer_of_earlier_attempt(key)
        try:
            replies = await self._router.handle(sender_id, text, patience=self._patience)
        except RasaUnavailable as error:
            if key:
                await self._store.delete(key)  # never processed: the retry is taken anew
            if isinstance(error, RasaBusy):
                return busy_answer(error)
            log.error("chat message not processed: %s", error)
            return WebAnswer(gateway_says(messages.RASA_UNAVAILABLE), 503)
        body = {"replies": replies_json(replies)}
        if key:
            saved = json.dumps(body)
            saved = self._cipher.encrypt(saved) if self._cipher else saved
            await self._store.put(key, saved, IDEMPOTENCY_TTL_SECONDS)
        return WebAnswer(body)

    async def photo(self, sender_id: str, data: bytes) -> WebAnswer:
        """A KTP photo uploaded from the page: read only if the form may take it now."""

        async def uploaded() -> bytes:
            return data

        try:
            async with self._router.turn(sender_id):
                replies = await self._router.photo(sender_id, uploaded, patience=self._patience)
        except RasaBusy as busy:
            return busy_answer(busy)
        except RasaUnavailable as error:
            log.error("chat photo not processed: %s", error)
            return WebAnswer(gateway_says(messages.RASA_UNAVAILABLE), 503)
        return WebAnswer({"replies": replies_json(replies)})

    async def start(self, sender_id: str) -> WebAnswer:
        """The page opened: the greeting and the main choices, or, in the middle of a
        registration, its pending question again (the resident typed nothing)."""
        try:
            replies = await self._router.handle(
                sender_id, GREETING_PAYLOAD, trusted=True, patience=self._patience
            )
        except RasaBusy as busy:
            return busy_answer(busy)
        except RasaUnavailable as error:
            log.error("greeting not sent: %s", error)
            return WebAnswer(gateway_says(messages.RASA_UNAVAILABLE), 503)
        return WebAnswer({"replies": replies_json(replies)})

    async def news(self, sender_id: str) -> WebAnswer:
        """What an agent answered since the page last asked (nothing is pushed to a
        browser); it writes nothing unless there is news."""
        news = await asyncio.to_thread(self._news, sender_id)
        return WebAnswer({"replies": replies_json([BotReply(text=said(n)) for n in news])})

    async def _answer_of_earlier_attempt(self, key: str) -> WebAnswer:
        """A retry of a message already received: wait for the first attempt's replies."""
        deadline = asyncio.get_running_loop().time() + self._wait_seconds
        while asyncio.get_running_loop().time() < deadline:
            saved = await self._store.get(key)
            if saved is not None:
                return WebAnswer(json.loads(self._cipher.decrypt(saved) if self._cipher else saved))
            await asyncio.sleep(0.1)
        return WebAnswer(gateway_says(messages.STILL_PROCESSING), 409)
