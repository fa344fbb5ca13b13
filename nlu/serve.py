"""Starts the Rasa server with its API token taken from the environment.

``rasa run --auth-token <token>`` puts the token on the command line, where `ps`,
/proc/<pid>/cmdline and `docker inspect` show it to anyone on the machine, and that token
opens the tracker API (decrypted conversations). Run instead, with Rasa's Python::

    SADAR_RASA_API_TOKEN=... python -m nlu.serve run --enable-api --port 5005 ...

The token is read from SADAR_RASA_API_TOKEN (or the file named by
SADAR_RASA_API_TOKEN_FILE, e.g. a Docker secret) and added to Rasa's arguments inside this
process: the kernel's copy of the command line, which is what `ps` reads, never holds it.
Standard library only, apart from Rasa itself and nlu.action_calls (Python 3.10)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

TOKEN_VARIABLE = "SADAR_RASA_API_TOKEN"
TOKEN_FILE_VARIABLE = "SADAR_RASA_API_TOKEN_FILE"


class LaunchError(SystemExit):
    """Rasa is not started: the message says why."""


def api_token(environ: Mapping[str, str]) -> str | None:
    """The API token from the environment, or from the file it names; None when unset."""
    token = environ.get(TOKEN_VARIABLE, "").strip()
    if not token and environ.get(TOKEN_FILE_VARIABLE, "").strip():
        token = Path(environ[TOKEN_FILE_VARIABLE].strip()).read_text().strip()
    return token or None


def rasa_arguments(args: Sequence[str], token: str | None) -> list[str]:
    """Rasa's arguments with the token added. A token given on the command line is refused
    (it would be visible); an API enabled without a token would be open to anyone."""
    args = list(args)
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in args):
        raise LaunchError(
            f"nlu.serve: do not pass --auth-token (it shows in `ps`); set {TOKEN_VARIABLE}."
        )
    if "--enable-api" in args:
        if token is None:
            raise LaunchError(
                f"nlu.serve: Rasa's HTTP API needs a token: set {TOKEN_VARIABLE} "
                f"(or {TOKEN_FILE_VARIABLE})."
            )
        # One argument: a token that starts with "-" (token_urlsafe gives one in 64) would
        # otherwise be read by argparse as an option, and Rasa would not start.
        args.append(f"--auth-token={token}")
    return args


def close_connections_on_stop() -> None:
    """The connections to the action server that Sadar keeps open (nlu/action_calls.py)
    are closed when Rasa stops; registered before Rasa builds its server."""
    try:
        from nlu.action_calls import close_kept_sessions_on_stop
    except ImportError:  # a Rasa without its server (tests/unit/test_rasa_launcher.py)
        return
    close_kept_sessions_on_stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = rasa_arguments(sys.argv[1:] if argv is None else argv, api_token(os.environ))
    from rasa.__main__ import main as rasa_main

    close_connections_on_stop()

    sys.argv = ["rasa", *args]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
