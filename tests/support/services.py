"""Real PostgreSQL and Redis servers on loopback, started for one test session, and a
helper to serve local stand-ins of remote APIs.

Both are found from Debian's packages (scripts/ensure-test-services installs them)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports_in_a_row(count: int, besides: Collection[int] = ()) -> int:
    """The first of ``count`` consecutive loopback ports that are all free now and none of
    ``besides``: replicas listen on a base port counted up (`sadar run`), and a base port
    alone being free says nothing of the next one."""
    for _ in range(100):
        first = free_port()
        ports = range(first, first + count)
        if any(port in besides or port > 65535 for port in ports):
            continue
        held: list[socket.socket] = []
        try:
            for port in ports:
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return first
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.returncode} before port {port} opened"
            )
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def _postgres_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4])
    )
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found: run `make test` (it installs Debian's "
            "postgresql package) or `sudo apt-get install postgresql`."
        )
    return Path(candidates[-1]).parent


@dataclass
class PostgresServer:
    """A throwaway cluster with trust authentication on 127.0.0.1."""

    port: int
    data_dir: Path
    user: str = "sadar"

    def url(self, database: str, driver: str = "psycopg") -> str:
        return f"postgresql+{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def libpq_url(self, database: str) -> str:
        """URL without a driver name, as Rasa's SQLAlchemy 1.4 + psycopg2 expects."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return name


def _as_postgres_user(argv: Sequence[str]) -> list[str]:
    """PostgreSQL refuses to run as root; Debian's package creates a `postgres` user."""
    if os.geteuid() != 0:
        return list(argv)
    pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--", *argv]


def start_postgres() -> tuple[PostgresServer, subprocess.Popen]:
    bindir = _postgres_bindir()
    base = Path(tempfile.mkdtemp(prefix="sadar-pg-"))
    data_dir, socket_dir = base / "data", base / "sock"
    socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(socket_dir, "postgres")
    subprocess.run(
        _as_postgres_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "sadar",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    process = subprocess.Popen(
        _as_postgres_user(
            [
                str(bindir / "postgres"),
                "-D",
                str(data_dir),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={socket_dir}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, 30, process)
    server = PostgresServer(port=port, data_dir=base)
    # The port opens a moment before the server accepts logins.
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=sadar dbname=postgres").close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return server, process


@dataclass
class RedisServer:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis(port: int | None = None) -> tuple[RedisServer, subprocess.Popen]:
    """A Redis on loopback with nothing persisted; ``port`` to start one again on the port
    an earlier one used (a restart that lost everything)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server not found: run `make test` (it installs Debian's redis-server "
            "package) or `sudo apt-get install redis-server`."
        )
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, 15, process)
    return RedisServer(port=port), process


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[None]:
    """Serve an ASGI app (a local stand-in for a remote API) on loopback for a test."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the stand-in server on port {port} did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)
