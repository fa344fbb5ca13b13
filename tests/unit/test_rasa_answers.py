"""Issue 25, point 4: an answer from Rasa that is not a list of messages (a dict, null,
HTML from a proxy, a list of strings) is a failed turn: the resident gets the polite "try
again", and the body (which may quote what they typed) reaches no log.

Rasa is a local stand-in on a loopback port, spoken to over real HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from bot import messages
from bot.conversation import RASA_WEBHOOK_PATH, RasaClient, RasaUnavailable
from bot.db.migrate import upgrade
from bot.gateway.app import create_app
from bot.infra.settings import Settings
from tests.support.services import free_port, serve_in_thread
from tests.support.web_chat import new_session

NIK = "3523031708800001"

ODD_ANSWERS = {
    "a dict": (f'{{"text": "NIK {NIK}"}}', "application/json"),
    "null": ("null", "application/json"),
    "HTML": (f"<html><body>502 Bad Gateway {NIK}</body></html>", "text/html"),
    "a list of strings": (f'["NIK {NIK}"]', "application/json"),
    "a number": ("16", "application/json"),
    "buttons that are not dicts": (f'[{{"text": "ok", "buttons": ["{NIK}"]}}]', "application/json"),
    "a text that is not a string": (f'[{{"text": {{"nik": "{NIK}"}}}}]', "application/json"),
    "not JSON at all": (f"NIK {NIK} [", "application/json"),
}


class OddRasa:
    """Rasa's REST channel answering whatever ``answer`` is set to."""

    def __init__(self) -> None:
        self.port = free_port()
        self.answer = ("[]", "application/json")
        self.app = FastAPI()

        @self.app.post(RASA_WEBHOOK_PATH)
        async def webhook() -> Response:
            body, content_type = self.answer
            return Response(content=body, media_type=content_type)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def odd_rasa() -> Iterator[OddRasa]:
    rasa = OddRasa()
    with serve_in_thread(rasa.app, rasa.port):
        yield rasa


@pytest.mark.parametrize("kind", sorted(ODD_ANSWERS))
async def test_the_client_turns_an_odd_answer_into_rasa_unavailable(
    odd_rasa: OddRasa, kind: str
) -> None:
    odd_rasa.answer = ODD_ANSWERS[kind]
    client = RasaClient(odd_rasa.url, 5)
    try:
        with pytest.raises(RasaUnavailable) as raised:
            await client.send("web:a", "halo")
    finally:
        await client.aclose()
    assert NIK not in str(raised.value)


async def test_a_list_of_messages_is_still_read(odd_rasa: OddRasa) -> None:
    odd_rasa.answer = ('[{"recipient_id": "web:a", "text": "Halo"}]', "application/json")
    client = RasaClient(odd_rasa.url, 5)
    try:
        replies = await client.send("web:a", "halo")
    finally:
        await client.aclose()
    assert [r.text for r in replies] == ["Halo"]


@pytest.mark.parametrize("kind", sorted(ODD_ANSWERS))
def test_the_gateway_answers_politely_and_logs_no_body(
    odd_rasa: OddRasa, kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    odd_rasa.answer = ODD_ANSWERS[kind]
    settings = Settings(_env_file=None, data_dir=tmp_path, rasa_url=odd_rasa.url)
    upgrade(settings.database_url)
    with TestClient(create_app(settings)) as client:
        response = client.post("/api/chat", json={"sender": new_session(client), "text": "halo"})
    assert response.status_code == 503
    assert response.json() == {"replies": [{"text": messages.RASA_UNAVAILABLE}]}
    assert "unexpected answer" in caplog.text
    assert NIK not in caplog.text and "[NIK]" not in caplog.text
