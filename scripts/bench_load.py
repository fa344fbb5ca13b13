"""Benchmark: many residents chatting at once through the gateway (issue 16).

`make bench-load` starts the real processes as `make run` does (free ports, SQLite in a
temporary folder, chat rate limits lifted for the load), warms up, then lets N concurrent
senders (default 50) play realistic multi-turn conversations through the web chat API for a
fixed time: registrations one answer per message, questions about contributions and
benefits, "cek status" and "sudah bayar". It prints turns/s, latency percentiles, errors,
CPU seconds per turn and resident memory of each process, and writes the table into
docs/performance.md.

`--open-loop 10 25 40 55 70 90` offers turns at fixed rates instead (open loop: a turn is
sent every 1/rate seconds whether or not the earlier ones were answered, by residents who
each wait for their own reply), one step per rate, and reports per step the answered
turns/s, the "sedang ramai" answers, p50/p95/p99 of the answered turns and the CPU seconds
per turn sent of each process group (with `--rasa-replicas 2`, the private Redis too: the
cost of running replicated, compared at a rate both setups serve); capacity is the highest
offered rate whose p95 stays within 500 ms while at least 95% of the offered turns are
answered (a rate met by refusing turns "sedang ramai" is not served); `--profile` then
records the first step. This
is how a burst behaves (a reminder wave, a village event); the closed loop only shows the
pace senders settle at.

`--profile` also records the Rasa server with py-spy during the measured window and prints
the functions where it spends most of its time (inclusive), so hot spots are seen, not
guessed. `--label` names the run in the table (e.g. "before", "after")."""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.db.migrate import upgrade  # noqa: E402
from bot.infra.settings import Settings  # noqa: E402
from bot.processes.devserver import process_specs  # noqa: E402
from scripts.doc_section import write_section  # noqa: E402
from tests.support.web_chat import anew_session  # noqa: E402

REPORT_BEGIN = "<!-- bench-load:begin -->"
REPORT_END = "<!-- bench-load:end -->"
_serials = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_residents = random.Random(16)
FIRST_NAMES = ("Budi", "Siti", "Slamet", "Sri", "Agus", "Wati", "Joko", "Yuni", "Darto", "Sumini")
LAST_NAMES = ("Santoso", "Rahayu", "Wibowo", "Lestari", "Hidayat", "Purnomo", "Utami", "")
VILLAGES = ("karanglo", "Karanglo", "desa karanglo", "ds karanglo", "karanglo kerek")
OCCUPATIONS = ("nelayan", "petani", "pedagang", "ojek", "buruh tani", "tukang")
INCOMES = ("1,5 juta", "2 juta", "800 ribu", "1.200.000", "3 jt", "satu juta")


def new_nik(born: date) -> str:
    """A NIK of Kerek, Tuban (3523 03) for ``born``, unique in this run."""
    return f"352303{born:%d%m%y}{next(_serials) % 10000:04d}"


def registration() -> list[str]:
    """Each resident's own name, NIK, birth date and phone (parsed afresh, as in a real
    wave); the short answers ("ya", "tidak") are the words everybody types."""
    pick = _residents
    born = date(pick.randint(1970, 2004), pick.randint(1, 12), pick.randint(1, 28))
    name = f"{pick.choice(FIRST_NAMES)} {pick.choice(LAST_NAMES)}".strip()
    phone = f"08{pick.randint(11, 59)} {pick.randint(1000, 9999)} {pick.randint(1000, 9999)}"
    return [
        "mau daftar", "ya", name, new_nik(born), f"{born:%d-%m-%Y}", phone,
        pick.choice(VILLAGES), pick.choice(OCCUPATIONS), pick.choice(INCOMES), "tidak", "ya",
    ]  # fmt: skip


def questions() -> list[str]:
    return ["iuran berapa", "manfaatnya apa aja", "cara bayar gimana", "kalau kecelakaan kerja"]


def after_reminder() -> list[str]:
    return ["cek status", "sudah bayar", "cara bayar", "terima kasih"]


#: One resident's conversation: registration, questions, then what a reminder brings
#: (about 20 turns). Each concurrent sender plays one resident after another, so the
#: conversations are as long as residents' are, not one endless chat.
RESIDENT = (registration, questions, after_reminder)


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    measuring: bool = False


async def sender_loop(
    http: httpx.AsyncClient, gateway: str, load: Load, stop: float, think: float, seed: int
) -> None:
    """One sender after another resident; ``think`` seconds (on average, 0.5x to 1.5x) of
    reading and typing between a reply and the next message, 0 for back-to-back."""
    pause = random.Random(seed)
    while True:
        try:  # a new resident: a new conversation id, issued by the gateway
            sender = await anew_session(http, gateway)
        except httpx.HTTPError as error:
            if load.measuring:
                load.errors[f"session: {type(error).__name__}"] += 1
            if time.monotonic() >= stop:
                return
            await asyncio.sleep(1)
            continue
        for text in (text for script in RESIDENT for text in script()):
            if time.monotonic() >= stop:
                return
            started = time.perf_counter()
            try:
                response = await http.post(
                    f"{gateway}/api/chat", json={"sender": sender, "text": text}
                )
                ok = response.status_code == 200 and bool(response.json().get("replies"))
                problem = "" if ok else f"HTTP {response.status_code} / no reply"
            except httpx.HTTPError as error:
                problem = type(error).__name__
            elapsed = time.perf_counter() - started
            if load.measuring:
                load.latencies.append(elapsed)
                if problem:
                    load.errors[problem] += 1
            if think:
                await asyncio.sleep(think * pause.uniform(0.5, 1.5))


@dataclass
class Resident:
    """One resident of the open loop: their own conversation, one message at a time."""

    session: str
    messages: list[str]


@dataclass
class Step:
    offered: float
    seconds: float
    answered: list[float] = field(default_factory=list)
    refused: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    #: CPU seconds per process group over the measured window (every turn started in it).
    cpu: dict[str, float] = field(default_factory=dict)
    #: Turns sent in the measured window, answered or refused.
    sent: int = 0


async def open_loop_turn(
    http: httpx.AsyncClient,
    gateway: str,
    resident: Resident,
    step: Step,
    ends: float,
    free: collections.deque[Resident],
) -> None:
    """The resident's next message; a "sedang ramai" (503) keeps it for their next turn,
    as the page sends it again. Counted only when answered inside the step."""
    started = time.perf_counter()
    try:
        response = await http.post(
            f"{gateway}/api/chat", json={"sender": resident.session, "text": resident.messages[0]}
        )
        if response.status_code == 200 and response.json().get("replies"):
            resident.messages.pop(0)
            if time.monotonic() <= ends:
                step.answered.append(time.perf_counter() - started)
        elif response.status_code == 503 and response.json().get("retry_after"):
            step.refused += 1
        else:
            step.errors[f"HTTP {response.status_code}"] += 1
    except httpx.HTTPError as error:
        step.errors[type(error).__name__] += 1
    finally:
        if resident.messages:
            free.append(resident)  # ready for their next message


CpuProbe = Callable[[], dict[str, float]]


async def open_loop(
    gateway: str,
    rates: list[float],
    seconds: float,
    warmup: float,
    cpu_now: CpuProbe,
    on_first_window: Callable[[], None] = lambda: None,
) -> list[Step]:
    """Each rate for ``seconds`` (after ``warmup`` seconds at the first rate), turns sent on
    a fixed schedule by whichever resident is free (a new one when none is). CPU is read
    when the measured window opens and once its turns are all answered, so the CPU per
    turn covers the window's turns whole (and the few warm-up turns then in flight)."""
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    steps: list[Step] = []
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        # Residents waiting for nothing, in the order they became free: taking one costs
        # the same however many residents there are (a scan of all of them took more CPU
        # than the gateway under overload, when thousands wait).
        free: collections.deque[Resident] = collections.deque()

        async def next_resident() -> Resident:
            if free:
                return free.popleft()
            return Resident(
                await anew_session(http, gateway),
                [text for script in RESIDENT for text in script()],
            )

        for index, rate in enumerate(rates):
            length = seconds + (warmup if index == 0 else 0)
            step = Step(rate, seconds)
            started = time.monotonic()
            measured_from, ends = started + length - seconds, started + length
            tasks: list[asyncio.Task[None]] = []
            due = started
            cpu_before: dict[str, float] = {}
            own_before = time.process_time()
            while due < ends:
                resident = await next_resident()
                if due >= measured_from and not cpu_before:
                    cpu_before = cpu_now()
                    own_before = time.process_time()
                    if index == 0:
                        on_first_window()
                counted = step if due >= measured_from else Step(rate, 0)
                step.sent += counted is step
                turn = open_loop_turn(http, gateway, resident, counted, ends, free)
                tasks.append(asyncio.create_task(turn))
                due += 1 / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            answered = len(step.answered) / seconds
            print(f"  offered {rate:g}/s: {answered:.1f} answered/s, {step.refused} busy; "
                  "waiting for the turns in flight ...", flush=True)  # fmt: skip
            await asyncio.gather(*tasks)  # the burst passes before the next step
            after = cpu_now()
            own = (time.process_time() - own_before) / max(step.sent, 1) * 1000
            print(f"  (this load generator: {own:.1f} ms of CPU per turn sent, on the same "
                  "cores)", flush=True)  # fmt: skip
            step.cpu = {name: after[name] - cpu_before.get(name, after[name]) for name in after}
            steps.append(step)
    return steps


def open_loop_rows(label: str, steps: list[Step]) -> list[str]:
    rows = []
    for step in steps:
        latency = " | ".join(
            f"{percentile(step.answered, q) * 1000:.0f} ms" if step.answered else "-"
            for q in (0.50, 0.95, 0.99)
        )
        per_turn = ", ".join(
            f"{seconds / max(step.sent, 1) * 1000:.1f}" for seconds in step.cpu.values()
        )
        total = sum(step.cpu.values()) / max(step.sent, 1) * 1000
        cells = [
            label, f"{step.offered:g}", f"{len(step.answered) / step.seconds:.1f}",
            f"{step.refused / step.seconds:.1f}", latency, str(sum(step.errors.values())),
            f"{per_turn} = {total:.1f} ms",
        ]  # fmt: skip
        rows.append("| " + " | ".join(cells) + " |")
    within = [s.offered for s in steps if served(s)]
    rows.append(
        f"| {label}: capacity | {max(within, default=0):g} turns/s (p95 ≤ 500 ms, "
        f"≥ {SERVED_SHARE:.0%} answered) | | | | | | | |"
    )
    return rows


#: A step is served when this share of its offered turns is answered within it.
SERVED_SHARE = 0.95


def served(step: Step) -> bool:
    """p95 within 500 ms and (nearly) every offered turn answered, not refused."""
    answered_rate = len(step.answered) / step.seconds
    return (
        bool(step.answered)
        and percentile(step.answered, 0.95) <= 0.5
        and answered_rate >= SERVED_SHARE * step.offered
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def process_tree(pid: int) -> list[psutil.Process]:
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for process in process_tree(pid):
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def rss_mb(pid: int) -> float:
    total = 0
    for process in process_tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total / 2**20


def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy is not installed: no profile", file=sys.stderr)
        return None
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "100",
         "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def profile_summary(raw: Path, top: int = 22) -> list[str]:
    """Inclusive share of samples per function below Rasa's message handling, from py-spy's
    collapsed stacks (the server's own frames above it are in every sample)."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        seen = set()
        for frame in stack.split(";"):
            name = frame.split(" (")[0].strip()
            where = frame.split(" (")[-1].split(":")[0] if " (" in frame else ""
            key = f"{name} ({Path(where).name})" if where else name
            if key not in seen:
                seen.add(key)
                inclusive[key] += count
    if not total:
        return ["(no samples)"]
    above = {"<module>", "run", "_run", "run_forever", "_run_once", "run_until_complete",
             "main", "serve_application", "serve_single", "serve", "http1", "handle_request",
             "connection_task", "receive", "handler"}  # fmt: skip
    rows = [(k, v) for k, v in inclusive.most_common() if k.split(" (")[0] not in above]
    return [f"{100 * v / total:5.1f}%  {k}" for k, v in rows[:top]]


def wait_ready(gateway: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{gateway}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the stack did not become ready in {timeout:.0f} s")
        time.sleep(0.5)


async def run_load(
    gateway: str,
    senders: int,
    warmup: float,
    duration: float,
    load: Load,
    on_measure_start: Callable[[], None],
    think: float = 0.0,
) -> float:
    limits = httpx.Limits(max_connections=senders + 10, max_keepalive_connections=senders + 10)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        stop = time.monotonic() + warmup + duration
        tasks = [
            asyncio.create_task(sender_loop(http, gateway, load, stop, think, seed))
            for seed in range(senders)
        ]
        await asyncio.sleep(warmup)
        load.measuring = True
        on_measure_start()
        started = time.monotonic()
        await asyncio.gather(*tasks)
        return time.monotonic() - started


def write_report(rows: list[str], profiles: dict[str, list[str]], docs: Path) -> None:
    write_section(docs, REPORT_BEGIN, REPORT_END, [
        f"Measured {date.today().isoformat()} by `make bench-load` "
        f"(2-core machine, every process on it, web chat API):", "",
        "| run | senders | turns/s | p50 | p95 | p99 | errors | action calls/turn "
        "| CPU per turn (rasa, actions, gateway) | RSS MB (rasa, actions, gateway, total) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        *(line for label, profile in profiles.items() for line in (
            "", f"Where the Rasa server spent its time, {label} "
            "(py-spy, inclusive share of samples):",
            "", "```", *profile, "```")),
    ], "Chat under load (`make bench-load`)")  # fmt: skip


OPEN_BEGIN = "<!-- bench-load-open:begin -->"
OPEN_END = "<!-- bench-load-open:end -->"


def write_open_report(rows: list[str], seconds: float, docs: Path) -> None:
    write_section(docs, OPEN_BEGIN, OPEN_END, [
        f"Measured {date.today().isoformat()} by `make bench-load BENCH_ARGS=\""
        f"{' '.join(sys.argv[1:])}\"` (2-core machine, every process on it, web chat API, "
        f"{seconds:g} s per step; "
        "a turn refused \"sedang ramai\" is sent again by its resident later):", "",
        "| run | offered turns/s | answered turns/s | \"sedang ramai\"/s | p50 | p95 | p99 "
        "| errors | CPU per turn sent (Rasa, actions, gateway[, Redis]) |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ], "A burst (`make bench-load`, open loop)")  # fmt: skip


def stack_environment(data_dir: Path, redis_url: str | None, replicas: int) -> dict[str, str]:
    values = {
        "SADAR_DATA_DIR": str(data_dir),
        "SADAR_RASA_PORT": str(rasa_port := free_port()),
        "SADAR_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "SADAR_ACTION_SERVER_PORT": str(action_port := free_port()),
        "SADAR_ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "SADAR_GATEWAY_PORT": str(free_port()),
        # Both trees use this tree's environments and trained model.
        "SADAR_RASA_VENV": str(ROOT / ".venv-rasa"),
        "SADAR_RASA_MODEL_DIR": str(ROOT / "models"),
        # The load comes from one address: lift the abuse limits.
        "SADAR_CHAT_MESSAGES_PER_MINUTE_PER_SENDER": "100000",
        "SADAR_CHAT_MESSAGES_PER_MINUTE_PER_ADDRESS": "1000000",
        "SADAR_RASA_REPLICAS": str(replicas),
    }
    if redis_url:
        values["SADAR_REDIS_URL"] = redis_url
    return values


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    """A private Redis for several Rasa servers' locks (Debian's redis-server)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("--rasa-replicas needs redis-server (`make test` installs it)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)
    return process, f"redis://127.0.0.1:{port}/0"


PROCESS_NAMES = ("rasa", "actions", "gateway")


def group_cpu(processes: dict[str, subprocess.Popen[bytes]], group: str) -> float:
    """CPU seconds of every process of a group ("rasa" covers rasa-1, rasa-2 ...)."""
    return sum(cpu_seconds(p.pid) for n, p in processes.items() if n.split("-")[0] == group)


def group_rss(processes: dict[str, subprocess.Popen[bytes]], group: str) -> float:
    return sum(rss_mb(p.pid) for n, p in processes.items() if n.split("-")[0] == group)


def action_calls(url: str, token: str) -> float | None:
    """Calls the action server has answered (its /metrics; None where it has none)."""
    try:
        response = httpx.get(url, params={"token": token}, timeout=10)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return sum(
        float(line.rpartition(" ")[2])
        for line in response.text.splitlines()
        if line.startswith("sadar_action_calls_total{")
    )


def one_load(
    gateway: str,
    processes: dict[str, subprocess.Popen[bytes]],
    label: str,
    senders: int,
    args: argparse.Namespace,
    profile_to: Path | None,
    count_calls: Callable[[], float | None],
) -> tuple[str, list[str]]:
    """One measured load: its table row, and the profile summary when ``profile_to``."""
    load = Load()
    cpu_before: dict[str, float] = {}
    calls_before: list[float | None] = []
    spies: list[subprocess.Popen[bytes]] = []

    def measure_start() -> None:
        calls_before.append(count_calls())
        cpu_before.update({n: group_cpu(processes, n) for n in PROCESS_NAMES})
        if profile_to is not None:
            first_rasa = processes.get("rasa") or processes["rasa-1"]
            spy = start_profile(first_rasa.pid, args.duration, profile_to)
            spies.extend([spy] if spy else [])

    print(f"[{label}] {senders} senders: {args.warmup:.0f} s warm-up, "
          f"{args.duration:.0f} s measured", flush=True)  # fmt: skip
    elapsed = asyncio.run(
        run_load(gateway, senders, args.warmup, args.duration, load, measure_start, args.think)
    )
    cpu = {n: group_cpu(processes, n) - cpu_before[n] for n in PROCESS_NAMES}
    calls_after = count_calls()
    rss = {n: group_rss(processes, n) for n in PROCESS_NAMES}
    turns = len(load.latencies)
    per_turn = ", ".join(f"{cpu[n] / max(turns, 1) * 1000:.0f} ms" for n in PROCESS_NAMES)
    memory = ", ".join(f"{rss[n]:.0f}" for n in PROCESS_NAMES) + f", {sum(rss.values()):.0f}"
    latency = " | ".join(
        f"{percentile(load.latencies, q) * 1000:.0f} ms" for q in (0.50, 0.95, 0.99)
    )
    errors = sum(load.errors.values())
    load_name = f"{senders}" + (f" (think {args.think:g} s)" if args.think else "")
    # Turns still in flight when the window closed add a few calls: a close estimate.
    calls = (
        f"{(calls_after - calls_before[0]) / max(turns, 1):.2f}"
        if calls_after is not None and calls_before and calls_before[0] is not None
        else "-"
    )
    cells = [
        label, load_name, f"{turns / elapsed:.1f}", latency, str(errors), calls, per_turn,
        memory,
    ]  # fmt: skip
    row = "| " + " | ".join(cells) + " |"
    print(row, flush=True)
    if load.errors:
        print("  errors:", dict(load.errors), flush=True)
    summary: list[str] = []
    for spy in spies:
        spy.wait(args.duration + 30)
        if profile_to is not None and profile_to.exists():
            summary = profile_summary(profile_to)
            if args.keep_profile:
                shutil.copy(profile_to, args.keep_profile)
            print("\n".join(["Rasa server profile (inclusive):", *summary]), flush=True)
    return row, summary


def stop_groups(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each process group started here, SIGKILL to what is left after 30 s."""
    for process in processes.values():
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def exit_on_sigterm() -> None:
    """A benchmark stopped with SIGTERM (``kill``, ``timeout``) still stops what it started:
    Python runs no ``finally`` on SIGTERM's default action, so it becomes an exit."""
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(128 + signal.SIGTERM))


def launcher_argv(tree: Path, argv: list[str]) -> list[str]:
    """A tree older than Rasa's launcher (nlu/serve.py) starts Rasa through this tree's,
    run as a script: its API token still never reaches a command line."""
    if "nlu.serve" not in argv or (tree / "nlu" / "serve.py").exists():
        return argv
    at = argv.index("nlu.serve")
    return [*argv[: at - 1], str(ROOT / "nlu" / "serve.py"), *argv[at + 1 :]]


def measure(
    tree: Path, label: str, args: argparse.Namespace, profiles: dict[str, list[str]]
) -> list[str]:
    """Start the stack from ``tree``'s code, play each load, stop it; the table rows."""
    data_dir = Path(tempfile.mkdtemp(prefix="sadar-load-"))
    with_redis = args.rasa_replicas > 1 or args.redis
    redis, redis_url = start_redis() if with_redis else (None, None)
    values = stack_environment(data_dir, redis_url, args.rasa_replicas)
    environ = {**os.environ, **values}
    settings = Settings(_env_file=None, **{k[6:].lower(): v for k, v in values.items()})
    upgrade(settings.database_url)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    specs = process_specs(settings, environ=environ)
    token = specs[0].env["SADAR_ACTION_SERVER_TOKEN"]
    metrics_url = f"http://127.0.0.1:{values['SADAR_ACTION_SERVER_PORT']}/metrics"
    for spec in specs:
        env = {**spec.env, "PYTHONPATH": str(tree)}
        processes[spec.name] = subprocess.Popen(
            launcher_argv(tree, spec.argv), env=env, cwd=tree, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    gateway = f"http://127.0.0.1:{values['SADAR_GATEWAY_PORT']}"
    rows: list[str] = []
    try:
        print(f"[{label}] starting Rasa, the action server and the gateway ...", flush=True)
        wait_ready(gateway)
        if args.open_loop:
            print(f"[{label}] open loop: {args.open_loop} turns/s, {args.duration:g} s each",
                  flush=True)  # fmt: skip
            spies: list[subprocess.Popen[bytes]] = []

            def cpu_now() -> dict[str, float]:
                used = {name: group_cpu(processes, name) for name in PROCESS_NAMES}
                if redis is not None:
                    used["redis"] = cpu_seconds(redis.pid)
                return used

            def profile_first_step() -> None:
                if args.profile:
                    first_rasa = processes.get("rasa") or processes["rasa-1"]
                    spy = start_profile(first_rasa.pid, args.duration, data_dir / "profile.txt")
                    spies.extend([spy] if spy else [])

            steps = asyncio.run(
                open_loop(
                    gateway, args.open_loop, args.duration, args.warmup, cpu_now,
                    profile_first_step,
                )
            )  # fmt: skip
            for spy in spies:
                spy.wait(args.duration + 30)
                summary = profile_summary(data_dir / "profile.txt")
                if args.keep_profile:
                    shutil.copy(data_dir / "profile.txt", args.keep_profile)
                print("\n".join(["Rasa server profile (inclusive):", *summary]), flush=True)
                profiles[f"{label}, {args.open_loop[0]:g} turns/s"] = summary
            return open_loop_rows(label, steps)
        for senders in args.senders:
            profile_to = (
                data_dir / "profile.txt" if args.profile and senders == max(args.senders) else None
            )
            row, summary = one_load(
                gateway, processes, label, senders, args, profile_to,
                lambda: action_calls(metrics_url, token),
            )  # fmt: skip
            rows.append(row)
            if summary:
                profiles[f"{label}, {senders} senders"] = summary
    finally:
        stop_groups(processes)
        if redis is not None:
            redis.terminate()
        shutil.rmtree(data_dir, ignore_errors=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--senders",
        type=int,
        nargs="+",
        default=[1, 10, 50],
        help="concurrent senders; several values run one after another",
    )
    parser.add_argument("--duration", type=float, default=30, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=8, help="seconds before measuring")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the Rasa server during the largest load"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds a resident reads and types between messages (0: back to back)",
    )
    parser.add_argument(
        "--rasa-replicas",
        type=int,
        default=1,
        help="Rasa servers sharing the conversations (starts a private Redis for the locks)",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="with one Rasa server, still keep the gateway's shared state in a private Redis "
        "(what two Rasa servers cost beyond it is then the Rasa servers' own share)",
    )
    parser.add_argument(
        "--keep-profile",
        metavar="FILE",
        help="also keep py-spy's raw collapsed stacks (for flame graphs or deeper reading)",
    )
    parser.add_argument(
        "--baseline",
        metavar="GIT_REF",
        help="first measure the code of GIT_REF (a temporary git worktree) "
        "in the same run, for a before/after table",
    )
    parser.add_argument(
        "--open-loop",
        type=float,
        nargs="+",
        metavar="RATE",
        help="offer turns at these fixed rates (turns/s), one step each, instead of senders",
    )
    parser.add_argument(
        "--docs", default="docs/performance.md", help="file to write the table into ('' = none)"
    )
    args = parser.parse_args()  # fmt: skip
    exit_on_sigterm()

    if args.baseline and args.rasa_replicas > 1:
        parser.error("--rasa-replicas measures this tree only (older code has no replicas)")
    rows: list[str] = []
    profiles: dict[str, list[str]] = {}
    if args.baseline:
        worktree = Path(tempfile.mkdtemp(prefix="sadar-baseline-"))
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-f", str(worktree), args.baseline],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
        try:
            rows += measure(worktree, f"before ({args.baseline})", args, profiles)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT)
    label = "after" if args.baseline else "this tree"
    if args.rasa_replicas > 1:
        label += f", {args.rasa_replicas} Rasa servers"
    elif args.redis:
        label += ", shared state in Redis"
    rows += measure(ROOT, label, args, profiles)
    print("\n".join(rows))
    if args.docs and args.open_loop:
        write_open_report(rows, args.duration, ROOT / args.docs)
        print(f"written to {args.docs}")
    elif args.docs:
        write_report(rows, profiles, ROOT / args.docs)
        print(f"written to {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
