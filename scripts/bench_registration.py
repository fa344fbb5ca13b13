"""Benchmark: turns and wall time of a complete registration through the gateway.

`make bench-registration` starts the real processes (as `make run` does, on free ports with
SQLite in a temporary folder), registers residents the two ways people write (one answer per
message, and several fields in one message), and prints the median and worst figures."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.db.migrate import upgrade  # noqa: E402
from bot.infra.settings import Settings  # noqa: E402
from bot.processes.devserver import process_specs  # noqa: E402
from scripts.bench_load import stack_environment, wait_ready  # noqa: E402
from tests.support.web_chat import new_session  # noqa: E402

RUNS_PER_STYLE = 10


def one_at_a_time(nik: str) -> list[str]:
    return [
        "mau daftar",
        "ya",
        "Budi Santoso",
        nik,
        "17-08-1980",
        "0812 3456 7890",
        "desa karanglo",
        "nelayan",
        "1,5 juta",
        "ya",
        "ya",
    ]


def several_per_message(nik: str) -> list[str]:
    return [
        "mau daftar",
        "ya",
        f"nama Siti Aminah NIK {nik} lahir 17 agustus 1980 hp 081234500011 pedagang 2 juta",
        "bendosari",
        "tidak",
        "ya",
    ]


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="sadar-bench-"))
    values = stack_environment(data_dir, redis_url=None, replicas=1)
    gateway_port = values["SADAR_GATEWAY_PORT"]
    environ = {**os.environ, **values}
    settings = Settings(_env_file=None, **{k[6:].lower(): v for k, v in values.items()})
    upgrade(settings.database_url)
    processes = [
        subprocess.Popen(
            spec.argv, env=spec.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for spec in process_specs(settings, environ=environ)
    ]
    gateway = f"http://127.0.0.1:{gateway_port}"
    try:
        print("starting Rasa, the action server and the gateway ...", flush=True)
        wait_ready(gateway)
        time.sleep(2)
        results: dict[str, list[tuple[int, float]]] = {}
        with httpx.Client(timeout=60) as http:
            for style, script in (
                ("one answer per message", one_at_a_time),
                ("several fields per message", several_per_message),
            ):
                results[style] = []
                for run in range(RUNS_PER_STYLE):
                    sender = new_session(http, gateway)
                    nik = f"3571021708800{run + (0 if style.startswith('one') else 500):03d}"
                    started = time.perf_counter()
                    last = ""
                    for text in script(nik):
                        reply = http.post(
                            f"{gateway}/api/chat", json={"sender": sender, "text": text}
                        ).json()
                        last = (reply["replies"] or [{}])[-1].get("text") or ""
                    elapsed = time.perf_counter() - started
                    if "Nomor pendaftaran Sadar" not in last:
                        raise SystemExit(f"{style}: registration did not complete: {last!r}")
                    results[style].append((len(script(nik)), elapsed))
                    print(f"  {style}: run {run + 1}/{RUNS_PER_STYLE} {elapsed:.2f} s", flush=True)
        print()
        print("| style | turns (resident messages) | median wall time | worst |")
        print("|---|---|---|---|")
        for style, rows in results.items():
            turns = statistics.median(t for t, _ in rows)
            times = [s for _, s in rows]
            print(
                f"| {style} | {turns:.0f} | {statistics.median(times):.2f} s | {max(times):.2f} s |"
            )
        print("\n(bot time only: a person's reading and typing time is not included)")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
