"""Server-issued web chat ids for tests and scripts. The gateway signs the ids it issues
(bot/gateway/web_sessions.py) and refuses made-up ones, so a caller that names its
conversations ("abc", "bench-1", a dialogue's name) asks for an id per name first, here."""

from __future__ import annotations

import httpx

from bot.domain.senders import Channel, make_sender_id


def new_session(http: httpx.Client, base_url: str = "") -> str:
    response = http.post(f"{base_url}/api/chat/session", timeout=30)
    response.raise_for_status()
    return str(response.json()["session"])


async def anew_session(http: httpx.AsyncClient, base_url: str = "") -> str:
    response = await http.post(f"{base_url}/api/chat/session", timeout=30)
    response.raise_for_status()
    return str(response.json()["session"])


def sender_id_of(session: str) -> str:
    """The conversation's sender id as Rasa and the database know it: ``web:<id>``."""
    return make_sender_id(Channel.WEB, session.split(".", 1)[0])


class WebChatIds:
    """One issued id per name, asked for on first use."""

    def __init__(self, base_url: str = "") -> None:
        self._base_url = base_url
        self._ids: dict[str, str] = {}

    def of(self, http: httpx.Client, name: str) -> str:
        if name not in self._ids:
            self._ids[name] = new_session(http, self._base_url)
        return self._ids[name]

    async def aof(self, http: httpx.AsyncClient, name: str) -> str:
        if name not in self._ids:
            self._ids[name] = await anew_session(http, self._base_url)
        return self._ids[name]

    def sender_id(self, name: str) -> str:
        return sender_id_of(self._ids[name])

    def forget(self, name: str) -> None:
        self._ids.pop(name, None)
