"""`sadar run` as a village office runs it (SQLite, no Redis): each process is killed with
SIGKILL once, in the middle of a resident's registration and of a reminder run. The
supervisor starts it again while the others keep serving (the gateway says "sedang
sibuk" while Rasa is away), the registration continues where it was, and no reminder
reaches a resident twice (issue 16)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot import messages
from bot.app_context import AppContext
from bot.db.migrate import upgrade
from bot.db.models import Reminder
from bot.infra.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_PII_KEY
from tests.support.clock import E2E_CLOCK_START, clock_environment
from tests.support.dialogues import REGISTRATION, new_nik
from tests.support.fake_telegram import FakeTelegram
from tests.support.participants import make_participant
from tests.support.services import free_port, stop
from tests.support.web_chat import WebChatIds

STARTED = re.compile(r"sadar\s+\| (\S+) started \(pid (\d+)\)")
REMINDED = 6


@dataclass
class SupervisedRun:
    process: subprocess.Popen[bytes]
    output: Path
    gateway: str
    environ: dict[str, str]
    #: Names of web conversations -> the ids the gateway issued (they outlive its restart).
    web_ids: WebChatIds = field(default_factory=WebChatIds)

    def pids(self) -> dict[str, int]:
        """The latest pid of each process, from the supervisor's own lines."""
        found: dict[str, int] = {}
        for name, pid in STARTED.findall(self.output.read_text(errors="replace")):
            found[name] = int(pid)
        return found

    def chat(self, sender: str, text: str) -> tuple[int, str]:
        with httpx.Client(base_url=self.gateway, timeout=60) as http:
            session = self.web_ids.of(http, sender)
        response = httpx.post(
            f"{self.gateway}/api/chat", json={"sender": session, "text": text}, timeout=60
        )
        return response.status_code, " ".join(
            r.get("text") or "" for r in response.json()["replies"]
        )


def wait_until(check: Callable[[], bool], what: str, seconds: float, run: SupervisedRun) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        assert run.process.poll() is None, "sadar run itself stopped"
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {seconds:.0f} s; output in {run.output}")


@pytest.fixture(scope="module")
def supervised(
    tmp_path_factory: pytest.TempPathFactory, fake_channels: tuple[FakeTelegram, object]
) -> Iterator[SupervisedRun]:
    telegram, _ = fake_channels
    data = tmp_path_factory.mktemp("supervised")
    gateway_port = free_port()
    values = {
        "SADAR_ENV": "test",
        "SADAR_DATA_DIR": str(data),
        "SADAR_PII_HASH_KEY": TEST_PII_KEY,
        "SADAR_RASA_PORT": str(rasa_port := free_port()),
        "SADAR_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "SADAR_ACTION_SERVER_PORT": str(action_port := free_port()),
        "SADAR_ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "SADAR_GATEWAY_PORT": str(gateway_port),
        "SADAR_TELEGRAM_BOT_TOKEN": "123456:SUPERVISED",
        "SADAR_TELEGRAM_API_BASE_URL": telegram.base_url,
        "SADAR_RESTART_FIRST_PAUSE_SECONDS": "0.5",
        "SADAR_CHAT_MESSAGES_PER_MINUTE_PER_SENDER": "1000",
        **clock_environment(E2E_CLOCK_START),
    }
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SADAR_")} | values
    upgrade(Settings(_env_file=None, data_dir=data).database_url)
    output = data / "sadar-run.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=environ,
        cwd=PROJECT_ROOT,
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    run = SupervisedRun(process, output, f"http://127.0.0.1:{gateway_port}", environ)
    try:
        wait_until(
            lambda: httpx.get(f"{run.gateway}/readyz", timeout=5).status_code == 200,
            "Sadar to be ready",
            240,
            run,
        )
        yield run
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # Ctrl-C: the supervisor stops them all
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stop(process)
        # Nothing is left behind.
        for pid in run.pids().values():
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)


def kill(run: SupervisedRun, name: str) -> int:
    old = run.pids()[name]
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: run.pids().get(name, old) != old, f"{name} restarted", 30, run)
    return run.pids()[name]


def answered(run: SupervisedRun, sender: str, text: str, expected: str) -> Callable[[], bool]:
    """Sends ``text`` until it gets the expected reply (a person retrying after "sibuk")."""

    def check() -> bool:
        status, said = run.chat(sender, text)
        if status == 503:
            assert messages.RASA_UNAVAILABLE[:20] in said  # the polite reply, not an error
            return False
        assert status == 200, said
        if messages.NO_REPLY in said:  # an action failed while its server restarted
            return False
        assert expected.lower() in said.lower(), said
        return True

    return check


def test_each_process_killed_once_is_restarted_and_the_registration_goes_on(
    supervised: SupervisedRun,
) -> None:
    run, sender = supervised, "supervised-resident"
    nik = new_nik(date(1980, 8, 17))
    assert "Sebelum mendaftar" in run.chat(sender, "daftar")[1]
    assert "nama lengkap" in run.chat(sender, "ya")[1]

    kill(run, "rasa")
    status, said = run.chat(sender, "Sulastri")  # Rasa is starting again meanwhile
    if status == 503:
        wait_until(answered(run, sender, "Sulastri", "NIK"), "an answer after Rasa", 240, run)
    else:
        assert "NIK" in said

    kill(run, "actions")
    wait_until(answered(run, sender, nik, "Tanggal lahir"), "the NIK taken", 60, run)

    kill(run, "gateway")
    wait_until(answered(run, sender, "17-08-1980", "Nomor HP"), "the birth date", 60, run)

    kill(run, "telegram")
    for text, expected in REGISTRATION[5:]:
        status, said = run.chat(sender, text)
        assert status == 200 and expected.lower() in said.lower(), said
    # Every process still there, each restarted once.
    restarts = Counter(name for name, _ in STARTED.findall(run.output.read_text()))
    for name in ("rasa", "actions", "gateway", "telegram"):
        assert restarts[name] == 2, restarts


def test_a_killed_reminder_worker_is_restarted_and_sends_nobody_twice(
    supervised: SupervisedRun, fake_channels: tuple[FakeTelegram, object]
) -> None:
    telegram, _ = fake_channels
    settings = Settings(
        _env_file=None,
        **{k.removeprefix("SADAR_").lower(): v for k, v in supervised.environ.items()
           if k.startswith("SADAR_")},
    )  # fmt: skip
    context = AppContext.from_settings(settings)
    chats = [7700 + i for i in range(REMINDED)]
    for chat in chats:
        make_participant(context, f"tg:{chat}", first_period=date(2026, 11, 1))
    telegram.delay_seconds = 0.5
    try:
        day = "2026-11-13"  # November's before-due reminders, sent at once (it is later now)
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "reminders", "run", "--date", day],
            env=supervised.environ, cwd=PROJECT_ROOT, check=True, capture_output=True,
        )  # fmt: skip
        to_chats = lambda: [m for m in telegram.sent() if int(m["chat_id"]) in chats]  # noqa: E731
        wait_until(lambda: len(to_chats()) >= 1, "the first reminder", 60, supervised)
        kill(supervised, "reminders")
        # What the killed worker held is given back by `sadar reminders recover`.
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "reminders", "recover", "--lease-minutes", "0"],
            env=supervised.environ, cwd=PROJECT_ROOT, check=True, capture_output=True,
        )  # fmt: skip

        def settled() -> bool:
            with context.sessions() as session:
                states = session.scalars(select(Reminder.state)).all()
            return len(states) == REMINDED and set(states) <= {"sent", "unknown"}

        wait_until(settled, "every reminder settled", 120, supervised)
    finally:
        telegram.delay_seconds = 0.0
        context.engine.dispose()
    per_chat = Counter(int(m["chat_id"]) for m in to_chats())
    assert max(per_chat.values()) == 1, per_chat  # nobody twice
