"""`sadar run`'s processes with several Rasa servers and action servers (issue 16)."""

from __future__ import annotations

import pytest

from bot.infra.settings import Settings
from bot.processes.devserver import process_specs


def test_one_of_each_by_default_with_locks_in_memory() -> None:
    specs = {spec.name: spec for spec in process_specs(Settings(_env_file=None))}
    assert {"rasa", "actions", "gateway"} <= set(specs)
    assert specs["rasa"].env["RASA_LOCK_STORE"] == "in_memory"
    assert specs["gateway"].env["SADAR_RASA_URL"] == "http://127.0.0.1:5005"


def test_replicas_get_their_own_ports_and_share_locks_through_redis() -> None:
    settings = Settings(
        _env_file=None,
        rasa_replicas=3,
        action_server_replicas=2,
        redis_url="redis://:secret@127.0.0.1:6390/2",
    )
    specs = {spec.name: spec for spec in process_specs(settings)}
    rasa = [specs[f"rasa-{i}"] for i in (1, 2, 3)]
    assert [r.argv[r.argv.index("--port") + 1] for r in rasa] == ["5005", "5006", "5007"]
    assert [r.env["SADAR_ACTION_SERVER_URL"] for r in rasa] == [
        "http://127.0.0.1:5055/webhook",
        "http://127.0.0.1:5056/webhook",
        "http://127.0.0.1:5055/webhook",
    ]
    assert [specs[f"actions-{i}"].env["SADAR_ACTION_SERVER_PORT"] for i in (1, 2)] == [
        "5055",
        "5056",
    ]
    lock = {k: v for k, v in rasa[0].env.items() if k.startswith("RASA_LOCK_STORE")}
    assert lock == {
        "RASA_LOCK_STORE": "nlu.lock_store.AtomicRedisLockStore",
        "RASA_LOCK_STORE_HOST": "127.0.0.1",
        "RASA_LOCK_STORE_PORT": "6390",
        "RASA_LOCK_STORE_DB": "2",
        "RASA_LOCK_STORE_PASSWORD": "secret",
    }
    assert Settings(_env_file=None, rasa_url=specs["gateway"].env["SADAR_RASA_URL"]).rasa_urls == [
        "http://127.0.0.1:5005",
        "http://127.0.0.1:5006",
        "http://127.0.0.1:5007",
    ]


def test_several_rasa_servers_without_redis_are_refused_with_the_fix() -> None:
    with pytest.raises(SystemExit, match="SADAR_REDIS_URL"):
        process_specs(Settings(_env_file=None, rasa_replicas=2))
