"""The shared store and rate limiter behave the same in Redis (several processes) and in memory."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.db.migrate import upgrade
from bot.gateway.app import create_app
from bot.infra.settings import Settings
from bot.infra.shared_state import (
    MemoryRateLimiter,
    MemoryStore,
    RedisRateLimiter,
    RedisStore,
    SharedStore,
)
from tests.support.fake_rasa import FakeRasaREST
from tests.support.services import RedisServer
from tests.support.web_chat import new_session


@pytest.fixture(params=["redis", "memory"])
async def store(request: pytest.FixtureRequest, redis_server: RedisServer) -> AsyncIterator:
    if request.param == "redis":
        instance: SharedStore = RedisStore(redis_server.url, namespace=f"test:{request.node.name}:")
    else:
        instance = MemoryStore()
    yield instance
    await instance.aclose()


async def test_first_claim_wins_and_result_is_shared(store: SharedStore) -> None:
    assert await store.claim("m1", 60)
    assert not await store.claim("m1", 60)
    assert await store.get("m1") is None  # still pending
    await store.put("m1", '{"replies": []}', 60)
    assert await store.get("m1") == '{"replies": []}'
    assert not await store.claim("m1", 60)


async def test_released_claim_can_be_taken_again(store: SharedStore) -> None:
    assert await store.claim("m2", 60)
    await store.delete("m2")
    assert await store.claim("m2", 60)


async def test_claims_expire(store: SharedStore) -> None:
    assert await store.claim("m3", 1)
    await asyncio.sleep(1.2)
    assert await store.claim("m3", 1)


async def test_concurrent_claims_have_exactly_one_winner(store: SharedStore) -> None:
    results = await asyncio.gather(*(store.claim("m4", 60) for _ in range(20)))
    assert results.count(True) == 1


def test_two_gateway_processes_sharing_redis_answer_a_retry_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A retried web message that lands on another gateway instance is not re-processed."""
    rasa = FakeRasaREST()
    settings = Settings(_env_file=None, data_dir=tmp_path, redis_url=redis_server.url)
    upgrade(settings.database_url)  # the web chat's issued ids live there
    with (
        TestClient(create_app(settings, rasa_http=rasa.client())) as first,
        TestClient(create_app(settings, rasa_http=rasa.client())) as second,
    ):
        # An id one gateway issued is good at the other (the session lives in Redis).
        body = {"sender": new_session(first), "text": "halo", "message_id": "retry-across"}
        answer_one = first.post("/api/chat", json=body).json()
        answer_two = second.post("/api/chat", json=body).json()
    assert answer_one == answer_two
    assert len(rasa.calls) == 1


@pytest.fixture(params=["redis", "memory"])
async def limiters(request: pytest.FixtureRequest, redis_server: RedisServer) -> AsyncIterator:
    """Two limiters standing for two worker processes: Redis ones share one budget."""
    if request.param == "redis":
        namespace = f"test:rate:{request.node.name}:"
        pair = [RedisRateLimiter(redis_server.url, namespace) for _ in range(2)]
    else:
        shared = MemoryRateLimiter()
        pair = [shared, shared]
    yield pair
    for limiter in pair:
        await limiter.aclose()


async def test_a_burst_is_allowed_then_the_pace_holds_across_processes(limiters) -> None:
    first, second = limiters
    # One message per 100 s with bursts of 3: whoever asks, 3 go now, then one slot each
    # 100 s apart, shared by both "processes".
    waits = [await (first if i % 2 else second).wait_seconds("tg:all", 0.01, 3) for i in range(6)]
    assert waits[:3] == [0, 0, 0]
    for expected, wait in zip((100, 200, 300), waits[3:], strict=True):
        assert expected - 1 < wait <= expected


async def test_keys_have_separate_budgets(limiters) -> None:
    first, _ = limiters
    assert await first.wait_seconds("tg:to:1", 0.01, 1) == 0
    assert await first.wait_seconds("tg:to:2", 0.01, 1) == 0
    assert await first.wait_seconds("tg:to:1", 0.01, 1) > 0


async def test_the_window_cap_counts_uses_across_processes(limiters) -> None:
    first, second = limiters
    waits = [await (first if i % 2 else second).window_wait("wa:all", 3, 60) for i in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert all(59 < wait <= 60 for wait in waits[3:])


async def test_the_in_process_limiter_forgets_idle_keys_and_caps_how_many_it_keeps() -> None:
    """A client rotating its ids used to leave one entry per id behind, forever."""
    now = [1000.0]
    limiter = MemoryRateLimiter(max_keys=50, monotonic=lambda: now[0])
    for i in range(500):
        assert await limiter.window_wait(f"chat:sender:{i}", 20, 60) == 0
        assert await limiter.wait_seconds(f"tg:to:{i}", 1, 1) == 0
    assert len(limiter) <= 2 * 50
    # The most recent keys are still limited as before.
    for _ in range(19):
        await limiter.window_wait("chat:sender:499", 20, 60)
    assert await limiter.window_wait("chat:sender:499", 20, 60) > 0
    # Once every window has passed, a sweep drops them all.
    now[0] += 120
    for _ in range(MemoryRateLimiter.SWEEP_EVERY):
        await limiter.window_wait("busy", 10**6, 1)
    assert len(limiter) == 1
