"""Benchmark: handing registrations over to BPJS Ketenagakerjaan (issue 29).

`make bench-submissions` starts a private PostgreSQL (Debian packages, as the tests do),
generates pending registrations with COPY (each with its own encrypted NIK), then measures,
each in its own `sadar` process so its peak memory is its own:

1. the branch batch file: `sadar submissions export` of ``--count`` rows (wall time, peak
   memory);
2. the partner API: `sadar submissions send` passes against the stand-in registry on a
   real socket with ``--latency-ms`` per call, ``--transient`` 5xx answers and
   ``--rejections`` refused NIKs, until nothing is pending (wall time, submissions per
   second, the largest pass's peak memory), then duplicates at the stand-in and
   registrations lost (both must be 0).

It prints the figures and, unless --no-doc, writes them to docs/performance.md."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot.app_context import AppContext  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.models import Submission  # noqa: E402
from bot.infra.settings import Settings  # noqa: E402
from tests.support.bulk_registrations import generate, nik  # noqa: E402
from tests.support.registry_standin import (  # noqa: E402
    SADAR_CONSUMER_ID,
    SADAR_SECRET,
    Mode,
    running_registry_standin,
)
from tests.support.services import start_postgres, stop  # noqa: E402

PII_KEY = "bench-only-pii-hash-key-0000000000000000"
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench-submissions:begin -->", "<!-- bench-submissions:end -->"


# Runs `sadar` and, as it exits, reports the peak of its own memory. Not ru_maxrss from
# wait4: Linux carries the parent's resident size at fork into the child's ru_maxrss
# across exec, so the bench's own memory (the generated rows) would be counted in it.
_PEAK_REPORTING = """
import atexit, runpy, sys
def report():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\nSADAR_PEAK_KB {peak}\\n")
atexit.register(report)
sys.argv = ["sadar", *sys.argv[1:]]
runpy.run_module("bot.cli", run_name="__main__", alter_sys=True)
"""


def sadar(env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """Run `sadar …`; (seconds, its peak resident memory in MB, its output). Raises with
    its output if it failed."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", _PEAK_REPORTING, *args],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    said, _, peak = completed.stdout.rpartition("SADAR_PEAK_KB ")
    if completed.returncode != 0 or not peak:
        raise RuntimeError(f"sadar {' '.join(args)} failed:\n{completed.stdout}")
    return seconds, int(peak) / 1024, said.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--transient", type=float, default=0.05)
    parser.add_argument("--rejections", type=float, default=0.01)
    parser.add_argument("--export-only", action="store_true", help="measure the batch file only")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()

    postgres, pg_process = start_postgres()
    try:
        url = postgres.url(postgres.create_database("bench"))
        upgrade(url)
        data_dir = Path(tempfile.mkdtemp(prefix="sadar-bench-"))
        settings = Settings(
            _env_file=None, database_url=url, pii_hash_key=PII_KEY, data_dir=data_dir
        )
        context = AppContext.from_settings(settings)
        print(f"generating 2 x {args.count:,} pending registrations (COPY)...", flush=True)
        generate(context, args.count, "Batch", 0)
        if not args.export_only:
            generate(context, args.count, "Api", args.count)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SADAR_")},
            "SADAR_ENV": "test",
            "SADAR_DATA_DIR": str(data_dir),
            "SADAR_DATABASE_URL": url,
            "SADAR_PII_HASH_KEY": PII_KEY,
            "SADAR_PII_ENCRYPTION_KEYS": settings.pii_encryption_keys.get_secret_value(),
            "SADAR_LOG_LEVEL": "WARNING",
        }

        print("1. batch export...", flush=True)
        output = data_dir / "batch.xlsx"
        export_s, export_mb, said = sadar(
            env, "submissions", "export", "--regency", "Batch", "--output", str(output)
        )
        print(f"   {said}\n   {export_s:.1f} s, peak {export_mb:.0f} MB", flush=True)

        if args.export_only:
            print(
                f"{args.count:,} rows: batch export {export_s:.1f} s, peak memory "
                f"{export_mb:.0f} MB (the `sadar submissions export` process)"
            )
            return
        print("2. partner API...", flush=True)
        with running_registry_standin() as standin:
            standin.arm(Mode.SLOW, ms=args.latency_ms)
            standin.arm(Mode.ERROR_5XX, probability=args.transient)
            step = max(1, round(1 / args.rejections)) if args.rejections else 0
            for n in range(args.count, 2 * args.count, step or 2 * args.count):
                standin.rejected_niks[nik(n)] = "nik_not_found"
            api = env | {
                "SADAR_REGISTRY": "api",
                "SADAR_REGISTRY_URL": standin.url,
                "SADAR_REGISTRY_CONSUMER_ID": SADAR_CONSUMER_ID,
                "SADAR_REGISTRY_SECRET": SADAR_SECRET,
            }
            started = time.perf_counter()
            passes, api_mb = 0, 0.0
            while True:
                passes += 1
                _, peak, said = sadar(api, "submissions", "send")
                api_mb = max(api_mb, peak)
                print(f"   pass {passes}: {said}", flush=True)
                with context.sessions() as session:
                    left = session.scalar(
                        select(func.min(Submission.next_attempt_at)).where(
                            Submission.state == "pending", Submission.regency == "Api"
                        )
                    )
                    waiting = session.scalar(
                        select(func.count()).where(
                            Submission.state == "pending", Submission.regency == "Api"
                        )
                    )
                if not waiting:
                    break
                if left is not None:
                    time.sleep(max(0.0, (left - datetime.now(UTC)).total_seconds()))
            api_s = time.perf_counter() - started
            with context.sessions() as session:
                states = dict(
                    session.execute(
                        select(Submission.state, func.count())
                        .where(Submission.regency == "Api")
                        .group_by(Submission.state)
                    ).all()
                )
            accepted, rejected = states.get("accepted", 0), states.get("rejected", 0)
            # A second membership for one person, or more memberships than acceptances.
            duplicates = standin.niks_held_twice + max(0, len(standin.memberships) - accepted)
            lost = args.count - accepted - rejected
            figures = (
                f"{args.count:,} registrations, {args.latency_ms} ms per call, "
                f"{args.transient:.0%} transient, {args.rejections:.0%} rejected\n"
                f"- batch export: {export_s:.1f} s, peak memory {export_mb:.0f} MB "
                f"(the `sadar submissions export` process)\n"
                f"- partner API: {api_s:.1f} s in {passes} pass(es), "
                f"{args.count / api_s:.0f} submissions/s, {standin.submit_calls:,} calls; "
                f"accepted {accepted:,}, rejected {rejected:,}, duplicates at the stand-in "
                f"{duplicates}, lost {lost}; largest pass's peak memory {api_mb:.0f} MB"
            )
        print(figures, flush=True)
        if not args.no_doc:
            text = DOC.read_text()
            block = f"{BEGIN}\n{figures}\n{END}"
            if BEGIN in text:
                text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
            else:
                title = "## Hand-over to BPJS Ketenagakerjaan (`make bench-submissions`)"
                text += f"\n{title}\n\n{block}\n"
            DOC.write_text(text)
        context.engine.dispose()
    finally:
        stop(pg_process)


if __name__ == "__main__":
    main()
