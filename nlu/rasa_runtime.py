"""Eight per-turn costs of Rasa 3.6 removed without forking it (issue 16, profiled with
py-spy under `make bench-load` and cProfile on the conversation store):

1. **Action-server replies validated with JSON-Schema validators built once.** Rasa checks
every action-server reply with ``jsonschema.validate``, which first checks
the action-response schema itself against the JSON Schema meta-schema and builds a new
validator: on every call, for a schema that never changes. Profiled under load (issue 16)
that was about 60% of the Rasa server's time. This module replaces only
``RemoteAction._validate_action_result`` with the same check against the same schema
(``RemoteAction.action_response_format_spec()``), using validators built on first use; each
event is checked against its own type's schema, not all 23 (issue 31, ``event_validators``).
An invalid reply is still rejected with the same ``ValidationError`` and message.

2. **Event types resolved by a table.** Rebuilding a tracker turns every stored event into
an ``Event`` through ``Event.resolve_by_type``, which walks all of Event's subclasses
(recursively, with ``inspect.isabstract`` on each) for every single event: about two thirds
of reading a conversation. The answer for a type name never changes once found, so it is
remembered; an unknown name still goes through Rasa's own function (same result, same
error).

3. **One NLU parse per distinct text.** Running the NLU graph (tokenizer, featurizers, DIET
in TensorFlow) was about 28% of the Rasa server's time under load, and after a reminder
wave most messages are the same few words ("sudah bayar", "cek status", "ya"). The parse
is a function of the text, the model and the calendar day (two-digit years in dates
depend on it: nlu/components.py), so recent results are remembered under that key in a
bounded LRU (``SADAR_NLU_PARSE_CACHE_TEXTS``, default 2000; 0 turns it off). Each caller
gets its own deep copy, so nothing Rasa does to a result reaches the remembered one.

4. **Rule search stopped where no rule reaches.** The rule policy narrows its candidate
rules state by state, walking back through the *whole* conversation (all states of the
session, for each of its two or three searches per prediction), although a rule of n states
accepts everything beyond its n-th state back. Profiled under load (issue 31) that walk
was about 7% of the server's time and grows with the conversation. The search here is the
same filter, stopped once it has gone further back than the longest remaining candidate
(or none remain): the same set of keys, always.

5. **Dialogue states rebuilt once per turn**, not once per policy and prediction
(nlu/state_history.py, issue 31).

6. **The action server's calls made cheaper** (nlu/action_calls.py, issue 31): the domain
sent once, not with every call, and connections kept.

7. **Slots copied directly** (``copy_slot``), as ``copy.copy`` copies them.

8. **Graphs run by dask's in-process evaluator** (``run_graph_in_order``).

Rasa loads it with the conversation store (nlu/tracker_store.py imports it and calls
``install``), so it runs in every Rasa server of a deployment without forking Rasa.
``install`` also puts the log redaction in place there (bot/infra/log_redaction.py), as in every
other Sadar process. Python
3.10: imported by Rasa's interpreter."""

from __future__ import annotations

import copy
import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import dask.core
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.processor import MessageProcessor
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
from rasa.shared.core.events import Event
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ACTION_NAME

from bot.domain.clock import Clock
from bot.infra import log_redaction
from nlu import action_calls, state_history
from nlu.components import rasa_process_clock

_INSTALLED_MARK = "_sadar_validator_built_once"


@lru_cache(maxsize=1)
def action_response_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, not on every reply
    return validator_class(schema)  # type: ignore[no-any-return]  # jsonschema's factory is untyped


@lru_cache(maxsize=1)
def event_validators() -> tuple[Validator, dict[str, Validator]]:
    """The reply's shape without its events' details, and one validator per event type.

    Rasa's schema lets an event be any one of its 23 event schemas (``oneOf``), so each
    event is checked against all 23. Each of those fixes the event's name (``const``), and
    the name is required: an event that passes the schema for its own name fails all
    others, so it passes the whole exactly when it passes that one."""
    spec = RemoteAction.action_response_format_spec()
    event_schema = spec["properties"]["events"]["items"]
    common = {key: value for key, value in event_schema.items() if key != "oneOf"}
    by_name: dict[str, Validator] = {}
    for one in event_schema["oneOf"]:
        schema = {"allOf": [common, one]}
        by_name[one["properties"]["event"]["const"]] = validator_for(schema)(schema)
    shape = copy.deepcopy(spec)
    shape["properties"]["events"]["items"] = {"type": "object"}
    return validator_for(shape)(shape), by_name


def is_valid_reply(result: dict[str, Any]) -> bool:
    """Whether Rasa's schema accepts the reply, one event schema per event."""
    shape, by_name = event_validators()
    if not shape.is_valid(result):
        return False
    for event in result.get("events") or []:
        name = event.get("event")
        checker = by_name.get(name) if isinstance(name, str) else None
        if checker is None or not checker.is_valid(event):
            return False
    return True


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """Rasa's check (same schema, same error) with the validators built once: a reply the
    schema accepts passes on the quick check, any other gets Rasa's whole check and
    its error."""
    if is_valid_reply(result):
        return True
    error = best_match(action_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


_rasa_resolve_by_type = Event.resolve_by_type
_event_types: dict[str, type[Event]] = {}


def resolve_event_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Rasa's ``Event.resolve_by_type``, remembering each class found."""
    found = _event_types.get(type_name)
    if found is not None:
        return found
    resolved = _rasa_resolve_by_type(type_name, default)
    if resolved is not None and resolved is not default:
        _event_types[type_name] = resolved
    return resolved


DEFAULT_PARSE_CACHE_TEXTS = 2000
ParseKey = tuple[str, str, bool, date]


class ParseCache:
    """Recent parse results by (model, text, output filter, day); least recent dropped."""

    def __init__(self, capacity: int, clock: Clock) -> None:
        self.capacity = capacity
        self._clock = clock
        self._results: OrderedDict[ParseKey, dict[str, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def key(self, model_id: str, text: str, only_output_properties: bool) -> ParseKey:
        return (model_id, text, only_output_properties, self._clock.today())

    def get(self, key: ParseKey) -> dict[str, Any] | None:
        found = self._results.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._results.move_to_end(key)
        return copy.deepcopy(found)

    def put(self, key: ParseKey, parse_data: dict[str, Any]) -> None:
        if self.capacity <= 0:
            return
        self._results[key] = copy.deepcopy(parse_data)
        self._results.move_to_end(key)
        while len(self._results) > self.capacity:
            self._results.popitem(last=False)

    def __len__(self) -> int:
        return len(self._results)


_rasa_parse_with_graph = MessageProcessor._parse_message_with_graph
parse_cache = ParseCache(
    int(os.environ.get("SADAR_NLU_PARSE_CACHE_TEXTS", DEFAULT_PARSE_CACHE_TEXTS)),
    rasa_process_clock(),
)


def parse_message_remembered(
    processor: MessageProcessor,
    message: UserMessage,
    tracker: DialogueStateTracker,
    only_output_properties: bool = True,
) -> dict[str, Any]:
    """Rasa's NLU graph run once per distinct text (same model, same day)."""
    if parse_cache.capacity <= 0 or not isinstance(message.text, str):
        return _rasa_parse_with_graph(processor, message, tracker, only_output_properties)  # type: ignore[no-any-return]  # Rasa's method is typed Dict[Text, Any]
    key = parse_cache.key(
        str(processor.model_metadata.model_id), message.text, only_output_properties
    )
    remembered = parse_cache.get(key)
    if remembered is not None:
        return remembered
    parse_data: dict[str, Any] = _rasa_parse_with_graph(
        processor, message, tracker, only_output_properties
    )
    parse_cache.put(key, parse_data)
    return parse_data


_rasa_possible_keys = RulePolicy._get_possible_keys


@dataclass(frozen=True)
class RuleIndex:
    """A model's rules by the action each names ``index`` states back: a rule that names
    action A there matches only a conversation whose action then was A
    (``_does_rule_match_state`` requires every value the rule sets), so only rules naming
    the conversation's action, or none, need Rasa's check at that turn."""

    longer_than: list[frozenset[str]]  # by index: the rules that look further back
    naming: list[dict[str, frozenset[str]]]  # by index: action name -> rules naming it
    naming_none: list[frozenset[str]]  # by index: the rules that name no action there

    @classmethod
    def of(cls, lookup: dict[str, str]) -> RuleIndex:
        states = {key: list(reversed(json.loads(key))) for key in lookup}
        longest = max((len(rule) for rule in states.values()), default=0)
        longer_than, naming, naming_none = [], [], []
        for index in range(longest):
            named: dict[str, set[str]] = {}
            unnamed: set[str] = set()
            for key, rule in states.items():
                if index >= len(rule):
                    continue
                action = (rule[index].get(PREVIOUS_ACTION) or {}).get(ACTION_NAME)
                if isinstance(action, str) and action and action != SHOULD_NOT_BE_SET:
                    named.setdefault(action, set()).add(key)
                else:
                    unnamed.add(key)
            longer_than.append(frozenset(unnamed.union(*named.values())))
            naming.append({action: frozenset(keys) for action, keys in named.items()})
            naming_none.append(frozenset(unnamed))
        return cls(longer_than, naming, naming_none)


_rule_indexes: dict[int, tuple[dict[str, str], RuleIndex]] = {}


def rule_index(lookup: dict[str, str]) -> RuleIndex:
    """Built once per model's rules (the lookup never changes once loaded)."""
    known = _rule_indexes.get(id(lookup))
    if known is None or known[0] is not lookup:
        if len(_rule_indexes) > 8:  # models replaced over time: keep the recent few
            _rule_indexes.clear()
        known = (lookup, RuleIndex.of(lookup))
        _rule_indexes[id(lookup)] = known
    return known[1]


def possible_rule_keys(
    policy: RulePolicy, lookup: dict[str, str], states: list[dict[str, Any]]
) -> set[str]:
    """Rasa's ``RulePolicy._get_possible_keys``, with two shortcuts that keep the same
    keys. The walk stops once it has gone further back than the longest remaining rule
    (``_is_rule_applicable`` accepts every state beyond a rule's length, so the rest of the
    walk cannot remove a key). At each turn Rasa's check runs only on the rules that could
    pass it (RuleIndex); a rule no longer than the turn is kept without a check, as Rasa's
    check keeps it."""
    index_of_rules = rule_index(lookup)
    possible = set(lookup)
    for index, state in enumerate(reversed(states)):
        if index >= len(index_of_rules.longer_than):
            break
        longer = possible & index_of_rules.longer_than[index]
        if not longer:  # every remaining rule is satisfied already
            break
        action = (state.get(PREVIOUS_ACTION) or {}).get(ACTION_NAME)
        named = index_of_rules.naming[index].get(action, frozenset()) if action else frozenset()
        candidates = longer & (named | index_of_rules.naming_none[index])
        possible = (possible - longer) | {
            key for key in candidates if policy._is_rule_applicable(key, index, state)
        }
    return possible


def copy_slot(slot: Slot) -> Slot:
    """``copy.copy`` of a slot as Python's default makes it (a new object of the same class
    sharing the attribute values), without its generic ``__reduce_ex__`` route: a tracker
    copies every slot of the domain (37) each time one is made, four or more times a turn
    (issue 31: ~5% of the Rasa server's time)."""
    duplicate = object.__new__(type(slot))
    duplicate.__dict__.update(slot.__dict__)
    return duplicate


def run_graph_in_order(
    self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
) -> dict[str, Any]:
    """Rasa's ``DaskGraphRunner.run``, with the graph computed by dask's own in-process
    evaluator (``dask.core.get``: each task once, in dependency order, by the same
    ``_execute_task``) instead of its threaded scheduler's synchronous mode, whose
    bookkeeping cost about 4% of the Rasa server's time for graphs of a dozen nodes that
    run twice or three times a turn (issue 31)."""
    run_targets = targets if targets else self._graph_schema.target_names
    minimal_schema = self._graph_schema.minimal_graph_schema(run_targets)
    run_graph = self._build_dask_graph(minimal_schema)
    if inputs:
        self._add_inputs_to_graph(inputs, run_graph)
    try:
        return dict(dask.core.get(run_graph, run_targets))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


def install() -> None:
    """Idempotent: Rasa may load the store more than once. Also makes every log record of
    the Rasa server a redacted one (bot/infra/log_redaction.py): Rasa logs a failed action's
    answer, and exceptions whose text may quote what a resident typed."""
    log_redaction.install()
    if getattr(RemoteAction, _INSTALLED_MARK, False):
        return
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]  # the one replaced method
    Event.resolve_by_type = staticmethod(resolve_event_type)  # type: ignore[method-assign,assignment]  # same signature, remembered answers
    MessageProcessor._parse_message_with_graph = parse_message_remembered  # type: ignore[method-assign]  # same signature, remembered results
    RulePolicy._get_possible_keys = possible_rule_keys  # type: ignore[method-assign,assignment]  # same signature, same keys
    state_history.install()
    DaskGraphRunner.run = run_graph_in_order  # type: ignore[method-assign]  # same signature, same results
    Slot.__copy__ = copy_slot  # type: ignore[attr-defined]  # copy.copy looks for it first
    action_calls.install()
    setattr(RemoteAction, _INSTALLED_MARK, True)


__all__ = [
    "ParseCache",
    "ValidationError",
    "action_response_validator",
    "install",
    "parse_cache",
    "parse_message_remembered",
    "possible_rule_keys",
    "resolve_event_type",
    "validate_action_result",
]
