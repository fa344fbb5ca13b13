"""A local stand-in for the Telegram Bot API (https://core.telegram.org/bots/api): it answers
getMe, sendMessage, answerCallbackQuery and getFile the way Telegram does (files served
at /file/bot<token>/<file_path>), and records every call.
python-telegram-bot is pointed at it through its base_url setting."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.services import free_port, serve_in_thread

BOT_USER = {"id": 7000001, "is_bot": True, "first_name": "Sadar", "username": "sadar_test_bot"}


@dataclass
class FakeTelegram:
    port: int
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: time.monotonic() of each accepted sendMessage, for throughput measurements.
    sent_times: list[float] = field(default_factory=list)
    #: HTTP statuses to answer the next sendMessage calls with, in order (429: retry_after 1).
    failures: list[int] = field(default_factory=list)
    #: Seconds each sendMessage takes, to stand for a real network round trip.
    delay_seconds: float = 0.0
    #: Updates waiting for a poller's getUpdates, as Telegram keeps them.
    pending_updates: list[dict[str, Any]] = field(default_factory=list)
    #: Files users sent: file_id -> bytes (served through getFile's file_path).
    files: dict[str, bytes] = field(default_factory=dict)
    #: file_ids downloaded, in order.
    downloaded: list[str] = field(default_factory=list)

    def hold_file(self, data: bytes) -> dict[str, Any]:
        """A file a user sent: the PhotoSize fields an Update carries for it."""
        file_id = f"AgAC{len(self.files):06d}"
        self.files[file_id] = data
        return {
            "file_id": file_id,
            "file_unique_id": f"AQAD{len(self.files):06d}",
            "file_size": len(data),
            "width": 1280,
            "height": 960,
        }

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]


def _decode(form: dict[str, str]) -> dict[str, Any]:
    """PTB posts form fields whose non-string values are JSON-encoded."""
    decoded: dict[str, Any] = {}
    for key, value in form.items():
        try:
            decoded[key] = json.loads(value)
        except (json.JSONDecodeError, TypeError):
            decoded[key] = value
    return decoded


def _app(fake: FakeTelegram) -> Starlette:
    message_ids = iter(range(1, 10**9))

    async def method(request: Request) -> JSONResponse:
        name = request.path_params["method"]
        body = (await request.body()).decode()
        if request.headers.get("content-type", "").startswith("application/json"):
            params = json.loads(body or "{}")
        else:
            params = _decode(dict(parse_qsl(body, keep_blank_values=True)))
        fake.calls.append((name, params))
        if name == "getMe":
            return JSONResponse({"ok": True, "result": BOT_USER})
        if name == "sendMessage" and fake.delay_seconds:
            await asyncio.sleep(fake.delay_seconds)
        if name == "sendMessage" and fake.failures:
            status = fake.failures.pop(0)
            error: dict[str, Any] = {"ok": False, "error_code": status}
            if status == 429:
                error["description"] = "Too Many Requests: retry after 1"
                error["parameters"] = {"retry_after": 1}
            elif status == 403:
                error["description"] = "Forbidden: bot was blocked by the user"
            else:
                error["description"] = "Bad Gateway"
            return JSONResponse(error, status_code=status)
        if name == "sendMessage":
            fake.sent_times.append(time.monotonic())
            result = {
                "message_id": next(message_ids),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
            return JSONResponse({"ok": True, "result": result})
        if name == "getUpdates":
            # Telegram forgets updates below `offset`; a real server would long-poll.
            offset = int(params.get("offset") or 0)
            fake.pending_updates[:] = [u for u in fake.pending_updates if u["update_id"] >= offset]
            if not fake.pending_updates:
                await asyncio.sleep(min(float(params.get("timeout") or 0), 0.2))
            return JSONResponse({"ok": True, "result": list(fake.pending_updates)})
        if name == "getFile":
            file_id = str(params.get("file_id"))
            if file_id not in fake.files:
                return JSONResponse(
                    {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                    status_code=400,
                )
            result = {
                "file_id": file_id,
                "file_unique_id": file_id.replace("AgAC", "AQAD"),
                "file_size": len(fake.files[file_id]),
                "file_path": f"photos/{file_id}.jpg",
            }
            return JSONResponse({"ok": True, "result": result})
        if name in ("answerCallbackQuery", "deleteWebhook", "setWebhook"):
            return JSONResponse({"ok": True, "result": True})
        return JSONResponse(
            {"ok": False, "error_code": 404, "description": "Not Found: method not faked"},
            status_code=404,
        )

    async def file(request: Request) -> Response:
        file_id = request.path_params["path"].removeprefix("photos/").removesuffix(".jpg")
        if file_id not in fake.files:
            return Response(status_code=404)
        fake.downloaded.append(file_id)
        return Response(fake.files[file_id], media_type="application/octet-stream")

    return Starlette(
        routes=[
            Route("/bot{token}/{method}", method, methods=["POST", "GET"]),
            Route("/file/bot{token}/{path:path}", file, methods=["GET"]),
        ]
    )


@contextmanager
def running_fake_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(port=free_port())
    with serve_in_thread(_app(fake), fake.port):
        yield fake
