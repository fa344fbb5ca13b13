"""The reminder queue is built when a process first needs it (the worker, or whoever
enqueues), never when bot.processes.worker is imported, and its tasks are registered under
fixed wire names (Huey's module.task): a queued task whose name no worker knows is dropped,
which `sadar reminders recover` repairs (docs/reminders.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.infra.settings import PROJECT_ROOT, Settings
from bot.processes.worker import build_queue

TASKS = {"send_reminders", "plan_today", "sweep", "purge_conversations"}


def test_importing_the_worker_builds_no_queue(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "SADAR_DATA_DIR": str(data_dir), "SADAR_REDIS_URL": ""}
    subprocess.run(
        [sys.executable, "-c", "import bot.processes.worker"], env=env, cwd=PROJECT_ROOT, check=True
    )
    assert not (data_dir / "reminder-queue.db").exists()


def test_the_queue_registers_every_task_under_its_wire_name(tmp_path: Path) -> None:
    queue = build_queue(Settings(_env_file=None, data_dir=tmp_path, redis_url=None))
    registered = set(queue.huey._registry._registry)  # Huey's wire names: module.task
    assert registered == {f"bot.processes.worker.{name}" for name in TASKS}
    periodic = {task.__name__ for task in queue.huey._registry._periodic_tasks}
    assert periodic == TASKS - {"send_reminders"}
    assert queue.send_reminders.name == "send_reminders"
