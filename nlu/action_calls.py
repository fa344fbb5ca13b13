"""Calls to the action server, made cheaper for the Rasa server (issue 31, profiled under the
open-loop benchmark). Python 3.10: imported by Rasa's interpreter.

**The domain goes to the action server once, not with every call.** Rasa 3.6 sends the
whole domain (65 KB of JSON for Sadar: every response text, slot and form) with every call
to the action server, beside the conversation itself. Encoding those calls was about 6% of
the Rasa server's time, and the action server decoded the same 65 KB again on every call.

rasa-sdk (3.9 and later) keeps the domain it was last sent, with its digest: a call that
carries a digest it knows needs no domain, and one that carries an unknown digest and no
domain is answered 449 ("domain missing"). Rasa 3.6 does not speak that protocol; this
module adds Rasa's half of it. Every call carries the domain's digest and no domain; a 449
answer (the action server has just started, another worker of it answered, or the model
changed) sends the same call again, once, with the domain. The action server runs nothing
before it answers 449, so the repeat does nothing twice.

**One connection pool, kept.** Rasa opens a new HTTP session, and so a new TCP
connection, for every call (``EndpointConfig.session``): about 3% of its time went to
connecting. Each endpoint now keeps one session per event loop, whose connections stay
open between calls (aiohttp's pool: at most 100 at once, an idle one closed after 15 s,
well before the action server's 120 s); its headers, authentication and timeout are
Rasa's, and it encodes the calls' bodies with ujson."""

from __future__ import annotations

import asyncio
import hashlib
import json
from contextvars import ContextVar
from typing import Any

import aiohttp
import ujson
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.core.domain import Domain
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

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


class KeptSession:
    """``async with`` gives the kept session and leaves it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_exception: object) -> None:
        return None


_kept: dict[tuple[int, int], tuple[EndpointConfig, aiohttp.ClientSession]] = {}


def kept_session(self: EndpointConfig) -> Any:
    """Rasa's ``EndpointConfig.session``, one per endpoint and event loop, reused."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not called from a coroutine: Rasa's own, closed after use
        return _rasa_session(self)
    key = (id(self), id(loop))
    known = _kept.get(key)
    if known is None or known[0] is not self or known[1].closed:
        known = (self, new_session(self))
        _kept[key] = known
    return KeptSession(known[1])


def new_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """Rasa's session for the endpoint (same headers, authentication and timeout), with
    request bodies encoded by ujson (in Rasa's environment already): a call's body is the
    whole conversation, and ujson encodes it in about a third of the standard library's
    time (0.45 against 1.19 ms for 68 KB). The JSON is the same document."""
    auth = None
    if endpoint.basic_auth:
        auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
    return aiohttp.ClientSession(
        headers=endpoint.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        json_serialize=encode_json,
    )


def encode_json(body: Any) -> str:
    """ujson; the standard library for anything ujson refuses, as before."""
    try:
        return ujson.dumps(body, ensure_ascii=False, escape_forward_slashes=False)  # type: ignore[no-any-return]
    except (OverflowError, TypeError, ValueError):
        return json.dumps(body)


async def close_kept_sessions() -> None:
    """On the way out: no "unclosed client session" warnings."""
    loop = asyncio.get_running_loop()
    for key, (_, session) in list(_kept.items()):
        if key[1] == id(loop):
            await session.close()
            del _kept[key]


def close_kept_sessions_on_stop() -> None:
    """Rasa's own "after server stop" step, then the kept sessions closed. Called before
    Rasa starts (nlu/serve.py): Rasa registers that step when it builds its server."""
    import rasa.core.run

    rasa_close_resources = rasa.core.run.close_resources

    async def close_resources(app: Any, loop: Any) -> None:
        await rasa_close_resources(app, loop)
        await close_kept_sessions()

    rasa.core.run.close_resources = close_resources


_rasa_action_call_format = RemoteAction._action_call_format
_rasa_run = RemoteAction.run
_rasa_session = EndpointConfig.session


def install() -> None:
    """Idempotent."""
    RemoteAction._action_call_format = action_call_format  # type: ignore[method-assign]  # same signature, digest added
    RemoteAction.run = run  # type: ignore[method-assign]  # same signature, one repeat on 449
    EndpointConfig.session = kept_session  # type: ignore[method-assign]  # same use: `async with`


__all__ = [
    "DOMAIN_MISSING",
    "action_call_format",
    "close_kept_sessions",
    "close_kept_sessions_on_stop",
    "domain_digest",
    "install",
    "kept_session",
    "run",
]
