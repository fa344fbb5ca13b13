"""Two Rasa servers and two action servers behind one gateway (issue 16): conversations are
shared through the PostgreSQL tracker store and Sadar's Redis lock store (nlu/lock_store.py).
One Rasa server is killed (SIGKILL) in the middle of residents' registrations; every
resident's conversation goes on, in order, on the other server, and no message is lost or
answered twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bot.conversation import RASA_WEBHOOK_PATH, RasaClient
from bot.db.migrate import upgrade
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.processes.devserver import process_specs
from tests.conftest import TEST_PII_KEY
from tests.support.clock import E2E_CLOCK_START, clock_environment
from tests.support.dialogues import REGISTRATION, new_nik
from tests.support.services import (
    PostgresServer,
    RedisServer,
    free_port,
    free_ports_in_a_row,
    stop,
    wait_for_port,
)
from tests.support.web_chat import new_session, sender_id_of

ACTION_TOKEN = "scale-out-action-token-0123456789abcdef"
RASA_TOKEN = "scale-out-rasa-token-0123456789abcdef01"
RESIDENTS = 8


@dataclass
class Replicas:
    settings: Settings
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    #: The Rasa servers as the gateway knows them.
    rasa_urls: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway_port}"

    def rasa_ready(self, port: int) -> bool:
        try:
            status = httpx.get(
                f"http://127.0.0.1:{port}/status", params={"token": RASA_TOKEN}, timeout=5
            )
        except httpx.HTTPError:
            return False
        return status.status_code == 200 and bool(status.json().get("model_file"))

    def tracker_texts(self, sender_id: str) -> list[str]:
        """What the conversation store holds that residents typed, through a live server."""
        for port in (self.settings.rasa_port, self.settings.rasa_port + 1):
            if self.rasa_ready(port):
                tracker = httpx.get(
                    f"http://127.0.0.1:{port}/conversations/{sender_id}/tracker",
                    params={"token": RASA_TOKEN, "include_events": "ALL"},
                    timeout=30,
                ).json()
                return [e["text"] for e in tracker["events"] if e["event"] == "user"]
        raise AssertionError("no Rasa server is up")


@pytest.fixture(scope="module")
def replicas(
    postgres: PostgresServer, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    logs: Path = tmp_path_factory.mktemp("scale-out-logs")
    rasa_port = free_ports_in_a_row(2)
    action_port = free_ports_in_a_row(2, besides={rasa_port, rasa_port + 1})
    gateway_port = free_port()
    while gateway_port in {rasa_port, rasa_port + 1, action_port, action_port + 1}:
        gateway_port = free_port()
    values = {
        "SADAR_ENV": "test",
        "SADAR_DATA_DIR": str(tmp_path_factory.mktemp("scale-out-data")),
        "SADAR_DATABASE_URL": postgres.url(postgres.create_database("sadar_scale_out")),
        "SADAR_TRACKER_STORE_URL": postgres.libpq_url(postgres.create_database("rasa_scale_out")),
        "SADAR_REDIS_URL": redis_server.url,
        "SADAR_PII_HASH_KEY": TEST_PII_KEY,
        "SADAR_RASA_PORT": str(rasa_port),
        "SADAR_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "SADAR_RASA_REPLICAS": "2",
        "SADAR_ACTION_SERVER_PORT": str(action_port),
        "SADAR_ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "SADAR_ACTION_SERVER_REPLICAS": "2",
        "SADAR_GATEWAY_PORT": str(gateway_port),
        "SADAR_ACTION_SERVER_TOKEN": ACTION_TOKEN,
        "SADAR_RASA_API_TOKEN": RASA_TOKEN,
        "SADAR_CHAT_MESSAGES_PER_MINUTE_PER_ADDRESS": "1000000",
        "SADAR_CHAT_MESSAGES_PER_MINUTE_PER_SENDER": "1000",
        **clock_environment(E2E_CLOCK_START),
    }
    settings = Settings(
        _env_file=None, **{k.removeprefix("SADAR_").lower(): v for k, v in values.items()}
    )
    upgrade(settings.database_url)
    stack = Replicas(settings)
    try:
        for spec in process_specs(settings, environ={**os.environ, **values}):
            if spec.name == "gateway":
                stack.rasa_urls = spec.env["SADAR_RASA_URL"].split(",")
            out = (logs / f"{spec.name}.log").open("a")
            stack.processes[spec.name] = subprocess.Popen(
                spec.argv, env=spec.env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        assert {"rasa-1", "rasa-2", "actions-1", "actions-2", "gateway"} <= set(stack.processes)
        wait_for_port(settings.gateway_port, 60, stack.processes["gateway"])
        for port in (rasa_port, rasa_port + 1):
            for _ in range(360):
                if stack.rasa_ready(port):
                    break
                assert all(p.poll() is None for p in stack.processes.values()), f"logs: {logs}"
                time.sleep(0.5)
            else:
                pytest.fail(f"Rasa on port {port} did not start; logs in {logs}")
        yield stack
    finally:
        for process in stack.processes.values():
            if process.poll() is None:
                stop(process)


def senders_on_both_servers(rasa_urls: list[str], gateway: str) -> list[str]:
    """Half the residents start on each Rasa server (the gateway's own choice); each is a
    web chat id the gateway issued."""
    client = RasaClient(rasa_urls, 5)
    first, second = rasa_urls
    chosen: dict[str, list[str]] = {first: [], second: []}
    with httpx.Client(timeout=60) as http:
        issued = iter(lambda: new_session(http, gateway), None)
        while any(len(group) < RESIDENTS // 2 for group in chosen.values()):
            sender = next(issued)
            home = client.urls_for(sender_id_of(sender))[0].removesuffix(RASA_WEBHOOK_PATH)
            if len(chosen[home]) < RESIDENTS // 2:
                chosen[home].append(sender)
    return chosen[first] + chosen[second]


def say(stack: Replicas, http: httpx.Client, sender: str, text: str, expected: str) -> str:
    """One message; the problem seen ('' when the answer is the expected one)."""
    response = http.post(f"{stack.gateway}/api/chat", json={"sender": sender, "text": text})
    said = " ".join(r.get("text") or "" for r in response.json().get("replies", []))
    if response.status_code != 200 or expected.lower() not in said.lower():
        return f"{sender} {text!r}: {response.status_code} {said!r}"
    return ""


def test_killing_one_rasa_server_mid_registration_loses_and_repeats_nothing(
    replicas: Replicas,
) -> None:
    """Residents answer concurrently, step by step; between two steps (no message in flight:
    a message a server was processing when it died gets the "sedang sibuk" reply instead,
    since it may have been acted on) the first Rasa server is killed."""
    senders = senders_on_both_servers(replicas.rasa_urls, replicas.gateway)
    names = [f"Warga {chr(65 + i)}" for i in range(RESIDENTS)]
    birth = E2E_CLOCK_START.date().replace(year=1980, month=8, day=17)
    niks = [new_nik(birth) for _ in senders]
    problems: list[str] = []
    with httpx.Client(timeout=60) as http, ThreadPoolExecutor(RESIDENTS) as pool:
        for step, (template, expected) in enumerate(REGISTRATION):
            if step == 5:
                os.kill(replicas.processes["rasa-1"].pid, signal.SIGKILL)
                replicas.processes["rasa-1"].wait(10)
            texts = [template.format(name=n, nik=k) for n, k in zip(names, niks, strict=True)]
            problems += pool.map(
                lambda i, texts=texts, expected=expected: say(
                    replicas, http, senders[i], texts[i], expected
                ),
                range(RESIDENTS),
            )
    assert [p for p in problems if p] == []
    assert replicas.processes["rasa-1"].poll() is not None  # it really was killed
    for sender, name, nik in zip(senders, names, niks, strict=True):
        typed = [t.format(name=name, nik=nik) for t, _ in REGISTRATION]
        assert replicas.tracker_texts(sender_id_of(sender)) == typed  # in order, each once
