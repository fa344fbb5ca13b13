"""The web chat's conversation ids are the server's (issue 25): signed, ended by
inactivity or "keluar", never chosen by the client; the news poll is limited and reads
without writing. The gateway runs for real, Rasa is replaced at its HTTP boundary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from bot import messages
from bot.domain.clock import FixedClock
from bot.gateway.app import create_app
from bot.infra.settings import Settings
from tests.support.clock import ORDINARY_MOMENT
from tests.support.fake_rasa import FakeRasaREST
from tests.support.web_chat import new_session, sender_id_of


@pytest.fixture
def rasa() -> FakeRasaREST:
    return FakeRasaREST()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(ORDINARY_MOMENT)


@pytest.fixture
def gateway(tmp_path: Path, pg_url: str, rasa: FakeRasaREST, clock: FixedClock):
    """A gateway on a migrated database, with settings overridden per test."""

    def make(**overrides: object) -> TestClient:
        settings = Settings(_env_file=None, data_dir=tmp_path, database_url=pg_url, **overrides)
        return TestClient(create_app(settings, rasa_http=rasa.client(), clock=clock))

    return make


@pytest.fixture
def client(gateway) -> Iterator[TestClient]:
    with gateway() as test_client:
        yield test_client


def say(client: TestClient, session: str, text: str):
    return client.post("/api/chat", json={"sender": session, "text": text})


def refused_as_invalid(response) -> bool:
    return response.status_code == 422 and response.json()["session"] == "invalid"


def test_only_ids_the_server_issued_and_signed_are_accepted(
    client: TestClient, rasa: FakeRasaREST
) -> None:
    session = new_session(client)
    local, signature = session.split(".")
    assert say(client, session, "halo").status_code == 200
    altered = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}.{signature}"
    forged = f"{'a' * 24}.{'b' * 32}"
    for bad in (local, altered, forged, "visitor-1", f"{local}.{signature[::-1]}"):
        assert refused_as_invalid(say(client, bad, "halo"))
        assert refused_as_invalid(client.post("/api/chat/start", json={"sender": bad}))
        assert refused_as_invalid(client.post("/api/chat/news", json={"sender": bad}))
    assert [call["sender"] for call in rasa.calls] == [sender_id_of(session)]
    # Two issued ids are two conversations.
    assert new_session(client).split(".")[0] != local


def test_an_id_expires_after_the_idle_minutes_but_not_while_the_resident_writes(
    gateway, rasa: FakeRasaREST, clock: FixedClock
) -> None:
    with gateway(web_session_idle_minutes=30) as client:
        session = new_session(client)
        for _ in range(3):  # a message every 20 minutes keeps it going
            clock.set(clock.now() + timedelta(minutes=20))
            assert say(client, session, "halo").status_code == 200
        # The page's polls are not the resident: 31 quiet minutes end it all the same.
        for _ in range(31):
            clock.set(clock.now() + timedelta(minutes=1))
            client.post("/api/chat/news", json={"sender": session})
        assert refused_as_invalid(say(client, session, "halo"))
        assert len(rasa.calls) == 3
        fresh = new_session(client)
        assert say(client, fresh, "halo").status_code == 200
        assert rasa.calls[-1]["sender"] == sender_id_of(fresh) != sender_id_of(session)


def test_keluar_ends_the_conversation_at_the_channel(
    client: TestClient, rasa: FakeRasaREST
) -> None:
    session = new_session(client)
    assert say(client, session, "halo").status_code == 200
    ended = say(client, session, "Keluar")
    assert ended.status_code == 200
    assert ended.json() == {"replies": [{"text": messages.WEB_SESSION_ENDED}], "ended": True}
    assert [call["message"] for call in rasa.calls] == ["halo"]  # never reached Rasa
    assert refused_as_invalid(say(client, session, "halo"))
    assert refused_as_invalid(client.post("/api/chat/start", json={"sender": session}))


def test_rotating_ids_does_not_escape_the_limits(gateway) -> None:
    """Each id comes from the server, and ids are counted per client address."""
    with gateway(chat_messages_per_minute_per_address=5) as client:
        issued = [client.post("/api/chat/session") for _ in range(6)]
        assert [r.status_code for r in issued] == [200] * 5 + [429]


def test_news_polls_are_limited_per_conversation_and_address(gateway) -> None:
    with gateway(chat_news_polls_per_minute=3) as client:
        first, second = new_session(client), new_session(client)
        polls = [client.post("/api/chat/news", json={"sender": first}) for _ in range(4)]
        assert [p.status_code for p in polls] == [200, 200, 200, 429]
        # Another conversation has its own budget; the address has ten times one.
        assert client.post("/api/chat/news", json={"sender": second}).status_code == 200
        # Messages are counted apart from polls.
        assert say(client, first, "halo").status_code == 200


def test_a_news_poll_with_nothing_new_writes_nothing(client: TestClient) -> None:
    """The page asks every 5 seconds; it used to open and commit a transaction each time."""
    session = new_session(client)
    engine = client.app.state.context.engine  # type: ignore[attr-defined]
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(engine, "commit", committed)
    try:
        for _ in range(3):
            response = client.post("/api/chat/news", json={"sender": session})
            assert response.status_code == 200 and response.json() == {"replies": []}
    finally:
        event.remove(engine, "commit", committed)
    assert commits == []
