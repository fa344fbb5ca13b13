"""Rasa's API token never reaches a command line (issue 25, point 5): nlu/serve.py reads it
from the environment and hands it to Rasa inside the process, so `ps` (the kernel's copy of
the command line, /proc/<pid>/cmdline) never shows it."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.infra.settings import PROJECT_ROOT
from nlu.serve import LaunchError, api_token, rasa_arguments

TOKEN = "launcher-test-rasa-api-token-0123456789abcdef"

#: Stands in for Rasa's entry point: reports the arguments it got, then waits to be read.
FAKE_RASA_MAIN = """
import json, sys, time
def main():
    print(json.dumps(sys.argv), flush=True)
    time.sleep(60)
"""


def test_the_token_reaches_rasa_but_not_the_visible_command_line(tmp_path: Path) -> None:
    package = tmp_path / "rasa"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(FAKE_RASA_MAIN)
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{PROJECT_ROOT}",
        "SADAR_RASA_API_TOKEN": TOKEN,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "nlu.serve", "run", "--enable-api", "--port", "5999"],
        env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        rasa_argv = json.loads(process.stdout.readline())
        visible = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
    finally:
        process.kill()
        process.wait()
    assert rasa_argv[1:] == ["run", "--enable-api", "--port", "5999", f"--auth-token={TOKEN}"]
    assert b"nlu.serve" in visible and b"--enable-api" in visible
    assert not any(TOKEN.encode() in part for part in visible), visible


def test_a_token_on_the_command_line_is_refused() -> None:
    with pytest.raises(LaunchError, match="SADAR_RASA_API_TOKEN"):
        rasa_arguments(["run", "--enable-api", "--auth-token", TOKEN], TOKEN)
    with pytest.raises(LaunchError):
        rasa_arguments(["run", f"--auth-token={TOKEN}"], None)


def test_a_token_that_starts_with_a_dash_is_still_the_token() -> None:
    """secrets.token_urlsafe starts one token in 64 with "-"; as a separate argument Rasa's
    argparse took it for an option and Rasa did not start (CI, issue 29)."""
    parser = argparse.ArgumentParser()  # what `rasa run` declares for the token
    parser.add_argument("command")
    parser.add_argument("--enable-api", action="store_true")
    parser.add_argument("-t", "--auth-token", type=str)
    token = "-Xq9" + TOKEN
    parsed = parser.parse_args(rasa_arguments(["run", "--enable-api"], token))
    assert parsed.auth_token == token


def test_an_api_without_a_token_does_not_start() -> None:
    with pytest.raises(LaunchError, match="SADAR_RASA_API_TOKEN"):
        rasa_arguments(["run", "--enable-api"], None)
    assert rasa_arguments(["train", "--fixed-model-name", "sadar"], None) == [
        "train",
        "--fixed-model-name",
        "sadar",
    ]


def test_the_token_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "rasa_api_token"
    secret.write_text(TOKEN + "\n")
    assert api_token({"SADAR_RASA_API_TOKEN_FILE": str(secret)}) == TOKEN
    assert api_token({"SADAR_RASA_API_TOKEN": " ", "SADAR_RASA_API_TOKEN_FILE": ""}) is None
