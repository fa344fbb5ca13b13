"""Local SQLite files hold residents' data (issue 25, point 7): the reminder queue (when
there is no Redis), the application database and their data folder are the owner's only,
whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.db.engine import make_engine
from bot.infra.settings import Settings
from bot.processes.worker import build_huey


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common default (files 0644, folders 0755), whatever the machine's is."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sqlite_files(database: Path) -> list[Path]:
    names = (database.name, f"{database.name}-wal", f"{database.name}-shm")
    return [database.with_name(name) for name in names if database.with_name(name).exists()]


def test_the_sqlite_reminder_queue_is_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    huey = build_huey(Settings(_env_file=None, data_dir=data_dir, redis_url=None))
    huey.storage.enqueue(b"reminder 1")  # Huey opens the file, in WAL mode
    assert huey.storage.queue_size() == 1
    files = sqlite_files(data_dir / "reminder-queue.db")
    assert len(files) == 3, files  # the database, its WAL and SHM
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
    assert mode(data_dir) == 0o700


def test_a_data_folder_an_older_run_made_readable_is_narrowed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    build_huey(Settings(_env_file=None, data_dir=data_dir, redis_url=None))
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "reminder-queue.db") == 0o600


def test_the_application_sqlite_database_is_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "data" / "sadar.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
        connection.execute(text("INSERT INTO t VALUES ('3523031708800001')"))
        modes = {path.name: mode(path) for path in sqlite_files(database)}
    engine.dispose()
    assert len(modes) == 3, modes  # the database, its WAL and SHM
    assert modes == dict.fromkeys(modes, 0o600)
    assert mode(database.parent) == 0o700
