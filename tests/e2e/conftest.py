"""The whole bot, started the way `make run` starts it (bot.devserver.process_specs), but
on free loopback ports with PostgreSQL for both the application and Rasa's tracker store."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.db.migrate import upgrade
from bot.devserver import ProcessSpec, process_specs
from bot.rasa_model import is_model_current, model_path
from bot.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_PII_KEY
from tests.support.services import PostgresServer, free_port, stop, wait_for_port

STARTUP_TIMEOUT_SECONDS = 180


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@dataclass
class Stack:
    settings: Settings
    environ: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    specs: dict[str, ProcessSpec] = field(default_factory=dict)

    def start(self, name: str) -> None:
        spec = self.specs[name]
        log_file = (self.log_dir / f"{spec.name}.log").open("a")
        self.processes[name] = subprocess.Popen(
            spec.argv, env=spec.env, cwd=PROJECT_ROOT, stdout=log_file, stderr=subprocess.STDOUT
        )

    def wait_ready(self) -> None:
        wait_for_port(self.settings.gateway_port, 60, self.processes["gateway"])
        action_health = f"http://127.0.0.1:{self.settings.action_server_port}/health"
        _wait_until(lambda: httpx.get(action_health).status_code == 200, "action server", self, 60)
        _wait_until(
            lambda: bool(httpx.get(f"{self.settings.rasa_url}/status").json().get("model_file")),
            "Rasa server",
            self,
            STARTUP_TIMEOUT_SECONDS,
        )

    def restart(self, *names: str) -> None:
        """Stop and start processes, as after a crash or a deployment."""
        for name in names:
            stop(self.processes[name])
        for name in names:
            self.start(name)
        self.wait_ready()

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway_port}"

    def chat(self, sender: str, text: str) -> list[dict[str, Any]]:
        response = httpx.post(
            f"{self.gateway_url}/api/chat", json={"sender": sender, "text": text}, timeout=60
        )
        assert response.status_code == 200, f"{response.status_code}: {response.text}"
        return response.json()["replies"]

    def tracker(self, sender_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.settings.rasa_url}/conversations/{sender_id}/tracker")
        response.raise_for_status()
        return response.json()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} (last 40 lines)\n" + "\n".join(path.read_text().splitlines()[-40:])
            for path in sorted(self.log_dir.glob("*.log"))
        )


def _wait_until(check, what: str, stack: Stack, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in stack.processes.items():
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}\n{stack.logs()}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what} not ready within {timeout} s\n{stack.logs()}")


@pytest.fixture(scope="session")
def stack(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not is_model_current(PROJECT_ROOT / "models"):
        pytest.fail(
            "The Rasa model is missing or stale: run `make test` (or `sadar model ensure`)."
        )
    app_db = postgres.create_database("sadar_e2e")
    tracker_db = postgres.create_database("rasa_tracker_e2e")
    rasa_port, action_port, gateway_port = free_port(), free_port(), free_port()
    values = {
        "SADAR_ENV": "test",
        "SADAR_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "SADAR_DATABASE_URL": postgres.url(app_db),
        "SADAR_TRACKER_STORE_URL": postgres.libpq_url(tracker_db),
        "SADAR_PII_HASH_KEY": TEST_PII_KEY,
        "SADAR_RASA_PORT": str(rasa_port),
        "SADAR_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "SADAR_ACTION_SERVER_PORT": str(action_port),
        "SADAR_ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "SADAR_GATEWAY_PORT": str(gateway_port),
    }
    environ = {**os.environ, **values}
    settings = Settings(
        _env_file=None, **{k.removeprefix("SADAR_").lower(): v for k, v in values.items()}
    )
    upgrade(settings.database_url)
    stack = Stack(settings=settings, environ=environ, log_dir=tmp_path_factory.mktemp("logs"))
    assert model_path(settings.rasa_model_dir).exists()
    try:
        for spec in process_specs(settings, environ=environ):
            stack.specs[spec.name] = spec
            stack.start(spec.name)
        stack.wait_ready()
        yield stack
    finally:
        for process in stack.processes.values():
            stop(process)
