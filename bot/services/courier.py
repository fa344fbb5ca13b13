"""The port through which use cases send messages they start themselves (a consent code, a
reminder): the Outbox (bot/channels/outbound.py) in the running processes. Services depend
on this shape, not on the channels package, so the dependency points one way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.domain.replies import BotReply
from bot.domain.senders import Channel

#: Called once the rate limiter let the message through, right before the platform call:
#: from here on a crash leaves it unknown whether the message went out. Returning False
#: cancels the send (e.g. the reminder was taken away from this worker meanwhile).
Handover = Callable[[], Awaitable[bool]]


class Delivery(Protocol):
    """How one send ended."""

    @property
    def ok(self) -> bool: ...
    @property
    def uncertain(self) -> bool: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def retryable(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    @property
    def record_ids(self) -> tuple[int, ...]: ...


class Courier(Protocol):
    def has_channel(self, channel: Channel) -> bool: ...

    async def send(
        self,
        recipient: str,
        message: BotReply,
        purpose: str = ...,
        on_handover: Handover | None = ...,
    ) -> Delivery: ...
