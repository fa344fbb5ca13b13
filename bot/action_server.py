"""The action server: rasa-sdk's Sanic app with Sadar's actions, behind a shared token.

Anyone who can reach the action server can run any action as any sender (record payments
as an agent, erase a participant), so it listens on loopback by default and answers every
call without the token Rasa sends (``action_endpoint.token`` in endpoints.yml, a ``token``
query parameter) with 401. Run with ``python -m bot.action_server``."""

from __future__ import annotations

import logging
from functools import partial

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json, raw
from sanic.worker.loader import AppLoader

from bot import metrics
from bot.privacy import secrets_match
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)
ACTIONS_PACKAGE = "actions"
#: Only the liveness check is open; it says nothing but "ok".
OPEN_PATHS = frozenset({"/health"})


def create_action_app(expected_token: str) -> Sanic:
    """Module-level factory (Sanic's workers rebuild the app from it)."""
    from rasa_sdk.endpoint import create_app_for_serve
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package(ACTIONS_PACKAGE)
    app = create_app_for_serve(executor, cors_origins=None)

    @app.on_request
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if secrets_match(request.args.get("token", ""), expected_token):
            return None
        log.warning("action server call without a valid token from %s", request.ip)
        return json({"error": "unauthorized"}, status=401)

    @app.on_response
    async def count_calls(request: Request, response: HTTPResponse) -> None:
        if request.path != "/webhook" or response.status == 401:
            return
        body = request.json if isinstance(request.json, dict) else {}
        action = str(body.get("next_action", "unknown"))
        metrics.ACTION_CALLS.labels(action=action).inc()
        if response.status >= 500:
            metrics.ACTION_ERRORS.labels(action=action).inc()

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
    logging.basicConfig(level=get_settings().log_level)
    run(get_settings())
