"""The action server: rasa-sdk's Sanic app with Sadar's actions, behind a shared token.

Anyone who can reach the action server can run any action as any sender (record payments
as an agent, erase a participant), so it listens on loopback by default and answers every
call without the token Rasa sends (``action_endpoint.token`` in endpoints.yml, a ``token``
query parameter) with 401. Run with ``python -m bot.processes.action_server``.

An action that fails must not put the conversation in a log: rasa-sdk answers an exception
with ``{"error": str(exception), "request_body": <the whole tracker>}`` and Rasa logs that
answer (``RemoteAction.run`` wraps it in the exception its processor logs with a
traceback), so every NIK, name and birth date typed so far ended in Rasa's log. Here every
error answer is small (the error kind and the action name), and this side logs the action
name, the exception type and where it was raised, without the exception's message (which
may quote a resident's words); what remains is redacted too (bot/infra/logs.py)."""

from __future__ import annotations

import logging
import re
import traceback
from functools import partial
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, json, raw
from sanic.worker.loader import AppLoader

from bot.infra import metrics
from bot.infra.logs import configure_logging
from bot.infra.privacy import secrets_match
from bot.infra.region_register import place_register
from bot.infra.settings import Settings, get_settings

log = logging.getLogger(__name__)
ACTIONS_PACKAGE = "actions"
#: Only the liveness check is open; it says nothing but "ok".
OPEN_PATHS = frozenset({"/health"})
#: What an error answer of /webhook says, by status (rasa-sdk: 400 rejected, 404 unknown
#: action, 449 domain needed; Rasa reads only the status and, for 400, the action name).
ERROR_KINDS = {400: "action rejected", 404: "action not found", 449: "domain missing"}
_ACTION_NAME = re.compile(r"[A-Za-z0-9_\-]{1,100}")


def create_action_app(expected_token: str) -> Sanic:
    """Module-level factory (Sanic's workers rebuild the app from it)."""
    from rasa_sdk.endpoint import create_app_for_serve

    from actions.funnel import FunnelObservingExecutor

    executor = FunnelObservingExecutor()
    executor.register_package(ACTIONS_PACKAGE)
    place_register()  # loaded before the first resident reaches the village question
    return harden(create_app_for_serve(executor, cors_origins=None), expected_token)


def call_body(request: Request) -> dict[str, Any]:
    """The call's JSON object (Sanic parses it once); empty when it is not one."""
    try:
        body: Any = request.json
    except Exception:  # not JSON (or compressed)
        return {}
    return body if isinstance(body, dict) else {}


def action_name(request: Request) -> str:
    """The action a call asked for, only if it looks like an action name (it is logged
    and answered back)."""
    name = call_body(request).get("next_action")
    return name if isinstance(name, str) and _ACTION_NAME.fullmatch(name) else "unknown"


def carries_domain(request: Request) -> bool:
    return call_body(request).get("domain") is not None


def frames_only(exception: BaseException) -> str:
    """Where ``exception`` (and each exception it came from) was raised, without their
    messages: a message may quote what a resident typed ("invalid literal for int():
    '<a name>'"), and no pattern can redact a name."""
    chain: list[BaseException] = []
    current: BaseException | None = exception
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return "\nwhich came from:\n".join(
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(error.__traceback__))
        + type(error).__name__
        for error in chain
    )


def harden(app: Sanic, expected_token: str) -> Sanic:
    """rasa-sdk's app behind the token, with error answers that carry no request data."""

    async def failed_call(request: Request, exception: Exception) -> HTTPResponse:
        """Replaces rasa-sdk's handler, which answers with the whole request body."""
        status = exception.status_code if isinstance(exception, SanicException) else 500
        if status >= 500:
            log.error(
                "action %s failed: %s\n%s",
                action_name(request),
                type(exception).__name__,
                frames_only(exception),
            )
        kind = "action failed" if status >= 500 else type(exception).__name__
        return json({"error": kind, "action_name": action_name(request)}, status=status)

    app.error_handler.cached_handlers.pop((Exception, None), None)
    app.error_handler.add(Exception, failed_call)

    @app.on_request
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if secrets_match(request.args.get("token", ""), expected_token):
            return None
        log.warning("action server call without a valid token from %s", request.ip)
        return json({"error": "unauthorized"}, status=401)

    @app.on_response
    async def count_calls(request: Request, response: HTTPResponse) -> HTTPResponse | None:
        """Counts calls and errors; rasa-sdk's own 400/404/449 answers (its exception's
        message) are replaced by the error kind and the action name."""
        if request.path != "/webhook" or response.status == 401:
            return None
        action = action_name(request)
        metrics.ACTION_CALLS.labels(action=action).inc()
        if response.status == 200 and carries_domain(request):
            metrics.ACTION_DOMAINS_RECEIVED.inc()
        if response.status >= 500:
            metrics.ACTION_ERRORS.labels(action=action).inc()
        if response.status in ERROR_KINDS:
            body = {"error": ERROR_KINDS[response.status], "action_name": action}
            return json(body, status=response.status)
        return None

    @app.get("/metrics")
    async def prometheus_metrics(request: Request) -> HTTPResponse:
        """Behind the same token as the actions (Prometheus: ``params: {token: [...]}``)."""
        return raw(metrics.exposition(), content_type=metrics.CONTENT_TYPE)

    return app


def run(settings: Settings) -> None:
    if settings.action_server_token is None:
        raise SystemExit(
            "SADAR_ACTION_SERVER_TOKEN is not set: the action server does not run open. "
            "`sadar run` sets a random one; in a deployment set the same value for Rasa "
            "(endpoints.yml) and the action server."
        )
    token = settings.action_server_token.get_secret_value()
    loader = AppLoader(factory=partial(create_action_app, token))
    app = loader.load()
    log.info(
        "action server on http://%s:%d", settings.action_server_host, settings.action_server_port
    )
    # One process (no Sanic manager + worker pair): its pid is the server, so a supervisor
    # that restarts it leaves nothing behind holding the port, and it costs one process less.
    app.prepare(
        host=settings.action_server_host, port=settings.action_server_port, single_process=True
    )
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    configure_logging(get_settings().log_level)
    run(get_settings())
