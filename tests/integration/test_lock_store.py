"""Sadar's lock store for several Rasa servers (nlu/lock_store.py, issue 31), run by
Rasa's own Python against a real Redis through tests/support/lock_store_probe.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.rasa_python import run_with_rasa_python
from tests.support.services import RedisServer


@pytest.fixture(scope="module")
def probe(redis_server: RedisServer) -> dict[str, Any]:
    result = run_with_rasa_python(
        "tests/support/lock_store_probe.py", "127.0.0.1", str(redis_server.port)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]  # the probe prints one JSON object


def test_a_turn_costs_two_redis_commands_and_leaves_no_key(probe: dict[str, Any]) -> None:
    assert probe["round_trips_per_turn"] == ["EVALSHA", "EVALSHA"]  # Rasa's RedisLockStore: 7
    assert len(probe["keys_while_held"]) == 2
    assert probe["keys_after"] == []
    assert probe["keys_at_end"] == []


def test_turns_of_one_conversation_run_one_at_a_time_in_order(probe: dict[str, Any]) -> None:
    assert probe["order"] == [
        "a in", "a out", "b in", "b out", "c in", "c out", "d in", "d out",
    ]  # fmt: skip
    assert probe["other_conversation_polls"] == 0


def test_a_crashed_holder_blocks_only_until_its_ticket_expires(probe: dict[str, Any]) -> None:
    assert 0.2 <= probe["waited_for_crashed_seconds"] < 1.5
    assert probe["expired_waiter"] == "LockError"


def test_redis_holds_no_phone_number(probe: dict[str, Any]) -> None:
    assert all(key.startswith(f"{probe['prefix']}:lock:") for key in probe["keys_while_held"])
    assert not any("6281234567123" in key for key in probe["keys_while_held"])
