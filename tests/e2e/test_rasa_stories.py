"""Rasa's own story tests (`rasa test core`) on tests/stories/: the dialogue policy predicts
the happy path, multi-field messages, a correction, a digression, cancel and invalid input."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.infra.rasa_model import is_model_current, model_path
from bot.infra.settings import PROJECT_ROOT, Settings


def test_story_predictions(tmp_path: Path) -> None:
    settings = Settings(_env_file=None)
    if not is_model_current(settings.rasa_model_dir):
        pytest.fail(
            "The Rasa model is missing or stale: run `make test` (or `sadar model ensure`)."
        )
    result = subprocess.run(
        [
            str(settings.rasa_venv / "bin" / "rasa"),
            "test",
            "core",
            "--model",
            str(model_path(settings.rasa_model_dir)),
            "--stories",
            "tests/stories",
            "--out",
            str(tmp_path),
            "--fail-on-prediction-errors",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else result.stdout[-3000:]
    assert result.returncode == 0, details
