"""Run a script with the Rasa environment's Python (3.10), as the Rasa server would load
Sadar's modules: the project on the path, the test keys, no telemetry."""

from __future__ import annotations

import os
import subprocess

from bot.infra.settings import DEV_PII_ENCRYPTION_KEY, PROJECT_ROOT, Settings
from tests.conftest import TEST_PII_KEY


def run_with_rasa_python(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    rasa_python = Settings(_env_file=None).rasa_venv / "bin" / "python"
    return subprocess.run(
        [str(rasa_python), *argv],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false",
             "SADAR_PII_ENCRYPTION_KEYS": DEV_PII_ENCRYPTION_KEY,
             "SADAR_PII_HASH_KEY": TEST_PII_KEY},
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
