"""The gateway's /metrics, scraped as Prometheus does: turn latencies and Rasa errors are
counted, and the door is closed unless the client is on this machine or has the token."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from bot.db.migrate import upgrade
from bot.gateway.app import create_app
from bot.infra.settings import Settings
from tests.support.fake_rasa import FakeRasaREST
from tests.support.services import free_port
from tests.support.web_chat import new_session

LOCAL = ("127.0.0.1", 50000)


def sample(scraped: str, name: str, labels: str = "") -> float:
    """The value of one series in Prometheus text format (0 when absent)."""
    pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+-]+)"
    found = re.search(pattern, scraped)
    return float(found.group(1)) if found else 0.0


def test_turns_are_timed_per_channel(tmp_path: Path) -> None:
    rasa = FakeRasaREST()
    settings = Settings(_env_file=None, data_dir=tmp_path)
    upgrade(settings.database_url)  # the web chat's issued ids live there
    app = create_app(settings, rasa_http=rasa.client())
    with TestClient(app, client=LOCAL) as client:
        before = client.get("/metrics").text
        m1 = new_session(client)
        for text in ("halo", "cek status", "iuran berapa"):
            assert client.post("/api/chat", json={"sender": m1, "text": text}).status_code == 200
        after = client.get("/metrics")
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    count = 'channel="web"'
    assert sample(after.text, "sadar_turn_seconds_count", count) == (
        sample(before, "sadar_turn_seconds_count", count) + 3
    )
    assert m1.split(".")[0] not in after.text  # no sender ever becomes a label


def test_rasa_being_down_is_counted(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None, data_dir=tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}"
    )
    upgrade(settings.database_url)
    with TestClient(create_app(settings), client=LOCAL) as client:
        before = client.get("/metrics").text
        reply = client.post("/api/chat", json={"sender": new_session(client), "text": "halo"})
        after = client.get("/metrics").text
    assert reply.status_code == 503
    reason = 'reason="unreachable"'
    assert sample(after, "sadar_rasa_errors_total", reason) == (
        sample(before, "sadar_rasa_errors_total", reason) + 1
    )


def test_metrics_are_closed_to_other_machines_without_the_token(tmp_path: Path) -> None:
    rasa = FakeRasaREST()
    app = create_app(Settings(_env_file=None, data_dir=tmp_path), rasa_http=rasa.client())
    with TestClient(app, client=("203.0.113.9", 40000)) as client:
        assert client.get("/metrics").status_code == 403


def test_with_a_token_only_its_bearer_reads_metrics(tmp_path: Path) -> None:
    token = "metrics-token-for-tests-0123456789abcdef"
    settings = Settings(_env_file=None, data_dir=tmp_path, metrics_token=token)
    app = create_app(settings, rasa_http=FakeRasaREST().client())
    with TestClient(app, client=LOCAL) as client:
        assert client.get("/metrics").status_code == 403  # the token applies on loopback too
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert wrong.status_code == 403
    assert right.status_code == 200
    assert "sadar_turn_seconds" in right.text
