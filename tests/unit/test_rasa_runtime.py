"""What Sadar loads into the Rasa server (issue 16), run by Rasa's own Python through
tests/support/rasa_runtime_probe.py: the conversation store's bounded reads stay correct
across replicas, session starts, erasure and purges; action replies are still validated,
with one validator built for all of them; the NLU graph runs once per text, model and day;
the rule search stopped early finds the rules Rasa's full walk finds; the dialogue states
rebuilt once per turn are the states Rasa's own walk rebuilds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.rasa_python import run_with_rasa_python


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    database: Path = tmp_path_factory.mktemp("rasa-runtime") / "tracker.db"
    result = run_with_rasa_python("tests/support/rasa_runtime_probe.py", f"sqlite:///{database}")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]  # the probe prints one JSON object


def test_a_replica_sees_what_the_other_wrote(probe: dict[str, Any]) -> None:
    stores = probe["stores"]
    assert stores["b_sees_a"]["slots"]["full_name"] == "Sulastri"
    assert stores["a_sees_b"]["texts"] == ["Sulastri", "Karanglo"]
    assert stores["a_sees_b"]["slots"]["village"] == "Karanglo"
    assert stores["a_after_own_turn"]["texts"] == ["Sulastri", "Karanglo", "ya"]
    assert stores["b_after_a_turn"]["texts"] == ["Sulastri", "Karanglo", "ya"]


def test_only_the_current_session_is_read(probe: dict[str, Any]) -> None:
    after = probe["stores"]["a_after_new_session"]
    assert after["texts"] == ["cek status"]
    assert after["slots"]["full_name"] == "Sulastri"


def test_an_erased_or_purged_conversation_is_not_served_from_memory(
    probe: dict[str, Any],
) -> None:
    assert probe["stores"]["a_after_erasure"] is None
    assert probe["stores"]["after_purge"] == [None, None]


def test_action_replies_are_validated_by_validators_built_once(probe: dict[str, Any]) -> None:
    validation = probe["validation"]
    assert validation["validator_sets_built"] == 2  # the whole schema; one per event type
    assert validation["calls"] >= 51
    assert "Failed to validate Action server response" in validation["rejected"]


def test_checking_each_event_against_its_own_schema_agrees_with_the_whole_schema(
    probe: dict[str, Any],
) -> None:
    validation = probe["validation"]
    assert validation["quick_check_differs"] == 0
    # Both verdicts occur often: the comparison is not vacuous.
    assert 100 < validation["replies_valid"] < validation["replies_compared"] - 100


def test_event_types_resolve_as_rasa_resolves_them(probe: dict[str, Any]) -> None:
    types = probe["event_types"]
    assert types["names"] >= 20
    assert types["differ"] == []
    assert "Unknown event name 'no_such_event'" in types["unknown"]
    assert types["default"] == "SlotSet"


def test_the_nlu_graph_runs_once_per_text_model_and_day(probe: dict[str, Any]) -> None:
    cache = probe["parse_cache"]
    assert cache["installed"]
    assert cache["runs_same_day"] == ["sudah bayar"]
    # A caller changing its result does not change what the next caller gets.
    assert cache["again"]["intent"]["name"] == "intent_of_sudah bayar"
    assert cache["again"]["text"] == "sudah bayar"
    assert cache["runs_after_eviction"] == 4  # least recent text dropped at capacity 2
    # A new day (two-digit years depend on it) and a new model parse afresh.
    assert cache["runs_in_all"][4:] == ["ya", "ya"]


def test_the_stopped_rule_search_finds_exactly_the_rules_rasa_finds(
    probe: dict[str, Any],
) -> None:
    search = probe["rule_search"]
    assert search["installed"]
    assert search["differ"] == 0
    assert search["with_matches"] >= search["trials"] // 4  # the comparison is not vacuous


def test_the_kept_replay_gives_the_states_rasas_walk_gives(probe: dict[str, Any]) -> None:
    history = probe["state_history"]
    assert history["installed"]
    assert history["differ"] == 0
    assert history["applied_differ"] == 0
    assert history["resumed"] >= history["calls"] // 2  # most calls replay only what is new


def test_calls_to_the_action_server_reuse_their_connections(probe: dict[str, Any]) -> None:
    kept = probe["kept_connections"]
    assert kept["answers"] == 5 and kept["calls"] == 9
    assert kept["echoed_as_sent"]  # the body, encoded by ujson, is the same JSON
    # Five calls one after another and three at once: at most the three at once need
    # connections of their own.
    assert kept["connections_for_8_calls"] <= 3
    assert kept["after_restart"] == {"ok": True}  # a restarted server is reached again
    assert kept["kept_after_close"] == 0


def test_slots_are_copied_as_python_copies_them(probe: dict[str, Any]) -> None:
    copies = probe["slot_copies"]
    assert copies["installed"]
    assert copies["differ"] == [] and copies["independent"] == copies["slots"] > 30
    assert {"bool", "text"} <= set(copies["types"])


def test_graphs_run_in_process_give_what_dasks_scheduler_gives(probe: dict[str, Any]) -> None:
    runs = probe["graph_runs"]
    assert runs["installed"] and runs["same"] == runs["trials"]
