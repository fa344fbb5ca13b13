"""The restart policy of `sadar run` (bot/processes/supervisor.py), fake processes and clock."""

from __future__ import annotations

import io
from pathlib import Path

from bot.processes.supervisor import RestartPolicy, Supervisor


class FakeProcess:
    _pids = iter(range(1000, 10_000))

    def __init__(self) -> None:
        self.pid = next(self._pids)
        self.exit_code: int | None = None

    def poll(self) -> int | None:
        return self.exit_code

    def wait(self, timeout: float | None = None) -> int:
        return self.exit_code or 0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def supervisor(clock: Clock, started: list[tuple[str, FakeProcess]]) -> Supervisor:
    def start(argv: list[str], env: dict[str, str], cwd: Path) -> FakeProcess:
        process = FakeProcess()
        started.append((argv[0], process))
        return process

    return Supervisor(
        [("rasa", ["rasa"], {}), ("gateway", ["gateway"], {})],
        Path("."),
        policy=RestartPolicy(first=1, longest=8, stable_after=60),
        start=start,
        clock=clock,
        out=io.StringIO(),
    )


def test_pauses_double_up_to_the_longest() -> None:
    policy = RestartPolicy(first=1, longest=8)
    assert [policy.pause(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]


def test_a_crashed_process_is_restarted_after_its_pause_and_the_others_are_left_alone() -> None:
    clock, started = Clock(), []
    sup = supervisor(clock, started)
    sup.start_all()
    rasa, gateway = started[0][1], started[1][1]
    rasa.exit_code = -9
    clock.now = 10
    sup.check()
    assert len(started) == 2  # not yet: the pause runs
    clock.now = 10.5
    sup.check()
    assert len(started) == 2
    clock.now = 11
    sup.check()
    assert [name for name, _ in started] == ["rasa", "gateway", "rasa"]
    assert gateway.exit_code is None and sup.children[1].restarts == 0
    assert sup.children[0].exit_codes == [-9]


def test_a_process_crashing_again_and_again_waits_longer_each_time() -> None:
    clock, started = Clock(), []
    sup = supervisor(clock, started)
    sup.start_all()
    rasa = sup.children[0]
    pauses = []
    for _ in range(5):
        assert rasa.process is not None
        rasa.process.exit_code = 1  # type: ignore[attr-defined]  # the fake's own field
        crashed_at, restarts = clock.now, rasa.restarts
        sup.check()
        for _ in range(100):
            if rasa.restarts > restarts:
                break
            clock.now += 0.5
            sup.check()
        pauses.append(clock.now - crashed_at)
    assert pauses == [1, 2, 4, 8, 8]


def test_a_process_that_ran_long_enough_starts_over_from_the_first_pause() -> None:
    clock, started = Clock(), []
    sup = supervisor(clock, started)
    sup.start_all()
    for _ in range(3):  # three quick crashes: the pause has grown to 4 s
        latest = [p for name, p in started if name == "rasa"][-1]
        latest.exit_code = 1
        sup.check()
        clock.now += 10
        sup.check()
    assert sup.children[0].crashes_in_a_row == 3
    clock.now += 120  # then it ran for two minutes
    [p for name, p in started if name == "rasa"][-1].exit_code = 1
    sup.check()
    assert sup.children[0].crashes_in_a_row == 1
    assert sup.children[0].restart_at == clock.now + 1
