"""State that several processes must share. Redis when ``SADAR_REDIS_URL`` is set,
otherwise an in-process store with the same behaviour for a single machine."""

from __future__ import annotations

import time
from typing import Protocol

PENDING = "\x00pending"


class IdempotencyStore(Protocol):
    """Remembers which inbound messages were already handled, and their result."""

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """True for the first caller of ``key`` within the TTL, False for repeats."""

    async def save_result(self, key: str, result: str, ttl_seconds: int) -> None: ...

    async def result(self, key: str) -> str | None:
        """The saved result, or None while the first caller is still working."""

    async def release(self, key: str) -> None:
        """Forget a claim whose work failed, so a retry is processed again."""

    async def aclose(self) -> None: ...


class MemoryIdempotencyStore:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, str]] = {}

    def _live(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at < time.monotonic():
            del self._entries[key]
            return None
        return value

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        if self._live(key) is not None:
            return False
        if len(self._entries) > 10_000:
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= time.monotonic()}
        self._entries[key] = (time.monotonic() + ttl_seconds, PENDING)
        return True

    async def save_result(self, key: str, result: str, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, result)

    async def result(self, key: str) -> str | None:
        value = self._live(key)
        return None if value in (None, PENDING) else value

    async def release(self, key: str) -> None:
        self._entries.pop(key, None)

    async def aclose(self) -> None:
        self._entries.clear()


class RedisIdempotencyStore:
    def __init__(self, redis_url: str, namespace: str = "sadar:idem:"):
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self._ns = namespace

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        return bool(await self._redis.set(self._ns + key, PENDING, nx=True, ex=ttl_seconds))

    async def save_result(self, key: str, result: str, ttl_seconds: int) -> None:
        await self._redis.set(self._ns + key, result, ex=ttl_seconds)

    async def result(self, key: str) -> str | None:
        value = await self._redis.get(self._ns + key)
        return None if value in (None, PENDING) else value

    async def release(self, key: str) -> None:
        await self._redis.delete(self._ns + key)

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_idempotency_store(redis_url: str | None) -> IdempotencyStore:
    return RedisIdempotencyStore(redis_url) if redis_url else MemoryIdempotencyStore()
