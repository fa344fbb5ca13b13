"""Benchmark: monthly reminders for 1,000,000 participants on PostgreSQL.

`make bench-reminders` starts a private PostgreSQL and Redis (Debian packages, as the tests
do), generates the participants with COPY, then measures:

1. planning one day's reminders for all of them and queueing them (Huey on Redis);
2. the dispatch rate of real `sadar reminders worker` processes through a fake Telegram Bot
   API against the configured limit (any 1-second window and the steady average);
3. duplicates and lost reminders after one worker is killed mid-run and recovery runs.

It prints the figures and writes them to docs/performance.md between markers."""

from __future__ import annotations

import argparse
import io
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from bot.app_context import AppContext  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.models import Reminder  # noqa: E402
from bot.domain.payments import load_calendar  # noqa: E402
from bot.infra.crypto import PiiCipher  # noqa: E402
from bot.infra.privacy import keyed_hash  # noqa: E402
from bot.infra.settings import Settings  # noqa: E402
from bot.services.reminders import enqueue_planned, plan  # noqa: E402
from scripts.doc_section import write_section  # noqa: E402
from tests.support.bulk_registrations import (  # noqa: E402
    accept_all,
    copy_contacts,
    copy_participants,
    one_consent,
)
from tests.support.fake_telegram import running_fake_telegram  # noqa: E402
from tests.support.services import start_postgres, start_redis, stop  # noqa: E402

DAY = date(2026, 11, 13)  # three days before November's due date: everyone unpaid is due
PII_KEY = "bench-only-pii-hash-key-0000000000000000"
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench-reminders:begin -->", "<!-- bench-reminders:end -->"
PROVINCES = ["35", "33", "32", "51", "73", "91"]  # WIB, WIB, WIB, WITA, WITA, WIT


def generate(context: AppContext, count: int, addressed: int) -> None:
    """``count`` consented participants, first month November 2026; the first
    ``addressed`` get their own Telegram chat (the dispatch part sends to them)."""
    cipher: PiiCipher = context.cipher
    shared = cipher.encrypt("x")  # planning never decrypts: one ciphertext is enough
    address_shared = cipher.encrypt("tg:1")
    raw = context.engine.raw_connection()
    try:
        cursor = raw.cursor()
        consent_id = one_consent(cursor, "tg")
        people, contacts = io.StringIO(), io.StringIO()
        for i in range(count):
            province = PROVINCES[i % len(PROVINCES)]
            sender = f"tg:{100000 + i}"
            sender_hash = keyed_hash(PII_KEY, sender)
            people.write(
                f"BNC-{i:09d}\t{secrets.token_hex(32)}\t{shared}\t{shared}\t{shared}\t"
                f"{secrets.token_hex(32)}\t{shared}\t{shared}\tL\t{province}\t{province}0101\t"
                f"Karanglo\tKerek\tTuban\tpetani\tf\t16800\tawaiting_first_payment\ttg\t"
                f"{sender_hash}\t{consent_id}\t2026-11-01\n"
            )
            address = cipher.encrypt(sender) if i < addressed else address_shared
            contacts.write(f"{sender_hash}\ttg\t{address}\t2026-11-12 10:00:00+00\n")
            if (i + 1) % 100_000 == 0:
                print(f"  generated {i + 1:,} participants", flush=True)
        copy_participants(cursor, people.getvalue())
        copy_contacts(cursor, contacts.getvalue())
        accept_all(cursor, shared)
        raw.commit()
        cursor.execute("ANALYZE")
    finally:
        raw.close()


def sustained_rate(times: list[float], gap: float = 1.0) -> float:
    """Messages per second over the longest stretch without a pause longer than ``gap``
    (start-up and the recovery after the kill are pauses), first to last message."""
    best = 0.0
    start = 0
    for end in range(1, len(times) + 1):
        if end == len(times) or times[end] - times[end - 1] > gap:
            count = end - start
            if count > 10:
                best = max(best, (count - 1) / (times[end - 1] - times[start]))
            start = end
    return best


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=1_000_000)
    parser.add_argument("--dispatch", type=int, default=3_000, help="reminders to send")
    parser.add_argument(
        "--rate", type=float, default=30, help="limit, msg/s (Telegram default: 30)"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()

    postgres, pg_process = start_postgres()
    redis, redis_process = start_redis()
    workers: list[subprocess.Popen] = []
    try:
        url = postgres.url(postgres.create_database("bench"))
        upgrade(url)
        data_dir = Path(tempfile.mkdtemp(prefix="sadar-bench-"))
        settings = Settings(
            _env_file=None, database_url=url, pii_hash_key=PII_KEY, data_dir=data_dir
        )
        context = AppContext.from_settings(settings)
        print(f"generating {args.participants:,} participants (COPY)...", flush=True)
        started = time.perf_counter()
        generate(context, args.participants, args.dispatch)
        print(f"  {time.perf_counter() - started:.1f} s", flush=True)

        with running_fake_telegram() as fake:
            env = {
                **os.environ,
                "SADAR_ENV": "test",
                "SADAR_DATA_DIR": str(data_dir),
                "SADAR_DATABASE_URL": url,
                "SADAR_REDIS_URL": redis.url,
                "SADAR_PII_HASH_KEY": PII_KEY,
                "SADAR_PII_ENCRYPTION_KEYS": settings.pii_encryption_keys.get_secret_value(),
                "SADAR_TELEGRAM_BOT_TOKEN": "123456:BENCH",
                "SADAR_TELEGRAM_API_BASE_URL": fake.base_url,
                "SADAR_TELEGRAM_MESSAGES_PER_SECOND": str(args.rate),
                "SADAR_TELEGRAM_MESSAGES_PER_CHAT_PER_SECOND": "1",
                "SADAR_REMINDER_SEND_FROM": "00:00",
                "SADAR_REMINDER_SEND_UNTIL": "23:59:59.999999",
                "SADAR_LOG_LEVEL": "WARNING",
            }
            os.environ.update({k: v for k, v in env.items() if k.startswith("SADAR_")})
            from bot.processes.worker import reminder_queue, submit

            huey = reminder_queue().huey  # built from the settings just set

            print("planning one day for everyone and queueing it...", flush=True)
            batch_sizes: list[int] = []

            def counted(ids: list[int], when) -> None:
                batch_sizes.append(len(ids))
                submit(ids, when)

            started = time.perf_counter()
            report = plan(
                context.unit_of_work,
                DAY,
                load_calendar(),
                settings.reminder_policy,
                write=True,
                submit=counted,
            )
            plan_seconds = time.perf_counter() - started
            queued_all = sum(batch_sizes)
            # Only the first --dispatch participants have chats of their own: start over
            # with just their reminders for the dispatch part.
            huey.flush()
            with context.sessions.begin() as session:
                session.execute(
                    update(Reminder)
                    .where(Reminder.participant_id > args.dispatch)
                    .values(state="skipped", reason="benchmark: planned and queued, not sent")
                )
                session.execute(
                    update(Reminder)
                    .where(Reminder.participant_id <= args.dispatch)
                    .values(state="planned")
                )
            queued = enqueue_planned(context.unit_of_work, submit, now=context.clock.now())
            print(
                f"  planned and queued {queued_all:,} on Redis in {plan_seconds:.1f} s",
                flush=True,
            )

            print(f"dispatching {queued:,} at {args.rate:g}/s with 2 workers...", flush=True)
            command = [sys.executable, "-m", "bot.cli", "reminders", "worker", "--threads", "4"]
            logs = data_dir / "workers.log"
            workers = [
                subprocess.Popen(
                    command, env=env, cwd=ROOT, stdout=logs.open("a"), stderr=subprocess.STDOUT
                )
                for _ in range(2)
            ]
            started = time.monotonic()
            time.sleep(max(5, min(20, queued / args.rate / 3)))
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].wait()
            killed_at = len(fake.sent_times)
            print(f"  killed a worker after {killed_at:,} messages", flush=True)
            workers[0] = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=logs.open("a"), stderr=subprocess.STDOUT
            )
            deadline = time.monotonic() + queued / args.rate * 3 + 120
            last, quiet_since = -1, time.monotonic()
            while time.monotonic() < deadline:
                time.sleep(1)
                count = len(fake.sent_times)
                if count != last:
                    last, quiet_since = count, time.monotonic()
                with context.sessions() as session:
                    open_states = session.scalar(
                        select(func.count())
                        .select_from(Reminder)
                        .where(Reminder.state.in_(["queued", "claimed", "sending"]))
                    )
                if open_states == 0:
                    break
                if time.monotonic() - quiet_since > 5:
                    # The killed worker's batches left the queue with it: recover them.
                    subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "bot.cli",
                            "reminders",
                            "recover",
                            "--lease-minutes",
                            "0",
                        ],
                        env=env,
                        cwd=ROOT,
                        check=True,
                        capture_output=True,
                    )
                    quiet_since = time.monotonic()
            times = sorted(fake.sent_times)
            per_chat = Counter(int(m["chat_id"]) for m in fake.sent())
            with context.sessions() as session:
                handovers = sorted(
                    moment.timestamp()
                    for moment in session.scalars(
                        select(Reminder.claimed_at).where(
                            Reminder.participant_id <= args.dispatch,
                            Reminder.state == "sent",
                        )
                    )
                )
                states = Counter(
                    session.scalars(
                        select(Reminder.state).where(Reminder.participant_id <= args.dispatch)
                    ).all()
                )
        duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
        for chat, n in per_chat.items():
            if n > 1:
                print(f"  DUPLICATE: chat {chat} got {n} messages")
        lost = args.dispatch - len(per_chat)
        steady_rate = sustained_rate(times)
        peak = max_in_any_window(times)
        figures = {
            "participants": args.participants,
            "reminders planned for the day": report.total,
            "reminders queued on Redis": queued_all,
            "plan + queue one day (s)": round(plan_seconds, 1),
            "dispatched through the fake Bot API": len(times),
            "configured limit (msg/s)": args.rate,
            "reminders' share of it (SADAR_REMINDER_SHARE_OF_SEND_RATE; the rest is kept for "
            "answers)": Settings(_env_file=None).reminder_share_of_send_rate,
            "steady dispatch rate (msg/s)": round(steady_rate, 1),
            "most handovers in any 1-s window (sender clock)": max_in_any_window(handovers),
            "most arrivals in any 1-s window (fake's clock)": peak,
            "duplicates": duplicates,
            "lost": lost,
            "reminder states": dict(states),
        }
        print()
        for key, value in figures.items():
            print(f"{key:>38}: {value}")
        if not args.no_doc:
            write_doc(figures)
    finally:
        for worker in workers:
            if worker.poll() is None:
                stop(worker)
        stop(redis_process)
        stop(pg_process)


def write_doc(figures: dict) -> None:
    write_section(DOC, BEGIN, END, [
        f"Measured {date.today().isoformat()} by `make bench-reminders`:", "",
        "| figure | value |", "|---|---|",
        *(f"| {key} | {value} |" for key, value in figures.items()),
    ], "Monthly reminders (`make bench-reminders`)")  # fmt: skip


if __name__ == "__main__":
    main()
