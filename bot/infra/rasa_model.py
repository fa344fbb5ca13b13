"""Train the Rasa model only when its inputs changed.

``rasa train`` has its own fingerprinting, but merely starting Rasa costs ~20 s; a hash
of the inputs decides in milliseconds whether there is anything to do."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.infra.settings import PROJECT_ROOT

MODEL_NAME = "sadar"
TRAINING_INPUTS = ("config.yml", "domain.yml", "nlu")
#: Modules of nlu/ that only the running server loads (from endpoints.yml): editing them
#: must not cost a retraining.
SERVE_TIME_ONLY = frozenset(
    {
        "nlu/tracker_store.py",
        "nlu/rasa_runtime.py",
        "nlu/serve.py",
        "nlu/state_history.py",
        "nlu/action_calls.py",
    }
)


def model_path(model_dir: Path) -> Path:
    return model_dir / f"{MODEL_NAME}.tar.gz"


def training_fingerprint(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            relative = file.relative_to(root).as_posix()
            if "__pycache__" in file.parts or relative in SERVE_TIME_ONLY:
                continue
            digest.update(str(file.relative_to(root)).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def is_model_current(model_dir: Path, root: Path = PROJECT_ROOT) -> bool:
    stamp = model_dir / ".fingerprint"
    return (
        model_path(model_dir).exists()
        and stamp.exists()
        and stamp.read_text().strip() == training_fingerprint(root)
    )


def train(rasa_executable: Path, model_dir: Path, root: Path = PROJECT_ROOT) -> Path:
    """Run ``rasa train`` (output streamed, so progress is visible) and stamp the result."""
    if not rasa_executable.exists():
        raise FileNotFoundError(
            f"{rasa_executable} not found: run `make setup` (scripts/bootstrap) to create the "
            "Rasa environment, or set SADAR_RASA_VENV to an environment with rasa==3.6.21."
        )
    fingerprint = training_fingerprint(root)
    started = time.monotonic()
    subprocess.run(
        [
            str(rasa_executable),
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "nlu",
            "--out",
            str(model_dir),
            "--fixed-model-name",
            MODEL_NAME,
        ],
        cwd=root,
        env={
            **os.environ,
            # Custom components (nlu.components) are imported from the project; no telemetry.
            "PYTHONPATH": str(root),
            "RASA_TELEMETRY_ENABLED": "false",
            # Reproducible models: Rasa orders labels through sets, so the hash seed matters
            # as much as DIET's random_seed.
            "PYTHONHASHSEED": "0",
            "TF_DETERMINISTIC_OPS": "1",
        },
        check=True,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
    (model_dir / ".fingerprint").write_text(fingerprint + "\n")
    print(f"Rasa model trained in {time.monotonic() - started:.0f} s -> {model_path(model_dir)}")
    return model_path(model_dir)


def ensure_model(rasa_executable: Path, model_dir: Path, root: Path = PROJECT_ROOT) -> Path:
    if is_model_current(model_dir, root):
        print(f"Rasa model is up to date ({model_path(model_dir)})")
        return model_path(model_dir)
    print("Training data changed: training the Rasa model (1-3 minutes on 2 cores)...")
    return train(rasa_executable, model_dir, root)
