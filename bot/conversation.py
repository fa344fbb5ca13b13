"""The one path every channel uses to hand a message to Rasa and get replies back.

Channels (web, Telegram, WhatsApp) translate their wire formats to and from
``BotReply``; ordering per sender and the outage reply are handled here, once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from bot import messages
from bot.domain.ktp import PHOTO_READ_INTENT, PHOTO_SENT_INTENT, PhotoStep
from bot.domain.replies import BotReply, Button, for_delivery
from bot.domain.senders import InvalidSenderId, channel_of
from bot.infra import metrics
from bot.infra.admission import AdmissionGate, NotAdmitted, Priority
from bot.infra.privacy import mask_sender
from bot.infra.shared_state import MemoryStore, SharedStore
from bot.infra.signed_metadata import sign, signing_key

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000

#: Sadar's channel on the Rasa server (nlu/channels.py); Rasa's open `rest` one is off.
RASA_WEBHOOK_PATH = "/webhooks/sadar/webhook"


Deliver = Callable[[list[BotReply]], Awaitable[None]]

PHOTO_SENT_PAYLOAD = f"/{PHOTO_SENT_INTENT}"
PHOTO_READ_PAYLOAD = f"/{PHOTO_READ_INTENT}"

#: Offered button payloads stay pressable this long (WhatsApp's service window).
OFFERS_TTL_SECONDS = 24 * 3600


class OfferedButtons:
    """The buttons last offered to each sender: one record per sender, written once per
    turn, the one memory of offers for every channel.

    Rasa reads any text that starts with "/" as an intent with entities ('/inform{"nik": …}'),
    so typed text is passed on as a button press only when it is one of the payloads of the
    sender's last turn that Rasa answered; anything else loses its "/" and is read as words.
    A channel without buttons (WhatsApp) lists the last reply's buttons as numbered options;
    ``numbered`` gives them back, so that "2" presses the second, until a turn ends without
    options."""

    def __init__(self, store: SharedStore, key_of: Callable[[str], str]):
        self._store = store
        self._key_of = key_of

    def _key(self, sender_id: str) -> str:
        return f"offers:{self._key_of(sender_id)}"

    async def _saved(self, sender_id: str) -> tuple[list[str], tuple[Button, ...]]:
        saved = json.loads(await self._store.get(self._key(sender_id)) or "{}")
        if isinstance(saved, list):  # written before the numbered options joined the record
            return saved, ()
        numbered = tuple(Button(title, payload) for title, payload in saved.get("numbered", ()))
        return saved.get("payloads", []), numbered

    async def remember(
        self, sender_id: str, replies: list[BotReply], *, from_rasa: bool = True
    ) -> None:
        """The end of a turn. ``from_rasa``: Rasa answered, so its buttons are what may be
        pressed now. A turn Sadar answered itself (empty, too long, a conversation with a
        person, a report) keeps the last Rasa turn's payloads but its own options (none,
        usually) replace the numbered ones."""
        numbered = next((r.buttons for r in reversed(replies) if r.buttons), ())
        if from_rasa:
            payloads = sorted({b.payload for r in replies for b in r.buttons})
        else:
            payloads, before = await self._saved(sender_id)
            if not numbered and not before:
                return  # nothing changes
        if payloads or numbered:
            record = {"payloads": payloads, "numbered": [[b.title, b.payload] for b in numbered]}
            await self._store.put(self._key(sender_id), json.dumps(record), OFFERS_TTL_SECONDS)
        else:
            await self._store.delete(self._key(sender_id))

    async def allows(self, sender_id: str, text: str) -> bool:
        payloads, _ = await self._saved(sender_id)
        return text in payloads

    async def numbered(self, sender_id: str) -> tuple[Button, ...]:
        """The options the sender's last message listed, in their order."""
        _, buttons = await self._saved(sender_id)
        return buttons


def neutralised(text: str) -> str:
    """Typed text that only looks like a button press: read as words, not as an intent."""
    return text.lstrip("/").strip() or text


class RasaUnavailable(RuntimeError):
    """Rasa did not answer; the message was not processed and may be sent again."""


class RasaBusy(RasaUnavailable):
    """The turn waited its longest for a place at Rasa (a burst); Rasa never saw it."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("Rasa is at capacity: the turn was not admitted in time")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Patience:
    """How a channel's turn waits under a burst. ``wait_seconds``: give up (RasaBusy) after
    this long at Rasa's gate; None waits as long as it takes (WhatsApp and Telegram never
    drop a message). ``notice_after``: a message not answered this long after it arrived
    (behind the sender's earlier messages, at the gate, in Rasa) is acknowledged once with
    "mohon tunggu" (``ConversationRouter.turn``)."""

    wait_seconds: float | None = None
    notice_after: float | None = None


#: A sender counts as in the middle of a conversation this long after their last turn.
ONGOING_SECONDS = 15 * 60
#: At most one "mohon tunggu" per sender in this long, however many messages wait.
NOTICE_EVERY_SECONDS = 5 * 60
#: The running turn's "mohon tunggu" timer: its answer, once on its way, cancels it.
_LATE_NOTICE: ContextVar[asyncio.Task[None] | None] = ContextVar("late_notice", default=None)


def _is_message(item: Any) -> bool:
    """One message of Rasa's REST channel: a dict whose text is a string (or absent) and
    whose buttons, if any, are dicts."""
    if not isinstance(item, dict) or not isinstance(item.get("text", ""), str | None):
        return False
    buttons = item.get("buttons") or []
    return isinstance(buttons, list) and all(isinstance(b, dict) for b in buttons)


def rasa_replies(response: httpx.Response, url: str) -> list[BotReply]:
    """Rasa's answer as replies. Anything else than a list of messages (a dict, null,
    HTML from a proxy, a list of strings) is a failed turn like a 5xx: the resident gets
    the polite "try again", and neither the body nor the message reaches a log."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, list) or not all(_is_message(item) for item in body):
        metrics.RASA_ERRORS.labels(reason="bad_answer").inc()
        raise RasaUnavailable(
            f"Rasa at {url} gave an unexpected answer "
            f"({response.headers.get('content-type', 'no content type')})"
        )
    return [BotReply.from_rasa(item) for item in body]


class RasaClient:
    """Talks to Sadar's channel (``RASA_WEBHOOK_PATH``, Rasa's REST protocol behind the
    shared ``channel_token``, which also signs the metadata) of one or several Rasa
    servers. Each sender stays on one server (a stable hash), so its turns are not spread;
    a server that refuses the connection never saw the message, so the next one in the ring
    takes it (the servers share conversations through the tracker store and Redis locks)."""

    def __init__(
        self,
        base_url: str | Sequence[str],
        timeout_seconds: float,
        http: httpx.AsyncClient | None = None,
        connect_retries: int = 2,
        channel_token: str | None = None,
    ):
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("at least one Rasa URL is needed")
        self._urls = [url.rstrip("/") + RASA_WEBHOOK_PATH for url in urls]
        self._http = http or httpx.AsyncClient(timeout=timeout_seconds)
        self._headers = {"Authorization": f"Bearer {channel_token}"} if channel_token else {}
        self._signing_key = signing_key(channel_token) if channel_token else None
        self._connect_retries = connect_retries

    def urls_for(self, sender_id: str) -> list[str]:
        """The servers in the order this sender tries them."""
        if len(self._urls) == 1:
            return self._urls
        first = int.from_bytes(hashlib.blake2b(sender_id.encode(), digest_size=8).digest())
        start = first % len(self._urls)
        return self._urls[start:] + self._urls[:start]

    async def send(
        self, sender_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotReply]:
        body: dict[str, Any] = {"sender": sender_id, "message": text}
        if metadata and self._signing_key is not None:
            # Signed, so the actions can tell the gateway's facts from a forger's.
            body["metadata"] = sign(self._signing_key, sender_id, metadata)
        urls = self.urls_for(sender_id)
        for attempt in range(self._connect_retries + 1):
            for url in urls:
                try:
                    response = await self._http.post(url, json=body, headers=self._headers)
                    response.raise_for_status()
                    return rasa_replies(response, url)
                except httpx.ConnectError as error:
                    # That server never saw the message (down, restarting): try the next.
                    log.warning("Rasa at %s refused the connection: %r", url, error)
                    continue
                except httpx.HTTPError as error:
                    # Rasa may have processed it (timeout, 5xx): never resend, or it acts twice.
                    reason = "timeout" if isinstance(error, httpx.TimeoutException) else "failed"
                    metrics.RASA_ERRORS.labels(reason=reason).inc()
                    raise RasaUnavailable(f"Rasa at {url} failed: {error!r}") from error
            if attempt < self._connect_retries:
                await asyncio.sleep(0.5 * 2**attempt)
        metrics.RASA_ERRORS.labels(reason="unreachable").inc()
        raise RasaUnavailable(f"no Rasa server reachable ({', '.join(urls)})")

    async def aclose(self) -> None:
        await self._http.aclose()


class Photos(Protocol):
    """Reads a KTP photo and keeps its fields while the resident confirms them
    (bot/services/ktp_photo/readings.py)."""

    async def read(self, sender_id: str, photo: bytes | None) -> dict[str, Any]: ...

    async def pending(self, sender_id: str) -> dict[str, Any]: ...

    async def after_turn(self, sender_id: str, replies: list[BotReply]) -> None: ...


#: Fetches a photo from its platform (None when it cannot be had).
FetchPhoto = Callable[[], Awaitable[bytes | None]]


class Interceptor(Protocol):
    """Takes a message before Rasa does (a conversation with a person: handoff_relay.py);
    None leaves it to Rasa."""

    async def intercept(self, sender_id: str, text: str) -> list[BotReply] | None: ...

    async def in_conversation(self, sender_id: str) -> bool:
        """The sender talks with a person now: a photo is not read by the bot."""


class ConversationRouter:
    """Sends each sender's messages to Rasa one at a time, in arrival order,
    while different senders proceed concurrently."""

    def __init__(
        self,
        rasa: RasaClient,
        offers: OfferedButtons | None = None,
        interceptor: Interceptor | None = None,
        photos: Photos | None = None,
        gate: AdmissionGate | None = None,
    ):
        self._rasa = rasa
        self._interceptor = interceptor
        self._photos = photos
        self._gate = gate
        # When each sender's last turn ended (this process): conversations under way are
        # admitted first. Bounded: the oldest are forgotten first.
        self._last_turn: OrderedDict[str, float] = OrderedDict()
        self._noticed: OrderedDict[str, float] = OrderedDict()
        # Closed by default: without a shared store, offers are remembered in this process.
        self._offers = offers or OfferedButtons(MemoryStore(), lambda sender_id: sender_id)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def offers(self) -> OfferedButtons:
        """What each sender was offered (a channel reads its numbered options here)."""
        return self._offers

    @property
    def interceptor(self) -> Interceptor | None:
        """What takes a message before Rasa (bot/bootstrap.py gives every process the same)."""
        return self._interceptor

    def _lock_for(self, sender_id: str) -> asyncio.Lock:
        lock = self._locks.get(sender_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[sender_id] = lock
        return lock

    @asynccontextmanager
    async def turn(
        self,
        sender_id: str,
        *,
        deliver: Deliver | None = None,
        patience: Patience | None = None,
    ) -> AsyncIterator[None]:
        """Hold the sender's turn. A channel enters it before the first ``await`` of an
        inbound message (the lock queues waiters first come, first served), so everything
        done for one message, before and after Rasa, ends before the sender's next one.

        With ``deliver`` and a ``patience`` that has ``notice_after``: if the message is
        still unanswered that long after it arrived, wherever it waits (behind the sender's
        earlier messages, at Rasa's gate, in Rasa), the resident is told once that it was
        received (at most once per sender in NOTICE_EVERY_SECONDS)."""
        notice = None
        if deliver is not None and patience is not None and patience.notice_after is not None:
            notice = asyncio.ensure_future(
                self._notice_later(sender_id, deliver, patience.notice_after)
            )
        try:
            async with self._lock_for(sender_id):
                token = _LATE_NOTICE.set(notice)
                try:
                    yield
                finally:
                    _LATE_NOTICE.reset(token)
                    metrics.TURNS_ENDED.labels(channel=_channel_label(sender_id)).inc()
        finally:
            if notice is not None:
                notice.cancel()

    async def _notice_later(self, sender_id: str, deliver: Deliver, seconds: float) -> None:
        await asyncio.sleep(seconds)
        noticed = self._noticed.get(sender_id)
        if noticed is not None and time.monotonic() - noticed < NOTICE_EVERY_SECONDS:
            return
        _remember(self._noticed, sender_id, time.monotonic())
        metrics.LATE_NOTICES.inc()
        try:
            await deliver([BotReply(text=messages.RECEIVED_PLEASE_WAIT)])
        except Exception:  # a notice that failed must not fail the turn that waits
            log.exception("the notice for a waiting message was not sent")

    async def handle(
        self,
        sender_id: str,
        text: str,
        metadata: dict[str, Any] | None = None,
        deliver: Deliver | None = None,
        *,
        trusted: bool = False,
        patience: Patience | None = None,
    ) -> list[BotReply]:
        """Replies for one inbound text; raises RasaUnavailable if Rasa is down (RasaBusy
        if it is at capacity and ``patience`` ran out).

        ``deliver`` runs within the sender's turn, so the replies to one message are out
        before the next message from the same sender is processed."""
        async with self.turn(sender_id, deliver=deliver, patience=patience):
            return await self.converse(
                sender_id, text, metadata, deliver, trusted=trusted, patience=patience
            )

    async def converse(
        self,
        sender_id: str,
        text: str,
        metadata: dict[str, Any] | None = None,
        deliver: Deliver | None = None,
        *,
        trusted: bool = False,
        patience: Patience | None = None,
    ) -> list[BotReply]:
        """``handle`` for a caller that already holds the sender's ``turn``. ``trusted``:
        the text comes from Sadar itself (the greeting when a chat opens), not a person."""
        text = text.strip()
        if text.startswith("/") and not trusted and not await self._offers.allows(sender_id, text):
            log.info("typed payload from %s read as words", mask_sender(sender_id))
            text = neutralised(text)
        from_rasa = False
        if not text:
            replies = [BotReply(text=messages.EMPTY_MESSAGE)]
        elif len(text) > MAX_MESSAGE_CHARS:
            replies = [BotReply(text=messages.MESSAGE_TOO_LONG.format(limit=MAX_MESSAGE_CHARS))]
        elif (intercepted := await self._intercepted(sender_id, text)) is not None:
            replies = intercepted
        else:
            from_rasa = True
            if self._photos is not None:
                # Fields read from a KTP photo and waiting for "Benar?" go with the answer.
                metadata = {**(metadata or {}), **await self._photos.pending(sender_id)}
            replies = await self._to_rasa(sender_id, text, metadata, patience, deliver)
        return await self._end_turn(sender_id, replies, from_rasa, deliver)

    async def photo(
        self,
        sender_id: str,
        fetch: FetchPhoto,
        deliver: Deliver | None = None,
        *,
        patience: Patience | None = None,
    ) -> list[BotReply]:
        """A photo, for a caller that holds the sender's ``turn``. Rasa first says whether
        the form may take one now (after consent, before the summary); only then is it
        fetched and read, and Rasa gets what it gave. Raises RasaUnavailable."""
        if self._photos is None:  # photos are not read here: one reply, Rasa not asked
            return await self._end_turn(
                sender_id, [BotReply(text=messages.NON_TEXT_MESSAGE)], False, deliver
            )
        if self._interceptor is not None and await self._interceptor.in_conversation(sender_id):
            reply = BotReply(text=messages.PHOTO_DURING_HANDOFF)
            return await self._end_turn(sender_id, [reply], False, deliver)
        asked = await self._to_rasa(sender_id, PHOTO_SENT_PAYLOAD, None, patience, deliver)
        if not any(r.photo_step == PhotoStep.READ for r in asked):
            return await self._end_turn(sender_id, asked, True, deliver)
        # Rasa's answer to "may I?" is a word to the gateway, not for the resident.
        metadata = await self._photos.read(sender_id, await fetch())
        replies = await self._to_rasa(sender_id, PHOTO_READ_PAYLOAD, metadata, patience, deliver)
        return await self._end_turn(sender_id, replies, True, deliver)

    async def _to_rasa(
        self,
        sender_id: str,
        text: str,
        metadata: dict[str, Any] | None,
        patience: Patience | None = None,
        deliver: Deliver | None = None,
    ) -> list[BotReply]:
        log.debug("-> rasa %s (%d chars)", mask_sender(sender_id), len(text))
        started = time.perf_counter()
        if self._gate is None:
            replies = await self._rasa.send(sender_id, text, metadata)
        else:
            replies = await self._admitted_send(sender_id, text, metadata, patience)
        metrics.TURN_SECONDS.labels(channel=_channel_label(sender_id)).observe(
            time.perf_counter() - started
        )
        if all(reply.is_empty for reply in replies):
            # Every Sadar turn answers; silence means a failed action (e.g. the action
            # server restarting). Say so, so the resident sends it again.
            log.warning("Rasa gave no reply to %s", mask_sender(sender_id))
            metrics.RASA_ERRORS.labels(reason="no_reply").inc()
            replies = [BotReply(text=messages.NO_REPLY)]
        return replies

    async def _admitted_send(
        self,
        sender_id: str,
        text: str,
        metadata: dict[str, Any] | None,
        patience: Patience | None,
    ) -> list[BotReply]:
        """The turn, once the gate admits it: conversations under way first."""
        assert self._gate is not None
        patience = patience or Patience()
        now = time.monotonic()
        last = self._last_turn.get(sender_id)
        priority = (
            Priority.ONGOING if last is not None and now - last < ONGOING_SECONDS else Priority.NEW
        )

        waited = time.perf_counter()
        try:
            async with self._gate.admitted(priority, wait_seconds=patience.wait_seconds):
                metrics.ADMISSION_WAIT_SECONDS.observe(time.perf_counter() - waited)
                replies = await self._rasa.send(sender_id, text, metadata)
        except NotAdmitted as refused:
            metrics.NOT_ADMITTED.inc()
            raise RasaBusy(retry_after_seconds=max(1, round(refused.waited_seconds))) from None
        _remember(self._last_turn, sender_id, time.monotonic())
        return replies

    async def _end_turn(
        self,
        sender_id: str,
        replies: list[BotReply],
        from_rasa: bool,
        deliver: Deliver | None,
    ) -> list[BotReply]:
        if from_rasa and self._photos is not None:
            await self._photos.after_turn(sender_id, replies)
        await self._offers.remember(sender_id, replies, from_rasa=from_rasa)
        if deliver is not None:
            notice = _LATE_NOTICE.get()
            if notice is not None:
                notice.cancel()  # answered: no "mohon tunggu" after the answer
            await deliver(for_delivery(replies))
        return replies

    async def _intercepted(self, sender_id: str, text: str) -> list[BotReply] | None:
        if self._interceptor is None or text.startswith("/"):
            return None  # button presses are the bot's
        return await self._interceptor.intercept(sender_id, text)


#: Senders remembered by one gateway process for priorities and notices.
_REMEMBERED_SENDERS = 100_000


def _remember(seen: OrderedDict[str, float], sender_id: str, at: float) -> None:
    seen[sender_id] = at
    seen.move_to_end(sender_id)
    while len(seen) > _REMEMBERED_SENDERS:
        seen.popitem(last=False)


def _channel_label(sender_id: str) -> str:
    try:
        return channel_of(sender_id).value
    except InvalidSenderId:
        return "other"
