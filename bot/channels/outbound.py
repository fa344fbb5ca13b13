"""The one way Sadar sends a message: ``Outbox.send(recipient, message)``.

Replies to residents and, later, reminders both come through here, so that rate limits,
retries, delivery records and log masking are done once. A recipient is a namespaced
sender id ("tg:<chat id>", "wa:+62…"); each channel has a ``ChannelSender`` that speaks
its platform's API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.domain.replies import BotReply
from bot.domain.senders import Channel, SenderId
from bot.infra import metrics
from bot.infra.privacy import mask_sender
from bot.infra.shared_state import RateLimiter, acquire, within_window
from bot.services.channel_log import ChannelLog
from bot.services.courier import Handover

log = logging.getLogger(__name__)
#: Share of a channel's configured overall limit actually used (see ``Outbox._pace``).
SAFETY_MARGIN = 0.97


class TransientSendError(Exception):
    """The platform could not take the message now (network, 5xx, 429); try again later."""


class PermanentSendError(Exception):
    """The platform refused the message (blocked bot, bad number); retrying will not help."""


class UncertainSendError(Exception):
    """The request went out but no answer came back (a read timeout): the platform may have
    the message. Never retried, so that nothing is sent twice."""


@dataclass(frozen=True)
class Accepted:
    """The platform's id for a message it accepted (None where it has no global id) and
    the status it reported."""

    provider_message_id: str | None
    status: str


class ChannelSender(Protocol):
    channel: Channel

    async def deliver(self, address: str, message: BotReply) -> list[Accepted]:
        """Hand one message to the platform; ``address`` is the local part of the id.
        Raises TransientSendError or PermanentSendError."""

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Pace:
    """A rate limit: ``rate`` per second with bursts of up to ``burst``."""

    rate: float
    burst: int = 1


@dataclass(frozen=True)
class ChannelLimits:
    """Throughput per channel overall (per sending number on WhatsApp) and per chat;
    ``bulk``: the part of ``overall`` bulk sends (reminders) may take, keeping the rest free
    for conversation."""

    overall: Pace
    per_recipient: Pace | None = None
    bulk: Pace | None = None


#: Sends that may only use a channel's ``bulk`` share.
BULK_PURPOSES = frozenset({"reminder"})


@dataclass(frozen=True)
class SendOutcome:
    recipient: str
    ok: bool
    accepted: tuple[Accepted, ...] = ()
    error: str | None = None
    attempts: int = 1
    #: False when the platform refused for good (blocked bot, invalid number).
    retryable: bool = False
    #: ``outbound_messages`` ids recorded for this send.
    record_ids: tuple[int, ...] = ()
    #: The platform may have the message although it did not confirm it.
    uncertain: bool = False
    #: The caller's handover check said no: nothing was handed to the platform.
    cancelled: bool = False


class Outbox:
    def __init__(
        self,
        senders: dict[Channel, ChannelSender],
        limiter: RateLimiter,
        limits: dict[Channel, ChannelLimits],
        channel_log: ChannelLog | None = None,
        max_attempts: int = 4,
        first_backoff_seconds: float = 0.5,
    ):
        self._senders = senders
        self._limiter = limiter
        self._limits = limits
        self._log = channel_log
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff_seconds

    def has_channel(self, channel: Channel) -> bool:
        return channel in self._senders

    async def _pace(self, channel: Channel, recipient: str, purpose: str) -> None:
        """Per chat first; for a bulk send (a reminder) a slot of the bulk share; then an
        evenly spaced slot of the channel's overall rate; then a hard cap of that rate in
        any one-second window, so that delays since the slot (a busy event loop) never push
        a second over. Overall paces run at ``SAFETY_MARGIN`` of the configured limit: the
        platform sees our sends with some network jitter."""
        limits = self._limits.get(channel)
        if limits is None:
            return
        if limits.per_recipient is not None:
            pace = limits.per_recipient
            await acquire(self._limiter, f"{channel.value}:to:{recipient}", pace.rate, pace.burst)
        if limits.bulk is not None and purpose in BULK_PURPOSES:
            bulk = limits.bulk.rate * SAFETY_MARGIN
            await acquire(self._limiter, f"{channel.value}:bulk", bulk, limits.bulk.burst)
        rate = limits.overall.rate * SAFETY_MARGIN
        await acquire(self._limiter, f"{channel.value}:all", rate, limits.overall.burst)
        await within_window(self._limiter, f"{channel.value}:all", max(1, int(rate)))

    def deliverer(self, recipient: str) -> Callable[[list[BotReply]], Awaitable[None]]:
        """The replies to one message, sent in order (the router's ``Deliver``)."""

        async def deliver(replies: list[BotReply]) -> None:
            for reply in replies:
                await self.send(recipient, reply)

        return deliver

    async def send(
        self,
        recipient: str,
        message: BotReply,
        purpose: str = "reply",
        on_handover: Handover | None = None,
    ) -> SendOutcome:
        """Send one message, retrying transient failures with backoff; never raises for a
        platform failure: the outcome says what happened and the database records it."""
        parsed = SenderId.parse(recipient)
        channel, address = parsed.channel, parsed.address
        sender = self._senders.get(channel)
        if sender is None:
            raise ValueError(f"no sender configured for channel {channel.value!r}")
        error: str | None = None
        retryable, uncertain = True, False
        attempt = 0
        for attempt in range(1, self._max_attempts + 1):
            await self._pace(channel, recipient, purpose)
            if on_handover is not None and not await on_handover():
                log.warning("send to %s cancelled before handover", mask_sender(recipient))
                metrics.MESSAGES_OUT.labels(channel.value, purpose, "cancelled").inc()
                return SendOutcome(recipient, False, attempts=attempt, cancelled=True)
            try:
                accepted = await sender.deliver(address, message)
            except TransientSendError as failure:
                error = str(failure)
                log.warning(
                    "sending to %s failed (attempt %d/%d): %s",
                    mask_sender(recipient),
                    attempt,
                    self._max_attempts,
                    error,
                )
                if attempt < self._max_attempts:
                    await asyncio.sleep(self._first_backoff * 2 ** (attempt - 1))
                continue
            except PermanentSendError as failure:
                error, retryable = str(failure), False
                break
            except UncertainSendError as failure:
                error, retryable, uncertain = str(failure), False, True
                break
            ids = await self._record(
                recipient,
                purpose,
                message,
                attempt,
                [(a.status, a.provider_message_id) for a in accepted],
            )
            metrics.MESSAGES_OUT.labels(channel.value, purpose, "sent").inc()
            return SendOutcome(recipient, True, tuple(accepted), attempts=attempt, record_ids=ids)
        log.error("message to %s not sent: %s", mask_sender(recipient), error)
        status = "unknown" if uncertain else "failed"
        metrics.MESSAGES_OUT.labels(channel.value, purpose, status).inc()
        ids = await self._record(
            recipient, purpose, message, attempt, [(status, None)], error=error or "unknown"
        )
        return SendOutcome(
            recipient,
            False,
            error=error,
            attempts=attempt,
            retryable=retryable,
            record_ids=ids,
            uncertain=uncertain,
        )

    async def _record(
        self,
        recipient: str,
        purpose: str,
        message: BotReply,
        attempts: int,
        rows: list[tuple[str, str | None]],
        error: str | None = None,
    ) -> tuple[int, ...]:
        """One ``outbound_messages`` row per (status, platform id); a database outage is
        logged, it does not undo the send. Returns the ids recorded."""
        if self._log is None:
            return ()
        template_id = message.template.content_sid if message.template else None
        ids = []
        for status, provider_message_id in rows:
            try:
                ids.append(
                    await asyncio.to_thread(
                        self._log.record_outbound,
                        recipient,
                        purpose,
                        status,
                        provider_message_id=provider_message_id,
                        template_id=template_id,
                        error=error,
                        attempts=attempts,
                    )
                )
            except SQLAlchemyError as failure:
                log.error("could not record a message to %s: %r", mask_sender(recipient), failure)
        return tuple(ids)

    async def aclose(self) -> None:
        for sender in self._senders.values():
            await sender.aclose()
        await self._limiter.aclose()
