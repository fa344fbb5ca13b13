"""The reminder queue is built when a process first needs it (the worker, or whoever
enqueues), never when bot.worker is imported, and its tasks keep the names tasks already
on a queue were stored under."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings
from bot.worker import build_queue

TASKS = {"send_reminders", "plan_today", "sweep", "purge_conversations"}


def test_importing_the_worker_builds_no_queue(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "SADAR_DATA_DIR": str(data_dir), "SADAR_REDIS_URL": ""}
    subprocess.run(
        [sys.executable, "-c", "import bot.worker"], env=env, cwd=PROJECT_ROOT, check=True
    )
    assert not (data_dir / "reminder-queue.db").exists()


def test_the_queue_registers_every_task_under_its_old_name(tmp_path: Path) -> None:
    queue = build_queue(Settings(_env_file=None, data_dir=tmp_path, redis_url=None))
    registered = set(queue.huey._registry._registry)  # Huey's wire names: module.task
    assert registered == {f"bot.worker.{name}" for name in TASKS}
    periodic = {task.__name__ for task in queue.huey._registry._periodic_tasks}
    assert periodic == TASKS - {"send_reminders"}
    assert queue.send_reminders.name == "send_reminders"
