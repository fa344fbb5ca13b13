"""At most once, none lost: two real `sadar reminders worker` processes share a Redis queue
(Huey) that holds every batch twice, one worker is killed mid-run, the queue is recovered,
and every reminder reaches the fake Telegram Bot API at most once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime

import httpx
import pytest
from sqlalchemy import select, update

from bot.app_context import AppContext
from bot.db.models import Reminder
from bot.infra.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_PII_KEY
from tests.support.clock import WIB, clock_environment
from tests.support.fake_telegram import FakeTelegram
from tests.support.participants import make_participant
from tests.support.services import RedisServer, free_port, start_redis, stop

PARTICIPANTS = 240
DAY = "2026-11-13"  # three days before November's due date
#: Every process of a test runs on this clock: the morning of DAY in Jakarta.
MORNING_OF_DAY = datetime(2026, 11, 13, 9, 0, tzinfo=WIB)


@pytest.fixture
def environment(
    pg_url: str, redis_server: RedisServer, fake: FakeTelegram, tmp_path
) -> Iterator[dict[str, str]]:
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/7"
    values = {
        "SADAR_ENV": "test",
        "SADAR_DATA_DIR": str(tmp_path),
        "SADAR_DATABASE_URL": pg_url,
        "SADAR_REDIS_URL": redis_url,
        "SADAR_PII_HASH_KEY": TEST_PII_KEY,
        "SADAR_TELEGRAM_BOT_TOKEN": "123456:TEST",
        "SADAR_TELEGRAM_API_BASE_URL": fake.base_url,
        "SADAR_TELEGRAM_MESSAGES_PER_SECOND": "1000",
        "SADAR_TELEGRAM_MESSAGES_PER_CHAT_PER_SECOND": "100",
        # The morning of DAY, whatever day and hour the test runs.
        **clock_environment(MORNING_OF_DAY),
    }
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    yield {**os.environ, **values}


def settings_of(environment: dict[str, str]) -> dict[str, str]:
    """The SADAR_* values of ``environment`` as Settings arguments (the same clock too)."""
    return {
        key.removeprefix("SADAR_").lower(): value
        for key, value in environment.items()
        if key.startswith("SADAR_")
    }


def sadar(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def worker(env: dict[str, str], log_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "reminders", "worker", "--threads", "2"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )


def states(context: AppContext) -> Counter[str]:
    with context.sessions() as session:
        return Counter(session.scalars(select(Reminder.state)).all())


def quiet(fake: FakeTelegram, seconds: float = 2.0):
    """A condition: no new message reached the fake for ``seconds``."""
    last = {"count": -1, "since": time.monotonic()}

    def check() -> bool:
        count = len(fake.sent())
        if count != last["count"]:
            last.update(count=count, since=time.monotonic())
        return time.monotonic() - last["since"] >= seconds

    return check


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_two_workers_a_kill_and_a_recovery_send_each_reminder_at_most_once(
    environment: dict[str, str], pg_url: str, fake: FakeTelegram, tmp_path
) -> None:
    context = AppContext.from_settings(Settings(_env_file=None, **settings_of(environment)))
    for chat in range(PARTICIPANTS):
        make_participant(context, f"tg:{9000 + chat}", first_period=date(2026, 11, 1))

    plan = sadar(environment, "reminders", "plan", "--date", DAY)
    assert f"before_due           tg       planned  {PARTICIPANTS:>9}" in plan.stdout
    assert sum(states(context).values()) == 0  # a dry run

    sadar(environment, "reminders", "run", "--date", DAY)
    with context.sessions.begin() as session:  # queue every batch a second time
        session.execute(update(Reminder).values(state="planned"))
    run = sadar(environment, "reminders", "run", "--date", DAY)
    assert f"queued {PARTICIPANTS} reminder(s)" in run.stdout
    assert states(context) == {"queued": PARTICIPANTS}

    fake.delay_seconds = 0.02
    first = worker(environment, tmp_path / "worker-1.log")
    second = worker(environment, tmp_path / "worker-2.log")
    try:
        wait_until(lambda: len(fake.sent()) >= 12, 60, "the first reminders")
        os.kill(first.pid, signal.SIGKILL)  # mid-run, no chance to clean up
        first.wait(10)
        wait_until(quiet(fake), 90, "the surviving worker to finish what the queue still has")
        # The dead worker's claims and the batches it had taken from the queue are found
        # and given to the living one.
        recovered = sadar(environment, "reminders", "recover", "--lease-minutes", "0")
        assert "re-queued" in recovered.stdout
        wait_until(
            lambda: set(states(context)) <= {"sent", "unknown"}, 60, "every reminder to settle"
        )
    finally:
        stop(second)
        if first.poll() is None:
            stop(first)
        context.engine.dispose()

    per_chat = Counter(int(m["chat_id"]) for m in fake.sent())
    final = states(context)
    duplicates = sum(count - 1 for count in per_chat.values() if count > 1)
    lost = PARTICIPANTS - len(per_chat)
    print(
        f"\nsent {final['sent']}, unknown {final['unknown']}, duplicates {duplicates}, "
        f"lost {lost}, messages {len(fake.sent())}"
    )
    summary = f"states {dict(final)}, {len(fake.sent())} messages, logs in {tmp_path}"
    assert duplicates == 0, summary
    assert final["sent"] + final["unknown"] == PARTICIPANTS, summary
    # Only a send interrupted inside the platform call may be unknown: at most one per
    # thread of the killed worker; all others went out exactly once.
    assert final["unknown"] <= 2, summary
    assert lost <= final["unknown"], summary
    assert final["sent"] == len(per_chat) - (final["unknown"] - lost)


def test_without_redis_a_single_machine_uses_the_sqlite_queue(
    environment: dict[str, str], pg_url: str, fake: FakeTelegram, tmp_path
) -> None:
    metrics_port = free_port()
    env = {k: v for k, v in environment.items() if k != "SADAR_REDIS_URL"}
    env["SADAR_WORKER_METRICS_PORT"] = str(metrics_port)
    context = AppContext.from_settings(Settings(_env_file=None, **settings_of(environment)))
    for chat in range(5):
        make_participant(context, f"tg:{9500 + chat}")
    sadar(env, "reminders", "run", "--date", DAY)
    assert (tmp_path / "reminder-queue.db").exists()
    single = worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: states(context) == {"sent": 5}, 60, "five reminders sent")
        # Scraped like Prometheus does: the worker's own sends and the database's states.
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    finally:
        stop(single)
        context.engine.dispose()
    assert sorted(int(m["chat_id"]) for m in fake.sent()) == list(range(9500, 9505))
    assert 'sadar_reminders{state="sent"} 5.0' in scraped
    assert 'sadar_reminders{state="queued"} 0.0' in scraped
    assert "sadar_reminder_queue_depth 0.0" in scraped
    assert 'sadar_messages_out_total{channel="tg",purpose="reminder",status="sent"} 5.0' in scraped


def test_running_workers_survive_a_redis_restart_and_send_everyone_once(
    environment: dict[str, str], pg_url: str, fake: FakeTelegram, tmp_path
) -> None:
    """Redis restarts (no persistence: every queued batch is gone) while two workers send.
    The workers stay up and reconnect; what the queue lost is handed over again by
    `recover`; nobody gets a reminder twice."""
    private, redis_process = start_redis()
    env = {**environment, "SADAR_REDIS_URL": private.url}
    context = AppContext.from_settings(Settings(_env_file=None, **settings_of(env)))
    chats = [9700 + i for i in range(40)]
    for chat in chats:
        make_participant(context, f"tg:{chat}", first_period=date(2026, 11, 1))
    sadar(env, "reminders", "run", "--date", DAY)
    fake.delay_seconds = 0.2  # slow enough that most batches are still queued at the restart
    first = worker(env, tmp_path / "worker-1.log")
    second = worker(env, tmp_path / "worker-2.log")
    try:
        wait_until(lambda: len(fake.sent()) >= 5, 60, "the first reminders")
        stop(redis_process)
        _, redis_process = start_redis(private.port)
        wait_until(quiet(fake), 60, "the workers to finish what they held")
        assert first.poll() is None and second.poll() is None, "a worker died with Redis"
        recovered = sadar(env, "reminders", "recover", "--lease-minutes", "0")
        requeued = int(re.search(r"re-queued (\d+)", recovered.stdout).group(1))  # type: ignore[union-attr]  # the CLI prints this line
        assert requeued > 0, "the restart came too late: nothing was lost with the queue"
        wait_until(
            lambda: set(states(context)) <= {"sent", "unknown"}, 90, "every reminder to settle"
        )
    finally:
        stop(first)
        stop(second)
        stop(redis_process)
        context.engine.dispose()
    per_chat = Counter(int(m["chat_id"]) for m in fake.sent())
    final = states(context)
    assert max(per_chat.values()) == 1, per_chat
    assert final["sent"] + final["unknown"] == len(chats), final
    assert len(per_chat) >= final["sent"]
