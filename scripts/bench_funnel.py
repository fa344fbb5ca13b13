"""What recording the registration funnel costs the action server: each registration
action call writes one journey update (bot/services/funnel.py record), in a worker thread.

Measures record() for N form answers over M conversations on a fresh SQLite database (the
single-machine default) and, with --database-url, on another (PostgreSQL), and prints the
time per call. Usage: .venv/bin/python scripts/bench_funnel.py [--calls 2000]
[--database-url postgresql+psycopg://…]"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app_context import AppContext
from bot.db.migrate import upgrade
from bot.domain.funnel import ActionCall, observe
from bot.infra.settings import Settings
from bot.services.funnel import funnel_key, record

#: A key for this throw-away database only.
BENCH_HASH_KEY = "bench-funnel-key-not-a-secret-0000000000000"
FORM = ("full_name", "nik", "birth_date", "phone", "occupation", "declared_income")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sadar-bench-funnel-"))
    settings = Settings(
        _env_file=None, data_dir=folder, database_url=args.database_url,
        pii_hash_key=BENCH_HASH_KEY,
    )  # fmt: skip
    upgrade(settings.database_url)
    context = AppContext.from_settings(settings)
    now = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    keys = [funnel_key(context.hash_key, f"tg:{9_000_000 + i}") for i in range(args.conversations)]
    started = observe(ActionCall("action_start_registration", {}, None, [], ()))
    for key in keys:
        record(context.unit_of_work(), key, "tg", started, now)
    answers = [
        observe(
            ActionCall(
                "validate_registration_form",
                {"requested_slot": field, **{f: "x" for f in FORM[:i]}},
                "registration_form",
                [{"event": "slot", "name": field, "value": "x"}],
                (),
            )
        )
        for i, field in enumerate(FORM)
    ]
    print(f"{args.calls} form answers over {len(keys)} conversations on "
          f"{context.engine.dialect.name} …", flush=True)  # fmt: skip
    began = time.perf_counter()
    for n in range(args.calls):
        seen = answers[(n // len(keys)) % len(answers)]
        record(context.unit_of_work(), keys[n % len(keys)], "tg", seen, now + timedelta(seconds=n))
    elapsed = time.perf_counter() - began
    print(f"record(): {elapsed / args.calls * 1000:.2f} ms per call ({args.calls / elapsed:.0f}/s)")
    context.engine.dispose()


if __name__ == "__main__":
    main()
