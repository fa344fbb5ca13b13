"""A worker killed (SIGKILL) in the middle of handing 10,000 registrations to the partner API
(issue 29): after a restart, every registration is accepted exactly once. Nothing is lost
(claims the dead worker held expire with their lease) and nothing is doubled at the
stand-in registry (the reference is the idempotency key)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.app_context import AppContext
from bot.db.models import Submission
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.services.registry.driver import DEFAULT_LEASE
from tests.conftest import TEST_PII_KEY
from tests.support.bulk_registrations import generate
from tests.support.clock import WIB, clock_environment, fixed_clock
from tests.support.registry_standin import SADAR_CONSUMER_ID, SADAR_SECRET, Mode, RegistryStandIn

COUNT = 10_000
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=WIB)


def _states(context: AppContext) -> dict[str, int]:
    with context.sessions() as session:
        rows = session.execute(select(Submission.state, func.count()).group_by(Submission.state))
        return {state: count for state, count in rows}


def test_a_worker_killed_mid_hand_over_loses_and_doubles_nothing(
    pg_url: str, standin: RegistryStandIn, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    try:
        generate(context, COUNT, "Tuban", 0)
        standin.arm(Mode.SLOW, ms=5)  # calls take a moment, as over a network
        standin.arm(Mode.ERROR_5XX, probability=0.02)  # and some fail, to be retried
        environ = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SADAR_")},
            "SADAR_ENV": "test",
            "SADAR_DATA_DIR": str(tmp_path),
            "SADAR_DATABASE_URL": pg_url,
            "SADAR_PII_HASH_KEY": TEST_PII_KEY,
            "SADAR_PII_ENCRYPTION_KEYS": settings.pii_encryption_keys.get_secret_value(),
            "SADAR_LOG_LEVEL": "WARNING",
            "SADAR_REGISTRY": "api",
            "SADAR_REGISTRY_URL": standin.url,
            "SADAR_REGISTRY_CONSUMER_ID": SADAR_CONSUMER_ID,
            "SADAR_REGISTRY_SECRET": SADAR_SECRET,
        }

        def send(at: datetime) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "submissions", "send"],
                env=environ | clock_environment(at), cwd=PROJECT_ROOT, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip

        worker = send(NOW)
        deadline = time.monotonic() + 120
        while len(standin.memberships) < COUNT // 4 and worker.poll() is None:
            assert time.monotonic() < deadline, "the worker never got going"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = len(standin.memberships)
        assert worker.returncode == -signal.SIGKILL and killed_at < COUNT, killed_at
        assert _states(context).get("pending", 0) > 0  # it really died with work left

        # A restarted worker: past the dead one's lease, and past every backoff.
        at = NOW + DEFAULT_LEASE + timedelta(minutes=1)
        for _ in range(10):
            restarted = send(at)
            output, _ = restarted.communicate(timeout=600)
            assert restarted.returncode == 0, output[-2000:]
            if not _states(context).get("pending"):
                break
            at += timedelta(hours=2)
        states = _states(context)
        assert states == {"accepted": COUNT}, states  # 0 lost
        assert len(standin.memberships) == COUNT  # 0 doubled: one membership each
        assert standin.niks_held_twice == 0
    finally:
        context.engine.dispose()
