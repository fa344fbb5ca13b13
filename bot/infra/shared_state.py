"""State that several processes must share. Redis when ``SADAR_REDIS_URL`` is set,
otherwise in-process implementations with the same behaviour for a single machine.

Two things live here: a small key-value store with atomic claims (duplicate deliveries,
the buttons last offered to each sender) and rate limiters (channel throughput)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

PENDING = "\x00pending"


class SharedStore(Protocol):
    """Short-lived values with a TTL, and claims that exactly one caller wins."""

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """True for the first caller of ``key`` within the TTL, False for repeats."""

    async def put(self, key: str, value: str, ttl_seconds: int) -> None: ...

    async def get(self, key: str) -> str | None:
        """The stored value; None if absent or only claimed (work still under way)."""

    async def delete(self, key: str) -> None:
        """Forget a key, e.g. a claim whose work failed, so a retry is processed again."""

    async def count_up(self, key: str, ttl_seconds: int) -> int:
        """Add one to a counter (created with the TTL, which is not extended); the new count."""

    async def aclose(self) -> None: ...


class MemoryStore:
    """In-process store with a fixed capacity: every operation is O(1) (no scan of all
    entries per message, whatever a flood of new senders does); past ``max_entries`` the
    least recently written entry is dropped first."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._max_entries = max_entries

    def _live(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at < time.monotonic():
            del self._entries[key]
            return None
        return value

    def _write(self, key: str, value: str, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        if self._live(key) is not None:
            return False
        self._write(key, PENDING, ttl_seconds)
        return True

    async def put(self, key: str, value: str, ttl_seconds: int) -> None:
        self._write(key, value, ttl_seconds)

    async def get(self, key: str) -> str | None:
        value = self._live(key)
        return None if value is None or value == PENDING else str(value)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def count_up(self, key: str, ttl_seconds: int) -> int:
        current = self._live(key)
        if current is None or not current.isdigit():
            self._write(key, "1", ttl_seconds)
            return 1
        expires_at, _ = self._entries[key]
        count = int(current) + 1
        self._entries[key] = (expires_at, str(count))
        return count

    async def aclose(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class RedisStore:
    def __init__(self, redis_url: str, namespace: str = "sadar:kv:"):
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self._ns = namespace

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        return bool(await self._redis.set(self._ns + key, PENDING, nx=True, ex=ttl_seconds))

    async def put(self, key: str, value: str, ttl_seconds: int) -> None:
        await self._redis.set(self._ns + key, value, ex=ttl_seconds)

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(self._ns + key)
        return None if value is None or value == PENDING else str(value)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._ns + key)

    async def count_up(self, key: str, ttl_seconds: int) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._ns + key)
            pipe.expire(self._ns + key, ttl_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_shared_store(redis_url: str | None) -> SharedStore:
    return RedisStore(redis_url) if redis_url else MemoryStore()


class RateLimiter(Protocol):
    """Paces work on a key to ``rate`` per second with bursts of ``burst``; with Redis the
    pace holds across every process sharing it."""

    async def wait_seconds(self, key: str, rate: float, burst: int) -> float:
        """Reserve the next free slot; how long to wait until it (0: go now)."""

    async def window_wait(self, key: str, limit: int, window_seconds: float) -> float:
        """0 and counted if fewer than ``limit`` were counted in the last ``window_seconds``;
        otherwise how long until one leaves the window (nothing counted)."""

    async def aclose(self) -> None: ...


async def acquire(limiter: RateLimiter, key: str, rate: float, burst: int = 1) -> None:
    """Wait for this caller's own slot: every caller gets a distinct one, so nobody races
    for a slot and no capacity is lost to wake-up delays."""
    delay = await limiter.wait_seconds(key, rate, burst)
    if delay > 0:
        await asyncio.sleep(delay)


async def within_window(
    limiter: RateLimiter, key: str, limit: int, window_seconds: float = 1.0
) -> None:
    """Wait until fewer than ``limit`` uses fall in the last window: a hard cap, checked
    right before a send, whatever delays happened since the slot was reserved."""
    while (delay := await limiter.window_wait(key, limit, window_seconds)) > 0:
        await asyncio.sleep(delay + 0.001)


def reserve(tat: float | None, now: float, rate: float, burst: int) -> tuple[float, float]:
    """Generic cell rate algorithm, scheduling form: (seconds until the reserved slot, new
    theoretical arrival time). Pure, so the Redis script and the memory limiter agree."""
    interval = 1.0 / rate
    tat = max(tat or now, now)
    slot = max(now, tat - interval * (burst - 1))
    return slot - now, tat + interval


class MemoryRateLimiter:
    """In-process limiter with bounded state: a key whose window has emptied (or whose
    pace has caught up) is dropped, a sweep every ``SWEEP_EVERY`` calls drops idle ones, and
    past ``max_keys`` the least recently used key goes first (a client rotating ids cannot
    grow it without end)."""

    SWEEP_EVERY = 1024

    def __init__(
        self, max_keys: int = 100_000, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._tat: OrderedDict[str, float] = OrderedDict()
        #: key -> (window seconds, times of the uses inside it)
        self._uses: OrderedDict[str, tuple[float, deque[float]]] = OrderedDict()
        self._max_keys = max_keys
        self._now = monotonic
        self._calls = 0

    def __len__(self) -> int:
        return len(self._tat) + len(self._uses)

    def _housekeeping(self, now: float) -> None:
        self._calls += 1
        if self._calls % self.SWEEP_EVERY == 0:
            for key in [k for k, tat in self._tat.items() if tat <= now]:
                del self._tat[key]
            for key in [
                k for k, (w, uses) in self._uses.items() if not uses or uses[-1] <= now - w
            ]:
                del self._uses[key]
        while len(self._tat) > self._max_keys:
            self._tat.popitem(last=False)
        while len(self._uses) > self._max_keys:
            self._uses.popitem(last=False)

    async def wait_seconds(self, key: str, rate: float, burst: int) -> float:
        now = self._now()
        wait, self._tat[key] = reserve(self._tat.get(key), now, rate, burst)
        self._tat.move_to_end(key)
        self._housekeeping(now)
        return wait

    async def window_wait(self, key: str, limit: int, window_seconds: float) -> float:
        now = self._now()
        _, uses = self._uses.get(key) or (window_seconds, deque())
        while uses and uses[0] <= now - window_seconds:
            uses.popleft()
        self._uses[key] = (window_seconds, uses)
        self._uses.move_to_end(key)
        try:
            if len(uses) < limit:
                uses.append(now)
                return 0.0
            return uses[0] + window_seconds - now
        finally:
            self._housekeeping(now)

    async def aclose(self) -> None:
        self._tat.clear()
        self._uses.clear()


#: The same arithmetic as ``reserve``, run atomically inside Redis on Redis's own clock so
#: that workers on machines with skewed clocks still share one pace.
_GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = 1.0 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local slot = tat - interval * (burst - 1)
if slot < now then slot = now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return tostring(slot - now)
"""


#: A sliding-window log: the times of the last uses, in a sorted set.
_WINDOW_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisRateLimiter:
    def __init__(self, redis_url: str, namespace: str = "sadar:rate:"):
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self._script = self._redis.register_script(_GCRA_SCRIPT)
        self._window = self._redis.register_script(_WINDOW_SCRIPT)
        self._ns = namespace

    async def wait_seconds(self, key: str, rate: float, burst: int) -> float:
        return float(await self._script(keys=[self._ns + key], args=[rate, burst]))

    async def window_wait(self, key: str, limit: int, window_seconds: float) -> float:
        member = secrets.token_hex(8)
        args: list[str | int | float] = [limit, window_seconds, member]
        return float(await self._window(keys=[self._ns + "w:" + key], args=args))

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
