"""The idempotency store behaves the same in Redis (several processes) and in memory."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.gateway.app import create_app
from bot.settings import Settings
from bot.shared_state import IdempotencyStore, MemoryIdempotencyStore, RedisIdempotencyStore
from tests.support.fake_rasa import FakeRasaREST
from tests.support.services import RedisServer


@pytest.fixture(params=["redis", "memory"])
async def store(request: pytest.FixtureRequest, redis_server: RedisServer) -> AsyncIterator:
    if request.param == "redis":
        instance: IdempotencyStore = RedisIdempotencyStore(
            redis_server.url, namespace=f"test:{request.node.name}:"
        )
    else:
        instance = MemoryIdempotencyStore()
    yield instance
    await instance.aclose()


async def test_first_claim_wins_and_result_is_shared(store: IdempotencyStore) -> None:
    assert await store.claim("m1", 60)
    assert not await store.claim("m1", 60)
    assert await store.result("m1") is None  # still pending
    await store.save_result("m1", '{"replies": []}', 60)
    assert await store.result("m1") == '{"replies": []}'
    assert not await store.claim("m1", 60)


async def test_released_claim_can_be_taken_again(store: IdempotencyStore) -> None:
    assert await store.claim("m2", 60)
    await store.release("m2")
    assert await store.claim("m2", 60)


async def test_claims_expire(store: IdempotencyStore) -> None:
    assert await store.claim("m3", 1)
    await asyncio.sleep(1.2)
    assert await store.claim("m3", 1)


async def test_concurrent_claims_have_exactly_one_winner(store: IdempotencyStore) -> None:
    results = await asyncio.gather(*(store.claim("m4", 60) for _ in range(20)))
    assert results.count(True) == 1


def test_two_gateway_processes_sharing_redis_answer_a_retry_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A retried web message that lands on another gateway instance is not re-processed."""
    rasa = FakeRasaREST()
    settings = Settings(_env_file=None, data_dir=tmp_path, redis_url=redis_server.url)
    body = {"sender": "shared", "text": "halo", "message_id": "retry-across-instances"}
    with (
        TestClient(create_app(settings, rasa_http=rasa.client())) as first,
        TestClient(create_app(settings, rasa_http=rasa.client())) as second,
    ):
        answer_one = first.post("/api/chat", json=body).json()
        answer_two = second.post("/api/chat", json=body).json()
    assert answer_one == answer_two
    assert len(rasa.calls) == 1
