"""Issue 25, point 2: an action that fails must not send the conversation back to Rasa
(which logs that answer) nor put it in the action server's own log.

rasa-sdk's app (the pinned version, as bot/processes/action_server.py builds it) with a few actions
that fail the ways real ones do, hardened by ``bot.processes.action_server.harden``, is called
through its ASGI interface the way Rasa calls it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from rasa_sdk import Action
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection
from sanic import Sanic

from bot.infra import log_redaction
from bot.processes.action_server import harden

TOKEN = "unit-action-token-0123456789abcdef0123"
NIK = "3523031708800001"
NAME = "Sutini Wahyuningsih"
PHONE = "+6281234567000"


class Failing(Action):
    def __init__(self, name: str, error: Exception) -> None:
        self._name, self._error = name, error

    def name(self) -> str:
        return self._name

    async def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[Any]:
        raise self._error


def action_call(action: str) -> dict[str, Any]:
    """What Rasa posts: the whole conversation, personal data included."""
    return {
        "next_action": action,
        "sender_id": f"wa:{PHONE}",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": f"wa:{PHONE}",
            "slots": {"nik": NIK, "full_name": NAME, "phone": PHONE},
            "latest_message": {"text": f"nama {NAME} NIK {NIK}", "intent": {}, "entities": []},
            "events": [{"event": "user", "text": f"nama {NAME} NIK {NIK}"}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@asynccontextmanager
async def running(app: Sanic) -> AsyncIterator[httpx.AsyncClient]:
    """The app's ASGI lifespan started (Sanic needs it), and a client on it."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    await inbox.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)
    )
    await started.wait()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://actions") as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await lifespan


@pytest.fixture
def app() -> Iterator[Sanic]:
    Sanic.test_mode = True  # one app per test under the same name
    executor = ActionExecutor()
    for action in (
        Failing("action_value_error", ValueError(f"NIK {NIK} does not match {PHONE}")),
        Failing("action_key_error", KeyError("nik")),
        # A message quoting what a resident typed, which no pattern can redact (a name).
        Failing("action_quotes_a_name", ValueError(f"invalid literal for int(): '{NAME}'")),
        Failing("action_rejects", ActionExecutionRejection("action_rejects", f"bad NIK {NIK}")),
    ):
        executor.register_action(action)
    before = logging.getLogRecordFactory()
    log_redaction.install()
    try:
        yield harden(create_app_for_serve(executor, cors_origins=None), TOKEN)
    finally:
        logging.setLogRecordFactory(before)
        Sanic._app_registry.clear()


async def post(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(
        "/webhook",
        params={"token": TOKEN},
        content=content,
        headers={"Content-Type": "application/json"},
    )


def assert_small_and_clean(response: httpx.Response) -> dict[str, Any]:
    assert (
        NIK not in response.text and NAME not in response.text and "81234567" not in response.text
    )
    assert len(response.content) < 200, response.text
    body = response.json()
    assert set(body) <= {"error", "action_name"}
    return body


@pytest.mark.parametrize(
    ("action", "exception_type"),
    [
        ("action_value_error", "ValueError"),
        ("action_key_error", "KeyError"),
        ("action_quotes_a_name", "ValueError"),
    ],
)
async def test_a_failing_action_answers_500_with_the_action_name_only(
    app: Sanic, caplog: pytest.LogCaptureFixture, action: str, exception_type: str
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(app) as client:
        response = await post(client, action_call(action))
    assert response.status_code == 500
    assert assert_small_and_clean(response) == {"error": "action failed", "action_name": action}
    logged = caplog.text
    assert f"action {action} failed: {exception_type}" in logged
    assert "Traceback" in logged  # the traceback is kept, its text redacted
    assert NIK not in logged and NAME not in logged and "81234567" not in logged
    assert "request_body" not in logged


async def test_a_rejection_and_an_unknown_action_answer_without_their_message(
    app: Sanic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(app) as client:
        rejected = await post(client, action_call("action_rejects"))
        unknown = await post(client, action_call("action_nobody_wrote"))
        not_json = await post(client, f"{{nik: {NIK}".encode())
    assert rejected.status_code == 400
    # Rasa reads the action name of a 400 (ActionExecutionRejection) and nothing else.
    assert assert_small_and_clean(rejected)["action_name"] == "action_rejects"
    assert unknown.status_code == 404
    assert assert_small_and_clean(unknown)["action_name"] == "action_nobody_wrote"
    assert not_json.status_code in (400, 500)
    assert_small_and_clean(not_json)
    assert NIK not in caplog.text


async def test_a_call_without_the_token_still_gets_401(app: Sanic) -> None:
    async with running(app) as client:
        response = await client.post("/webhook", json=action_call("action_value_error"))
    assert response.status_code == 401
