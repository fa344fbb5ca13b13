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
from rasa.shared.core.slots import Slot
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
    built = [rasa_runtime.action_response_validator.cache_info(),
             rasa_runtime.event_validators.cache_info()]  # fmt: skip
    return {"validator_sets_built": sum(info.misses for info in built),
            "calls": sum(info.hits + info.misses for info in built), "rejected": rejected,
            **quick_check_agrees()}  # fmt: skip


def quick_check_agrees() -> dict[str, Any]:
    """The one-schema-per-event check against Rasa's whole schema, on replies made of
    every kind of event Rasa knows and on each of them with one field made wrong."""
    from rasa.shared.core import events as ev

    made = [
        ev.SlotSet("nik", "3523031708800001"), ev.SlotSet("jht", False), ev.Restarted(),
        ev.UserUttered("ya", {"name": "affirm", "confidence": 0.9}, [{"entity": "n", "value": 1}]),
        ev.ActionExecuted("utter_greet", policy="RulePolicy", confidence=1.0), ev.ActionReverted(),
        ev.ActiveLoop("registration_form"), ev.ActiveLoop(None), ev.LoopInterrupted(True),
        ev.FollowupAction("action_listen"), ev.SessionStarted(), ev.AllSlotsReset(),
        ev.UserUtteranceReverted(), ev.ConversationPaused(), ev.ConversationResumed(),
        ev.ActionExecutionRejected("registration_form"), ev.BotUttered("Halo", {"buttons": []}),
        ev.ReminderCancelled(name="r"), ev.StoryExported(), ev.AgentUttered("x"),
        ev.EntitiesAdded([{"entity": "nik", "value": "1"}]),
        ev.ReminderScheduled("remind", datetime(2026, 12, 7, tzinfo=timezone.utc), name="r"),
        ev.DefinePrevUserUtteredFeaturization(True),
    ]  # fmt: skip
    valid_events = [event.as_dict() for event in made]
    wrongs: list[Any] = [None, 5, "x", [], {}, True]
    replies: list[Any] = [{"events": valid_events, "responses": [{"text": "Halo"}]}, {}, [],
                          {"events": "x"}, {"events": [5]}, {"events": [{"event": ["x"]}]},
                          {"events": [{"event": "no_such_event"}]}, {"responses": [5]}]  # fmt: skip
    for event in valid_events:
        for field in [*event, "name", "value", "text"]:
            for wrong in wrongs:
                replies.append({"events": [valid_events[0], {**event, field: wrong}]})
    whole = rasa_runtime.action_response_validator()
    verdicts = [(rasa_runtime.is_valid_reply(r), whole.is_valid(r)) for r in replies]
    return {
        "replies_compared": len(verdicts),
        "quick_check_differs": sum(quick != full for quick, full in verdicts),
        "replies_valid": sum(full for _, full in verdicts),
    }


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


def state_history() -> dict[str, Any]:
    """The kept replay's states against Rasa's own walk, after every event of random
    conversations over Sadar's real domain, with every option the policies use; each
    result is then scribbled over, as a policy may do, before the next call."""
    import random
    from pathlib import Path

    from rasa.shared.core import events as ev

    from nlu import state_history as kept

    rng = random.Random(31)
    domain = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))
    actions = [name for name in domain.action_names_or_texts if name][:40] + list(domain.form_names)
    forms = list(domain.form_names)
    entities = list(domain.entities)

    def slot_value(slot: Any) -> Any:
        kind = slot.type_name
        if rng.random() < 0.2:
            return None
        if kind == "bool":
            return rng.random() < 0.5
        if kind == "categorical":
            return rng.choice(list(slot.values))
        if kind == "float":
            return rng.uniform(0, 5)
        if kind == "list":
            return ["a"] * rng.randint(0, 2)
        return rng.choice(["ya", "Sulastri", "should_not_be_set"])

    def event() -> Any:
        kind = rng.choices(
            ["user", "action", "slot", "loop", "interrupted", "rejected", "followup",
             "revert_user", "revert_action", "restart", "session", "reset"],
            weights=[18, 30, 20, 6, 3, 3, 3, 2, 2, 1, 1, 1],
        )[0]  # fmt: skip
        if kind == "user":
            found = [{"entity": rng.choice(entities), "value": "x"}] * rng.randint(0, 2)
            intent = rng.choice(domain.intents)
            return ev.UserUttered(rng.choice(["ya", "daftar", None]),
                                  {"name": intent, "confidence": 1.0}, found)  # fmt: skip
        if kind == "action":
            name = rng.choice(rng.choice([actions, forms, ["action_listen"]]))  # loops often
            return ev.ActionExecuted(name, hide_rule_turn=rng.random() < 0.3)
        if kind == "slot":
            slot = rng.choice(domain.slots)
            return ev.SlotSet(slot.name, slot_value(slot))
        if kind == "loop":
            return ev.ActiveLoop(rng.choice([*forms, None]))
        if kind == "interrupted":
            return ev.LoopInterrupted(rng.random() < 0.5)
        if kind == "rejected":
            return ev.ActionExecutionRejected(rng.choice(actions))
        if kind == "followup":
            return ev.FollowupAction(rng.choice(actions))
        return {"revert_user": ev.UserUtteranceReverted, "revert_action": ev.ActionReverted,
                "restart": ev.Restarted, "session": ev.SessionStarted,
                "reset": ev.AllSlotsReset}[kind]()  # fmt: skip

    rule_only = {"rule_only_slots": [domain.slots[0].name], "rule_only_loops": forms[:1]}
    options = [(False, None), (True, None), (True, rule_only), (False, rule_only)]
    conversations, calls, differ, resumed, applied_differ = 80, 0, 0, 0, 0
    for _ in range(conversations):
        tracker = DialogueStateTracker.from_events("probe", [], domain.slots)
        for _ in range(rng.randint(5, 60)):
            for _ in range(rng.choice([1, 1, 2, 4])):  # an action may return several events
                tracker.update(event())
            applied_differ += tracker.applied_events() != kept._rasa_applied_events(tracker)
            for ignore, rule_only_data in rng.sample(options, k=2):
                before = tracker.__dict__.get("_sadar_state_history")
                ours = domain.states_for_tracker_history(
                    tracker, ignore_rule_only_turns=ignore, rule_only_data=rule_only_data
                )
                rasas = kept._rasa_states_for_tracker_history(
                    domain, tracker, ignore_rule_only_turns=ignore, rule_only_data=rule_only_data
                )
                calls += 1
                differ += ours != rasas
                resumed += before is not None and tracker.__dict__["_sadar_state_history"] is before
                for state in ours:  # what a policy may do to its states
                    for sub_state in state.values():
                        sub_state.clear()
                    state.clear()
    return {
        "conversations": conversations,
        "calls": calls,
        "differ": differ,
        "resumed": resumed,
        "applied_differ": applied_differ,
        "installed": Domain.states_for_tracker_history is kept.states_for_tracker_history
        and DialogueStateTracker.applied_events is kept.applied_events,
    }


async def kept_connections() -> dict[str, Any]:
    """Rasa's endpoint calls through the kept session, against a small HTTP server that
    notes each connection it accepts; then that server restarted, as after a deployment."""
    import socket

    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    from nlu import action_calls

    peers: list[Any] = []

    async def answer(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        peers.append(peer)
        return web.json_response({"ok": True})

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(json.loads(await request.text()))

    async def serve(port: int) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/webhook", answer)
        app.router.add_post("/webhook/echo", echo)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    runner = await serve(port)
    answers = [await endpoint.request(json={"n": n}) for n in range(5)]
    sent = {"text": "Kecamatan Dlanggu / Mojokerto, é", "score": 0.1, "n": [1, None, True]}
    echoed = await endpoint.request(subpath="echo", json=sent)
    await asyncio.gather(*(endpoint.request(json={"n": n}) for n in range(3)))
    before_restart = len(set(peers))
    await runner.cleanup()
    runner = await serve(port)
    after_restart = await endpoint.request(json={"n": "after"})
    await action_calls.close_kept_sessions()
    await runner.cleanup()
    return {
        "answers": sum(answer == {"ok": True} for answer in answers),
        "calls": len(peers),
        "connections_for_8_calls": before_restart,
        "after_restart": after_restart,
        "kept_after_close": len(action_calls._kept),
        "echoed_as_sent": echoed == sent,
    }


def slot_copies() -> dict[str, Any]:
    """Each slot of Sadar's domain copied by ``copy.copy`` (Sadar's ``__copy__``) and by
    Python's generic route that Rasa used: same class, same attributes, independent."""
    import copy
    from pathlib import Path

    domain = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))
    differ, independent = [], 0
    for slot in domain.slots:
        slot.value = {"bool": True, "float": 2.0, "list": ["a"]}.get(slot.type_name, "x")
        ours = copy.copy(slot)
        generic = copy._reconstruct(slot, None, *slot.__reduce_ex__(4))  # type: ignore[attr-defined]
        if type(ours) is not type(generic) or vars(ours) != vars(generic) or ours is slot:
            differ.append(slot.name)
        ours.reset()
        independent += slot.value is not None
    return {"slots": len(domain.slots), "differ": differ, "independent": independent,
            "types": sorted({slot.type_name for slot in domain.slots}),
            "installed": getattr(Slot, "__copy__", None) is rasa_runtime.copy_slot}  # fmt: skip


def graph_runs() -> dict[str, Any]:
    """Graphs shaped as Rasa builds them (each node a callable over its inputs' names,
    each returning a (name, value) pair; inputs as (name, value) tuples, a conversation
    among them, which cannot be hashed): dask's in-process evaluator against the
    scheduler Rasa used."""
    import random

    import dask
    import dask.core
    from rasa.engine.runner.dask import DaskGraphRunner

    rng = random.Random(31)
    calls: list[str] = []

    def node(name: str) -> Any:
        def run(*pairs: Any) -> tuple[str, Any]:
            calls.append(name)
            return name, (name, sorted(str(value) for _, value in pairs))

        return run

    same, trials = 0, 40
    for _ in range(trials):
        names = [f"n{i}" for i in range(rng.randint(2, 14))]
        graph: dict[str, Any] = {"__tracker__": ("__tracker__", DialogueStateTracker("s", []))}
        for index, name in enumerate(names):
            needs = rng.sample(["__tracker__", *names[:index]], k=min(index + 1, rng.randint(0, 3)))
            graph[name] = (node(name), *needs)
        targets = rng.sample(names, k=rng.randint(1, len(names)))
        calls.clear()
        theirs = dict(dask.get(dict(graph), targets))
        runs_theirs = sorted(calls)
        calls.clear()
        ours = dict(dask.core.get(dict(graph), targets))
        same += theirs == ours and runs_theirs == sorted(calls)
    return {"trials": trials, "same": same,
            "installed": DaskGraphRunner.run is rasa_runtime.run_graph_in_order}  # fmt: skip


if __name__ == "__main__":
    print(
        json.dumps(
            {
                "stores": asyncio.run(stores(sys.argv[1])),
                "validation": validation(),
                "event_types": event_types(),
                "parse_cache": parse_cache(),
                "rule_search": rule_search(),
                "state_history": state_history(),
                "kept_connections": asyncio.run(kept_connections()),
                "slot_copies": slot_copies(),
                "graph_runs": graph_runs(),
            }
        )
    )
