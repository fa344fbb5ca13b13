"""Action-server replies validated with a JSON-Schema validator built once.

Rasa 3.6 checks every action-server reply with ``jsonschema.validate``, which first checks
the action-response schema itself against the JSON Schema meta-schema and builds a new
validator: on every call, for a schema that never changes. Profiled under load (issue 16)
that was about 60% of the Rasa server's time. This module replaces only
``RemoteAction._validate_action_result`` with the same check against the same schema
(``RemoteAction.action_response_format_spec()``), using one validator built on first use.
An invalid reply is still rejected with the same ``ValidationError`` and message.

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


def install() -> None:
    """Idempotent: Rasa may load the store more than once."""
    if getattr(RemoteAction, _INSTALLED_MARK, False):
        return
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]  # the one replaced method
    setattr(RemoteAction, _INSTALLED_MARK, True)


__all__ = ["ValidationError", "action_response_validator", "install", "validate_action_result"]
