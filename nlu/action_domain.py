"""The domain goes to the action server once, not with every action call.

Rasa 3.6 sends the whole domain (65 KB of JSON for Sadar: every response text, slot and
form) with every call to the action server, beside the conversation itself. Profiled
under the open-loop benchmark (issue 31), encoding those calls was about 6% of the Rasa
server's time, and the action server decoded the same 65 KB again on every call.

rasa-sdk (3.9 and later) keeps the domain it was last sent, with its digest: a call that
carries a digest it knows needs no domain, and one that carries an unknown digest and no
domain is answered 449 ("domain missing"). Rasa 3.6 does not speak that protocol; this
module adds Rasa's half of it. Every call carries the domain's digest and no domain; a 449
answer (the action server has just started, another worker of it answered, or the model
changed) sends the same call again, once, with the domain. The action server runs nothing
before it answers 449, so the repeat does nothing twice. Python 3.10: imported by Rasa's
interpreter."""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from typing import Any

from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError

DOMAIN_MISSING = 449  # rasa-sdk's answer to a digest it does not know, without a domain
_DIGEST = "_sadar_domain_digest"
_send_domain: ContextVar[bool] = ContextVar("sadar_send_domain", default=False)


def domain_digest(domain: Domain) -> str:
    """A digest of what the action server is sent of the domain; worked out once per
    domain (a model's domain never changes)."""
    known: str | None = domain.__dict__.get(_DIGEST)
    if known is None:
        encoded = json.dumps(domain.as_dict(), sort_keys=True, default=str).encode()
        known = hashlib.sha256(encoded).hexdigest()
        domain.__dict__[_DIGEST] = known
    return known


def action_call_format(self: RemoteAction, tracker: Any, domain: Domain) -> dict[str, Any]:
    """Rasa's call body with the domain's digest; the domain itself only when the action
    server has asked for it."""
    body = _rasa_action_call_format(self, tracker, domain)
    body["domain_digest"] = domain_digest(domain)
    if not _send_domain.get():
        body.pop("domain", None)
    elif "domain" not in body:  # Rasa's own selective domain left it out
        body["domain"] = domain.as_dict()
    return body


def asked_for_domain(error: RasaException) -> bool:
    cause = error.__cause__
    return isinstance(cause, ClientResponseError) and cause.status == DOMAIN_MISSING


async def run(
    self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Domain
) -> Any:
    """Rasa's ``RemoteAction.run``, sent again with the domain when the server asks."""
    try:
        return await _rasa_run(self, output_channel, nlg, tracker, domain)
    except RasaException as error:
        if _send_domain.get() or not asked_for_domain(error):
            raise
    sending = _send_domain.set(True)
    try:
        return await _rasa_run(self, output_channel, nlg, tracker, domain)
    finally:
        _send_domain.reset(sending)


_rasa_action_call_format = RemoteAction._action_call_format
_rasa_run = RemoteAction.run


def install() -> None:
    """Idempotent."""
    RemoteAction._action_call_format = action_call_format  # type: ignore[method-assign]  # same signature, digest added
    RemoteAction.run = run  # type: ignore[method-assign]  # same signature, one repeat on 449


__all__ = ["DOMAIN_MISSING", "action_call_format", "domain_digest", "install", "run"]
