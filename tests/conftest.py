"""Shared fixtures: real PostgreSQL and Redis servers for the whole session."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import pytest

from bot.db.migrate import upgrade
from tests.support.registry_standin import RegistryStandIn, running_registry_standin
from tests.support.services import PostgresServer, RedisServer, start_postgres, start_redis, stop

TEST_PII_KEY = "test-key-for-keyed-hashes-000000000000000"
#: The running stack (Rasa, action server, gateway) for tests/e2e and tests/security.
pytest_plugins = ["tests.support.stack"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server, process = start_postgres()
    try:
        yield server
    finally:
        stop(process)
        shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server, process = start_redis()
    try:
        yield server
    finally:
        stop(process)


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh, migrated PostgreSQL database for one test."""
    name = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    url = postgres.url(name)
    upgrade(url)
    return url


@pytest.fixture
def standin() -> Iterator[RegistryStandIn]:
    """A registry stand-in on a real socket, speaking the partner API contract."""
    with running_registry_standin() as server:
        yield server
