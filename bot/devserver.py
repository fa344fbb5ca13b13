"""`sadar run`: the Rasa server, the action server and the gateway as one command.

Commands and environment are derived from Settings, so ports and URLs are configured in
one place; bot/supervisor.py restarts a process that dies and stops them all on Ctrl-C."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bot.rasa_model import model_path
from bot.settings import PROJECT_ROOT, Settings


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str]


def local_secrets(settings: Settings) -> dict[str, str]:
    """The tokens that close the action server and Rasa's API: the configured ones, or
    random ones for this run (every process of it gets the same values)."""
    return {
        "SADAR_ACTION_SERVER_TOKEN": _secret_or_new(settings.action_server_token),
        "SADAR_RASA_API_TOKEN": _secret_or_new(settings.rasa_api_token),
    }


def _secret_or_new(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else secrets.token_urlsafe(32)


def rasa_environment(settings: Settings, tokens: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variables read by endpoints.yml (``tokens``: those of this run, see local_secrets)."""
    tokens = tokens if tokens is not None else local_secrets(settings)
    return {
        "SADAR_ACTION_SERVER_TOKEN": tokens["SADAR_ACTION_SERVER_TOKEN"],
        "SADAR_ACTION_SERVER_URL": settings.action_server_url,
        "SADAR_TRACKER_STORE_URL": settings.tracker_store_url,
        # The conversation store encrypts with the application's keys (nlu/tracker_store.py).
        "SADAR_PII_ENCRYPTION_KEYS": settings.pii_encryption_keys.get_secret_value(),
        "SADAR_PII_HASH_KEY": settings.pii_hash_key.get_secret_value(),
        # No telemetry or crash reports leave the machine (they may contain conversation data).
        "RASA_TELEMETRY_ENABLED": "false",
    }


def process_specs(
    settings: Settings,
    app_python: Path = Path(sys.executable),
    environ: Mapping[str, str] | None = None,
) -> list[ProcessSpec]:
    """The processes of a running Sadar; ``environ`` (default: ours) must hold the same
    SADAR_* values ``settings`` was read from, since each process reads its own settings."""
    base_env = {
        **(os.environ if environ is None else environ),
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    tokens = local_secrets(settings)
    base_env.update(tokens)
    specs = [
        ProcessSpec(
            "rasa",
            [
                str(settings.rasa_venv / "bin" / "rasa"),
                "run",
                "--enable-api",
                "--auth-token",
                base_env["SADAR_RASA_API_TOKEN"],
                "--interface",
                "127.0.0.1",
                "--port",
                str(settings.rasa_port),
                "--model",
                str(model_path(settings.rasa_model_dir)),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
            ],
            {**base_env, **rasa_environment(settings, tokens)},
        ),
        ProcessSpec(
            "actions",
            [str(app_python), "-m", "bot.action_server"],
            base_env,
        ),
        ProcessSpec(
            "gateway",
            [
                str(app_python),
                "-m",
                "uvicorn",
                "bot.gateway.app:create_app",
                "--factory",
                "--host",
                settings.gateway_host,
                "--port",
                str(settings.gateway_port),
                "--proxy-headers",
                "--forwarded-allow-ips",
                settings.trusted_proxies,
            ],
            base_env,
        ),
    ]
    # Polling on a machine without a public address; with a webhook secret the gateway
    # receives Telegram's webhook calls instead (`sadar telegram set-webhook`).
    if settings.telegram_bot_token is not None and settings.telegram_webhook_secret is None:
        specs.append(
            ProcessSpec(
                "telegram", [str(app_python), "-m", "bot.cli", "telegram", "poll"], base_env
            )
        )
    # Reminders need a channel to go out on; without Redis the queue is a SQLite file.
    if settings.telegram_bot_token is not None or settings.twilio_configured:
        specs.append(
            ProcessSpec(
                "reminders",
                [str(app_python), "-m", "bot.cli", "reminders", "worker"],
                base_env,
            )
        )
    return specs


def run_all(settings: Settings) -> int:
    """Blocks until Ctrl-C; a process that dies is restarted (bot/supervisor.py)."""
    from bot.supervisor import RestartPolicy, Supervisor

    supervisor = Supervisor(
        [(spec.name, spec.argv, spec.env) for spec in process_specs(settings)],
        PROJECT_ROOT,
        policy=RestartPolicy(
            first=settings.restart_first_pause_seconds,
            longest=settings.restart_longest_pause_seconds,
        ),
    )
    return supervisor.run()
