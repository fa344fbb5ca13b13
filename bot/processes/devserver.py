"""`sadar run`: the Rasa server, the action server and the gateway as one command.

Commands and environment are derived from Settings, so ports and URLs are configured in
one place; bot/processes/supervisor.py restarts a process that dies and stops them all on Ctrl-C."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from bot.infra.rasa_model import model_path
from bot.infra.settings import PROJECT_ROOT, Settings


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str]


def local_secrets(settings: Settings) -> dict[str, str]:
    """The tokens that close the action server, Rasa's API and Rasa's channel: the
    configured ones, or random ones for this run (every process of it gets the same values).
    They travel in the environment only, never on a command line (`ps` shows those)."""
    return {
        "SADAR_ACTION_SERVER_TOKEN": _secret_or_new(settings.action_server_token),
        "SADAR_RASA_API_TOKEN": _secret_or_new(settings.rasa_api_token),
        "SADAR_RASA_CHANNEL_TOKEN": _secret_or_new(settings.rasa_channel_token),
    }


def _secret_or_new(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else secrets.token_urlsafe(32)


#: endpoints.yml's lock store type for several Rasa servers (docker-compose.yml names it too).
REDIS_LOCK_STORE = "nlu.lock_store.AtomicRedisLockStore"


def lock_store_environment(settings: Settings) -> dict[str, str]:
    """Rasa's lock store (endpoints.yml): in memory for one Rasa server; Sadar's atomic
    Redis lock store (nlu/lock_store.py), on SADAR_REDIS_URL, when several share the
    conversations."""
    if settings.rasa_replicas == 1 or not settings.redis_url:
        return {
            "RASA_LOCK_STORE": "in_memory",
            "RASA_LOCK_STORE_HOST": "",
            "RASA_LOCK_STORE_PORT": "0",
            "RASA_LOCK_STORE_DB": "0",
            "RASA_LOCK_STORE_PASSWORD": "",
        }
    redis = urlsplit(settings.redis_url)
    return {
        "RASA_LOCK_STORE": REDIS_LOCK_STORE,
        "RASA_LOCK_STORE_HOST": redis.hostname or "127.0.0.1",
        "RASA_LOCK_STORE_PORT": str(redis.port or 6379),
        "RASA_LOCK_STORE_DB": redis.path.strip("/") or "0",
        "RASA_LOCK_STORE_PASSWORD": redis.password or "",
    }


def rasa_log_level(level: str) -> str:
    """Rasa's own level: SADAR_LOG_LEVEL, but never below INFO. At DEBUG Rasa logs every
    message as typed, the entities and every slot value (names, birth dates), which no
    pattern can redact; Sadar's processes log their own debug lines instead."""
    chosen = logging.getLevelName(level.upper())
    return level.upper() if isinstance(chosen, int) and chosen >= logging.INFO else "INFO"


def rasa_environment(settings: Settings, tokens: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variables read by endpoints.yml (``tokens``: those of this run, see local_secrets)."""
    tokens = tokens if tokens is not None else local_secrets(settings)
    return {
        "SADAR_ACTION_SERVER_TOKEN": tokens["SADAR_ACTION_SERVER_TOKEN"],
        # Read by the launcher (nlu/serve.py) and the gateway's channel (nlu/channels.py).
        "SADAR_RASA_API_TOKEN": tokens["SADAR_RASA_API_TOKEN"],
        "SADAR_RASA_CHANNEL_TOKEN": tokens["SADAR_RASA_CHANNEL_TOKEN"],
        "SADAR_ACTION_SERVER_URL": settings.action_server_url,
        "SADAR_TRACKER_STORE_URL": settings.tracker_store_url,
        # The conversation store encrypts with the application's keys (nlu/tracker_store.py).
        "SADAR_PII_ENCRYPTION_KEYS": settings.pii_encryption_keys.get_secret_value(),
        "SADAR_PII_HASH_KEY": settings.pii_hash_key.get_secret_value(),
        "SADAR_TRACKER_CACHE_CONVERSATIONS": str(settings.tracker_cache_conversations),
        "SADAR_NLU_PARSE_CACHE_TEXTS": str(settings.nlu_parse_cache_texts),
        # No telemetry or crash reports leave the machine (they may contain conversation data).
        "RASA_TELEMETRY_ENABLED": "false",
        "LOG_LEVEL": rasa_log_level(settings.log_level),
        **lock_store_environment(settings),
    }


def _replica_url(url: str, base_port: int, index: int) -> str:
    """``url`` with its port moved up by ``index`` (replica ``index`` of a service)."""
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.hostname}:{(parts.port or base_port) + index}").geturl()


def process_specs(
    settings: Settings,
    app_python: Path = Path(sys.executable),
    environ: Mapping[str, str] | None = None,
) -> list[ProcessSpec]:
    """The processes of a running Sadar; ``environ`` (default: ours) must hold the same
    SADAR_* values ``settings`` was read from, since each process reads its own settings.

    With ``rasa_replicas``/``action_server_replicas`` above one, the Rasa servers share
    conversations through the tracker store and Redis locks, Rasa server i calls action
    server i modulo their number, and the gateway spreads senders over the Rasa servers."""
    if settings.rasa_replicas > 1 and not settings.redis_url:
        raise SystemExit(
            "SADAR_RASA_REPLICAS > 1 needs SADAR_REDIS_URL: the Rasa servers share each "
            "conversation's lock through Redis (Rasa's RedisLockStore)."
        )
    base_env = {
        **(os.environ if environ is None else environ),
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    tokens = local_secrets(settings)
    base_env.update(tokens)
    rasa_base = settings.rasa_urls[0]
    rasa_urls = [
        _replica_url(rasa_base, settings.rasa_port, i) for i in range(settings.rasa_replicas)
    ]
    action_urls = [
        _replica_url(settings.action_server_url, settings.action_server_port, i)
        for i in range(settings.action_server_replicas)
    ]
    specs = []
    for i in range(settings.rasa_replicas):
        name = "rasa" if settings.rasa_replicas == 1 else f"rasa-{i + 1}"
        env = {**base_env, **rasa_environment(settings, tokens)}
        env["SADAR_ACTION_SERVER_URL"] = action_urls[i % len(action_urls)]
        specs.append(
            ProcessSpec(
                name,
                [
                    # The launcher hands Rasa its API token from the environment.
                    str(settings.rasa_venv / "bin" / "python"),
                    "-m",
                    "nlu.serve",
                    "run",
                    "--enable-api",
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(settings.rasa_port + i),
                    "--model",
                    str(model_path(settings.rasa_model_dir)),
                    "--endpoints",
                    "endpoints.yml",
                    "--credentials",
                    "credentials.yml",
                ],
                env,
            )
        )
    for i in range(settings.action_server_replicas):
        name = "actions" if settings.action_server_replicas == 1 else f"actions-{i + 1}"
        env = {**base_env, "SADAR_ACTION_SERVER_PORT": str(settings.action_server_port + i)}
        specs.append(ProcessSpec(name, [str(app_python), "-m", "bot.processes.action_server"], env))
    # The gateway (and the Telegram poller) spread senders over every Rasa server.
    chat_env = {**base_env, "SADAR_RASA_URL": ",".join(rasa_urls)}
    specs.append(
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
            chat_env,
        )
    )
    # Polling on a machine without a public address; with a webhook secret the gateway
    # receives Telegram's webhook calls instead (`sadar telegram set-webhook`).
    if settings.telegram_bot_token is not None and settings.telegram_webhook_secret is None:
        specs.append(
            ProcessSpec(
                "telegram", [str(app_python), "-m", "bot.cli", "telegram", "poll"], chat_env
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
    """Blocks until Ctrl-C; a process that dies is restarted (bot/processes/supervisor.py)."""
    from bot.processes.supervisor import RestartPolicy, Supervisor

    supervisor = Supervisor(
        [(spec.name, spec.argv, spec.env) for spec in process_specs(settings)],
        PROJECT_ROOT,
        policy=RestartPolicy(
            first=settings.restart_first_pause_seconds,
            longest=settings.restart_longest_pause_seconds,
        ),
    )
    return supervisor.run()
