"""Run by the Rasa environment's Python (3.10) from tests/unit/test_rasa_runtime.py: drives
Sadar's conversation store as two Rasa replicas would (two store objects on one SQLite
file), Rasa's action-response check and the NLU parse cache (a stand-in graph that
counts its runs), then prints what it saw as JSON."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from bot.domain.clock import FixedClock
from nlu import rasa_runtime
from nlu.tracker_store import EncryptedSQLTrackerStore

DOMAIN = Domain.from_yaml(
    "slots:\n"
    "  full_name:\n    type: text\n    mappings: [{type: custom}]\n"
    "  village:\n    type: text\n    mappings: [{type: custom}]\n"
)


async def turn(store: EncryptedSQLTrackerStore, sender: str, text: str, **slots: Any) -> None:
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(text, {"name": "inform", "confidence": 1.0}))
    for name, value in slots.items():
        tracker.update(SlotSet(name, value))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)


async def seen(store: EncryptedSQLTrackerStore, sender: str) -> dict[str, Any] | None:
    tracker = await store.retrieve(sender)
    if tracker is None:
        return None
    texts = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    return {"slots": tracker.current_slot_values(), "texts": texts}


async def stores(url: str) -> dict[str, Any]:
    replica_a = EncryptedSQLTrackerStore(host=url, domain=DOMAIN)
    replica_b = EncryptedSQLTrackerStore(host=url, domain=DOMAIN)
    out: dict[str, Any] = {}

    await turn(replica_a, "warga-1", "Sulastri", full_name="Sulastri")
    out["b_sees_a"] = await seen(replica_b, "warga-1")
    await turn(replica_b, "warga-1", "Karanglo", village="Karanglo")
    out["a_sees_b"] = await seen(replica_a, "warga-1")
    await turn(replica_a, "warga-1", "ya")
    out["a_after_own_turn"] = await seen(replica_a, "warga-1")
    out["b_after_a_turn"] = await seen(replica_b, "warga-1")

    # A new session written by B: A then sees only that session (slots carried by B).
    tracker = await replica_b.get_or_create_tracker("warga-1")
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(SlotSet("full_name", "Sulastri"))
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("cek status", {"name": "check_status", "confidence": 1.0}))
    await replica_b.save(tracker)
    out["a_after_new_session"] = await seen(replica_a, "warga-1")

    # Erased by B at the resident's request: A must not serve its memory.
    tracker = await replica_b.get_or_create_tracker("warga-1")
    tracker.update(SlotSet("erase_conversation", True))
    await replica_b.save(tracker)
    out["a_after_erasure"] = await seen(replica_a, "warga-1")

    # Deleted behind both stores' backs (retention purge): neither serves it.
    await turn(replica_a, "warga-2", "Paijo", full_name="Paijo")
    await seen(replica_b, "warga-2")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("DELETE FROM events")
    out["after_purge"] = [await seen(replica_a, "warga-2"), await seen(replica_b, "warga-2")]
    out["cached_conversations"] = len(replica_a._recent)
    return out


def validation() -> dict[str, Any]:
    action = RemoteAction("action_probe", None)
    valid = {"events": [{"event": "slot", "name": "full_name", "value": "X"}], "responses": []}
    for _ in range(50):
        action._validate_action_result(valid)
    try:
        action._validate_action_result({"events": [{"event": "no_such_event"}], "responses": []})
        rejected = ""
    except rasa_runtime.ValidationError as error:
        rejected = error.message
    info = rasa_runtime.action_response_validator.cache_info()
    return {"validators_built": info.misses, "calls": info.hits + info.misses, "rejected": rejected}


def event_types() -> dict[str, Any]:
    """Every event type Rasa knows resolves to the class Rasa's own walk finds."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    names = sorted({cls.type_name for cls in all_subclasses(Event)})
    differ = [
        name
        for name in names
        if Event.resolve_by_type(name) is not rasa_runtime._rasa_resolve_by_type(name)
    ]
    try:
        Event.resolve_by_type("no_such_event")
        unknown = "accepted"
    except ValueError as error:
        unknown = str(error)
    return {"names": len(names), "differ": differ, "unknown": unknown,
            "default": Event.resolve_by_type("no_such_event", SlotSet).__name__}  # fmt: skip


class CountingGraph:
    """Stands in for Rasa's graph runner: an intent named after the text, counted."""

    def __init__(self) -> None:
        self.runs: list[str] = []

    def run(self, inputs: dict[str, Any], targets: list[str]) -> dict[str, Any]:
        text = inputs["__message__"][0].text
        self.runs.append(text)
        parsed = Message(
            data={"text": text, "intent": {"name": f"intent_of_{text}", "confidence": 0.9}},
            output_properties={"intent"},
        )
        return {targets[0]: [parsed]}


def parse_cache() -> dict[str, Any]:
    clock = FixedClock(datetime(2026, 12, 2, 3, tzinfo=timezone.utc))
    rasa_runtime.parse_cache = rasa_runtime.ParseCache(2, clock)
    graph = CountingGraph()
    processor = SimpleNamespace(
        graph_runner=graph, model_metadata=SimpleNamespace(model_id="m1", nlu_target="nlu")
    )
    tracker = DialogueStateTracker.from_events("probe", [])

    def parse(text: str) -> dict[str, Any]:
        return MessageProcessor._parse_message_with_graph(processor, UserMessage(text), tracker)

    first = parse("sudah bayar")
    first["intent"]["name"] = "changed by the caller"
    again = parse("sudah bayar")
    runs_same_day = list(graph.runs)
    parse("cek status")
    parse("ya")  # capacity 2: "sudah bayar" is dropped
    parse("sudah bayar")
    runs_after_eviction = len(graph.runs)
    clock.advance(timedelta(days=1))
    parse("ya")
    processor.model_metadata.model_id = "m2"
    parse("ya")
    return {
        "runs_same_day": runs_same_day,
        "again": again,
        "runs_after_eviction": runs_after_eviction,
        "runs_in_all": graph.runs,
        "installed": MessageProcessor._parse_message_with_graph
        is rasa_runtime.parse_message_remembered,
    }


def rule_search() -> dict[str, Any]:
    """Sadar's stopped rule search against Rasa's full walk, on random rules and
    conversations over a small vocabulary (so that many rules match, partly or wholly)."""
    import random

    from rasa.core.policies.rule_policy import RulePolicy

    rng = random.Random(31)
    policy = RulePolicy.__new__(RulePolicy)  # the search uses no trained state

    def state(start: bool) -> dict[str, Any]:
        made: dict[str, Any] = {"user": {"intent": rng.choice(["affirm", "deny", "inform"])}}
        if not start:
            made["prev_action"] = {"action_name": rng.choice(["action_listen", "utter_a"])}
        if rng.random() < 0.4:
            made["slots"] = {"nik": rng.choice([(1.0,), "should_not_be_set"])}
        if rng.random() < 0.3:
            made["active_loop"] = {"name": rng.choice(["registration_form", "should_not_be_set"])}
        return made

    def history(length: int) -> list[dict[str, Any]]:
        return [state(start=index == 0 and rng.random() < 0.5) for index in range(length)]

    trials, differ, nonempty = 400, 0, 0
    for _ in range(trials):
        lookup = {json.dumps(history(rng.randint(1, 5))): "utter_x" for _ in range(40)}
        states = history(rng.randint(0, 30))
        ours = policy._get_possible_keys(lookup, states)
        rasas = rasa_runtime._rasa_possible_keys(policy, lookup, states)
        differ += ours != rasas
        nonempty += bool(rasas)
    return {
        "trials": trials,
        "differ": differ,
        "with_matches": nonempty,
        "installed": RulePolicy._get_possible_keys is rasa_runtime.possible_rule_keys,
    }


if __name__ == "__main__":
    print(
        json.dumps(
            {
                "stores": asyncio.run(stores(sys.argv[1])),
                "validation": validation(),
                "event_types": event_types(),
                "parse_cache": parse_cache(),
                "rule_search": rule_search(),
            }
        )
    )
