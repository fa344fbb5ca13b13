"""A stand-in for Rasa's REST channel at the HTTP boundary (httpx transport), recording
every call. It answers like Rasa: a JSON list of messages with optional buttons."""

from __future__ import annotations

import asyncio
import json

import httpx

from bot.conversation import RASA_WEBHOOK_PATH


class FakeRasaREST:
    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.calls: list[dict] = []
        #: The Authorization header of each call (None: none sent).
        self.authorizations: list[str | None] = []
        self.delay_seconds = delay_seconds
        self.active: dict[str, int] = {}
        self.max_concurrent_per_sender = 0
        self.max_concurrent_total = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == RASA_WEBHOOK_PATH
        body = json.loads(request.content)
        self.authorizations.append(request.headers.get("authorization"))
        sender = body["sender"]
        self.active[sender] = self.active.get(sender, 0) + 1
        self.max_concurrent_per_sender = max(self.max_concurrent_per_sender, self.active[sender])
        self.max_concurrent_total = max(self.max_concurrent_total, sum(self.active.values()))
        try:
            await asyncio.sleep(self.delay_seconds)
            self.calls.append(body)
            return httpx.Response(
                200,
                json=[
                    {"recipient_id": sender, "text": f"echo: {body['message']}"},
                    {
                        "recipient_id": sender,
                        "text": "Pilih:",
                        "buttons": [{"title": "Daftar", "payload": "/start_registration"}],
                    },
                ],
            )
        finally:
            self.active[sender] -= 1

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))
