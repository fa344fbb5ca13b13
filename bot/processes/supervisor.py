"""Keeps `sadar run`'s processes alive: a process that dies is started again after a growing
pause, while the others go on serving.

honcho (used before) stops every process when one exits, so one crash of the Rasa server
left a village office without the bot until someone typed the command again. Here a crash
costs only that process's restart time: the gateway answers the polite "sedang sibuk"
reply meanwhile, conversations resume from the conversation store, and reminders resume
from the queue and the database (their claims prevent a second send).

The clock and the way a process is started are injected, so the restart policy is
unit-tested without waiting."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol


class ProcessLike(Protocol):
    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass(frozen=True)
class RestartPolicy:
    """Pauses of first, 2×first, 4×first … up to ``longest``; a process that ran for
    ``stable_after`` seconds starts over from ``first``."""

    first: float = 1.0
    longest: float = 30.0
    stable_after: float = 60.0

    def pause(self, crashes_in_a_row: int) -> float:
        return min(self.longest, self.first * 2 ** max(0, crashes_in_a_row - 1))


@dataclass
class Supervised:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: ProcessLike | None = None
    started_at: float = 0.0
    crashes_in_a_row: int = 0
    restart_at: float | None = None
    restarts: int = 0
    exit_codes: list[int] = field(default_factory=list)


def spawn(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """Its own process group, so that stopping it also stops what it started."""
    return subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


class Supervisor:
    def __init__(
        self,
        processes: Sequence[tuple[str, list[str], dict[str, str]]],
        cwd: Path,
        *,
        policy: RestartPolicy | None = None,
        start: Callable[[list[str], dict[str, str], Path], ProcessLike] = spawn,
        clock: Callable[[], float] = time.monotonic,
        out: IO[str] = sys.stdout,
    ) -> None:
        self.children = [Supervised(name, argv, env) for name, argv, env in processes]
        self._cwd = cwd
        self._policy = policy or RestartPolicy()
        self._start = start
        self._clock = clock
        self._out = out
        self._print_lock = threading.Lock()
        self._stopping = threading.Event()
        self._width = max((len(c.name) for c in self.children), default=8)

    def say(self, name: str, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        with self._print_lock:
            self._out.write(f"{stamp} {name:<{self._width}} | {line}\n")
            self._out.flush()

    def _launch(self, child: Supervised) -> None:
        child.process = self._start(child.argv, child.env, self._cwd)
        child.started_at = self._clock()
        child.restart_at = None
        self.say("sadar", f"{child.name} started (pid {child.process.pid})")
        stream = getattr(child.process, "stdout", None)
        if stream is not None:
            threading.Thread(
                target=self._pump, args=(child.name, stream), daemon=True, name=child.name
            ).start()

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(name, raw.decode("utf-8", errors="replace").rstrip())

    def check(self) -> None:
        """One round: notice exits, schedule restarts, start what is due."""
        now = self._clock()
        for child in self.children:
            if child.process is not None and child.restart_at is None:
                code = child.process.poll()
                if code is None:
                    continue
                child.exit_codes.append(code)
                # What it started may live on (Sanic's worker, Rasa's helpers) and hold its
                # port: the whole process group goes before the restart.
                _signal_group(child.process.pid, signal.SIGKILL)
                ran = now - child.started_at
                child.crashes_in_a_row = (
                    1 if ran >= self._policy.stable_after else child.crashes_in_a_row + 1
                )
                pause = self._policy.pause(child.crashes_in_a_row)
                child.restart_at = now + pause
                self.say(
                    "sadar",
                    f"{child.name} stopped (exit code {code}) after {ran:.0f} s; "
                    f"starting it again in {pause:.0f} s, the other processes keep running",
                )
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._launch(child)

    def start_all(self) -> None:
        for child in self.children:
            self._launch(child)

    def stop(self) -> None:
        self._stopping.set()

    def run(self, poll_seconds: float = 0.2) -> int:
        """Blocks until SIGINT or SIGTERM, then stops every process."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self.stop())
        self.start_all()
        while not self._stopping.wait(poll_seconds):
            self.check()
        self.shutdown()
        return 0

    def shutdown(self, grace_seconds: float = 15) -> None:
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
        self.say("sadar", "stopped")


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
