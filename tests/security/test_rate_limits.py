"""No cheap NIK guessing from the web chat (issue 15, point 4): one conversation, and one
client address across conversations, get 429 with a polite reply past their per-minute
limits; nothing over the limit reaches Rasa."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from bot.db.migrate import upgrade
from bot.gateway.app import create_app
from bot.infra.settings import Settings
from tests.support.fake_rasa import FakeRasaREST
from tests.support.web_chat import WebChatIds


def test_a_fast_sender_and_a_fast_address_are_slowed_down(tmp_path: Path) -> None:
    rasa = FakeRasaREST()
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        chat_messages_per_minute_per_sender=3,
        chat_messages_per_minute_per_address=5,
    )
    upgrade(settings.database_url)  # the web chat's issued ids live there
    with TestClient(create_app(settings, rasa_http=rasa.client())) as client:
        ids = WebChatIds()
        guesser = ids.of(client, "guesser")
        codes = [
            client.post("/api/chat", json={"sender": guesser, "text": f"{i}"}).status_code
            for i in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        refused = client.post("/api/chat", json={"sender": guesser, "text": "lagi"})
        assert "tunggu sebentar" in refused.json()["replies"][0]["text"]
        assert int(refused.headers["Retry-After"]) >= 1
        # New conversations from the same address: the address limit (5) holds them too.
        others = [
            client.post(
                "/api/chat", json={"sender": ids.of(client, f"other-{i}"), "text": "halo"}
            ).status_code
            for i in range(4)
        ]
        assert others.count(429) >= 2
    assert len(rasa.calls) == 5
