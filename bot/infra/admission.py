"""Admission control in front of Rasa (issue 31): at most ``capacity`` turns in flight,
the rest wait in a queue that serves conversations already under way before new ones.

Past its capacity a Rasa server only gets slower for everyone: every turn queues inside
it, latency grows without bound and, as requests time out and are retried, fewer turns
are answered than at capacity (congestion collapse). Holding the excess here keeps Rasa at
its best rate; the caller decides what a wait means for its channel (the web chat answers
"sedang ramai" after a short wait, WhatsApp and Telegram wait their turn and say once that
the message was received)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import IntEnum


class Priority(IntEnum):
    """Lower is served first."""

    #: A resident in the middle of a conversation (a form half filled): served first, so
    #: the people already being helped finish.
    ONGOING = 0
    #: A new conversation, or one that was quiet for a while.
    NEW = 1


class NotAdmitted(RuntimeError):
    """The turn waited its longest and was not admitted; Rasa never saw it."""

    def __init__(self, waited_seconds: float) -> None:
        super().__init__(f"not admitted to Rasa within {waited_seconds:.1f} s")
        self.waited_seconds = waited_seconds


class AdmissionGate:
    """A priority semaphore for one event loop (one per gateway process and Rasa ring)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._in_flight = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._live_waiters = 0  # entries of _waiting not yet admitted nor given up
        self._order = itertools.count()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return self._live_waiters

    @asynccontextmanager
    async def admitted(
        self,
        priority: Priority,
        *,
        wait_seconds: float | None = None,
    ) -> AsyncIterator[None]:
        """Hold one of the places. ``wait_seconds``: raise NotAdmitted after waiting this
        long (None: wait as long as it takes)."""
        await self._acquire(priority, wait_seconds)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: Priority, wait_seconds: float | None) -> None:
        if self._in_flight < self._capacity and not self._live_waiters:
            self._in_flight += 1
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiting, (int(priority), next(self._order), future))
        self._live_waiters += 1
        started = loop.time()
        try:
            await asyncio.wait_for(asyncio.shield(future), wait_seconds)
        except TimeoutError:
            if future.done() and not future.cancelled():
                return  # admitted in the same instant the wait ran out: keep the place
            self._give_up(future)
            raise NotAdmitted(loop.time() - started) from None
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # admitted, but the caller went away: pass the place on
            else:
                self._give_up(future)
            raise

    def _give_up(self, future: asyncio.Future[None]) -> None:
        future.cancel()  # left in the heap; skipped when it comes up
        self._live_waiters -= 1

    def _release(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                self._live_waiters -= 1
                future.set_result(None)  # the place passes straight to the best waiter
                return
        self._in_flight -= 1
