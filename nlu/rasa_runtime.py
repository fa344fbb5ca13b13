"""Two per-turn costs of Rasa 3.6 removed without forking it (issue 16, profiled with
py-spy under `make bench-load` and cProfile on the conversation store):

1. **Action-server replies validated with a JSON-Schema validator built once.** Rasa checks
every action-server reply with ``jsonschema.validate``, which first checks
the action-response schema itself against the JSON Schema meta-schema and builds a new
validator: on every call, for a schema that never changes. Profiled under load (issue 16)
that was about 60% of the Rasa server's time. This module replaces only
``RemoteAction._validate_action_result`` with the same check against the same schema
(``RemoteAction.action_response_format_spec()``), using one validator built on first use.
An invalid reply is still rejected with the same ``ValidationError`` and message.

2. **Event types resolved by a table.** Rebuilding a tracker turns every stored event into
an ``Event`` through ``Event.resolve_by_type``, which walks all of Event's subclasses
(recursively, with ``inspect.isabstract`` on each) for every single event: about two thirds
of reading a conversation. The answer for a type name never changes once found, so it is
remembered; an unknown name still goes through Rasa's own function (same result, same
error).

Rasa loads it with the conversation store (nlu/tracker_store.py imports it and calls
``install``), so it runs in every Rasa server of a deployment without forking Rasa. Python
3.10: imported by Rasa's interpreter."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

_INSTALLED_MARK = "_sadar_validator_built_once"


@lru_cache(maxsize=1)
def action_response_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, not on every reply
    return validator_class(schema)  # type: ignore[no-any-return]  # jsonschema's factory is untyped


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """Rasa's check (same schema, same error) with the validator built once."""
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


def install() -> None:
    """Idempotent: Rasa may load the store more than once."""
    if getattr(RemoteAction, _INSTALLED_MARK, False):
        return
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]  # the one replaced method
    Event.resolve_by_type = staticmethod(resolve_event_type)  # type: ignore[method-assign,assignment]  # same signature, remembered answers
    setattr(RemoteAction, _INSTALLED_MARK, True)


__all__ = [
    "ValidationError",
    "action_response_validator",
    "install",
    "resolve_event_type",
    "validate_action_result",
]
