"""docker-compose.yml cannot be run here (no Docker engine), so it is validated: against the
Compose specification schema, by docker-compose itself, and against what the code reads."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.cli.main import app as cli_app
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.processes.devserver import process_specs, rasa_environment

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
INTERPOLATION_ENV = {
    "POSTGRES_PASSWORD": "pw",
    "SADAR_PII_HASH_KEY": "k" * 40,
    "SADAR_PII_ENCRYPTION_KEYS": "a2V5LWZvci10ZXN0cy1vbmx5LTAwMDAwMDAwMDAwMDA=",
    "SADAR_ACTION_SERVER_TOKEN": "t" * 40,
    "SADAR_RASA_API_TOKEN": "r" * 40,
    "SADAR_RASA_CHANNEL_TOKEN": "c" * 40,
    "SADAR_TRUSTED_PROXIES": "172.18.0.1",
}
#: The values above that are secrets (none may reach a command line).
SECRETS = {k: v for k, v in INTERPOLATION_ENV.items() if k != "SADAR_TRUSTED_PROXIES"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _compose_spec_schema() -> dict[str, Any]:
    """The Compose specification schema, as shipped in Debian's docker-compose package."""
    paths = glob.glob("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")
    if not paths:
        pytest.fail("compose_spec.json not found: `make test` installs Debian's docker-compose.")
    return json.loads(Path(paths[0]).read_text())


def test_compose_file_follows_the_compose_specification() -> None:
    """Validated as Compose does: after interpolation (``replicas: ${...:-1}`` is a number
    only then)."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose not found: `make test` installs Debian's docker-compose.")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config"],
        env={**os.environ, **INTERPOLATION_ENV},
        capture_output=True, text=True, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    interpolated = yaml.safe_load(result.stdout)
    jsonschema.Draft7Validator(_compose_spec_schema()).validate(interpolated)
    assert interpolated["services"]["rasa"]["deploy"]["replicas"] == 1


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`docker-compose config -q` (Debian's) with ``env`` for interpolation."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose not found: `make test` installs Debian's docker-compose.")
    return subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )


def test_docker_compose_accepts_the_file() -> None:
    result = compose_config({**os.environ, **INTERPOLATION_ENV})
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_required_secrets() -> None:
    result = compose_config({k: v for k, v in os.environ.items() if k not in INTERPOLATION_ENV})
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_every_sadar_variable_in_compose_is_a_setting(compose: dict[str, Any]) -> None:
    known = {f"SADAR_{name.upper()}" for name in Settings.model_fields}
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("SADAR_"):
                assert variable in known, f"{name}: {variable} is not read by bot.infra.settings"


def test_deployment_is_production_and_uses_postgres_and_redis(compose: dict[str, Any]) -> None:
    env = compose["services"]["gateway"]["environment"]
    assert env["SADAR_ENV"] == "production"
    assert env["SADAR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["SADAR_REDIS_URL"].startswith("redis://redis:")
    for service in ("postgres", "redis", "rasa", "actions", "gateway"):
        assert "healthcheck" in compose["services"][service], service


def test_rasa_service_gets_what_endpoints_yml_reads(compose: dict[str, Any]) -> None:
    referenced = set(re.findall(r"\$\{(\w+)\}", (PROJECT_ROOT / "endpoints.yml").read_text()))
    dev_env = rasa_environment(Settings(_env_file=None))
    assert referenced <= set(dev_env), "sadar run must set every variable endpoints.yml reads"
    rasa_env = compose["services"]["rasa"]["environment"]
    assert referenced <= set(rasa_env), "docker-compose must set every variable endpoints.yml reads"
    assert rasa_env["SADAR_TRACKER_STORE_URL"].startswith("postgresql://")


def test_rasa_image_matches_the_pinned_rasa_version(compose: dict[str, Any]) -> None:
    pinned = re.search(
        r"^rasa==([\d.]+)$", (PROJECT_ROOT / "requirements/rasa.txt").read_text(), re.M
    )
    assert pinned is not None
    for service in ("rasa", "rasa-train"):
        assert compose["services"][service]["image"] == f"rasa/rasa:{pinned.group(1)}-full"


def _cli_paths() -> set[tuple[str, ...]]:
    import typer.main

    click_group = typer.main.get_command(cli_app)
    paths: set[tuple[str, ...]] = set()

    def walk(command: Any, prefix: tuple[str, ...]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            paths.add((*prefix, name))
            walk(sub, (*prefix, name))

    walk(click_group, ())
    return paths


def test_service_commands_exist_in_the_code(compose: dict[str, Any]) -> None:
    """Each service runs the same program as `sadar run` does, or a real `sadar` command."""
    dev_modules = {tuple(spec.argv[1:3]) for spec in process_specs(Settings(_env_file=None))}
    services = compose["services"]
    assert services["gateway"]["command"][0:2] == ["uvicorn", "bot.gateway.app:create_app"]
    assert ("-m", "uvicorn") in dev_modules
    assert services["actions"]["command"] == ["python", "-m", "bot.processes.action_server"]
    assert ("-m", "bot.processes.action_server") in dev_modules
    assert tuple(services["migrate"]["command"][1:]) in _cli_paths()
    for name, service in services.items():
        command = service.get("command")
        if isinstance(command, list) and command[0] == "sadar" and not service.get("profiles"):
            assert tuple(command[1:]) in _cli_paths(), f"{name}: {command} is not a sadar command"


def test_only_the_gateway_publishes_a_port_and_the_backend_is_internal(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"gateway"}
    assert compose["networks"]["backend"] == {"internal": True}
    for name in ("rasa", "actions", "postgres", "redis"):
        assert services[name]["networks"] == ["backend"], name
    # Rasa's API is on, its token handed over by the launcher from the environment.
    assert services["rasa"]["entrypoint"] == ["python", "-m", "nlu.serve"]
    assert "--enable-api" in services["rasa"]["command"]
    assert "--auth-token" not in services["rasa"]["command"]
    gateway = services["gateway"]["command"]
    allowed = gateway[gateway.index("--forwarded-allow-ips") + 1]
    assert "*" not in allowed  # proxy headers only from configured proxies


def _interpolated_compose() -> dict[str, Any]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose not found: `make test` installs Debian's docker-compose.")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config"],
        env={**os.environ, **INTERPOLATION_ENV},
        capture_output=True, text=True, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_no_secret_is_on_any_command_line_in_compose() -> None:
    """`ps` on the host and `docker inspect` show every container's command line: secrets
    go in the environment only (Rasa's API token through nlu/serve.py)."""
    services = _interpolated_compose()["services"]
    for name, service in services.items():
        argv = [str(part) for key in ("entrypoint", "command") for part in (service.get(key) or [])]
        argv += [str(part) for part in (service.get("healthcheck") or {}).get("test", [])]
        for variable, value in SECRETS.items():
            assert not any(value in part for part in argv), (
                f"{name}: {variable} on its command line"
            )
    rasa_env = services["rasa"]["environment"]
    for variable in ("SADAR_RASA_API_TOKEN", "SADAR_RASA_CHANNEL_TOKEN"):
        assert rasa_env[variable] == INTERPOLATION_ENV[variable]
    for name in ("gateway", "actions"):
        env = services[name]["environment"]
        assert env["SADAR_RASA_CHANNEL_TOKEN"] == INTERPOLATION_ENV["SADAR_RASA_CHANNEL_TOKEN"]


def test_compose_has_no_trusted_proxy_default_that_merges_every_client() -> None:
    """Behind a proxy, a default of 127.0.0.1 made every client the proxy's one address (the
    per-address chat limit and admin lockout then hit everyone): compose asks for the value."""
    env = {k: v for k, v in {**os.environ, **INTERPOLATION_ENV}.items()}
    del env["SADAR_TRUSTED_PROXIES"]
    result = compose_config(env)
    assert result.returncode != 0 and "SADAR_TRUSTED_PROXIES" in result.stderr
    gateway = _interpolated_compose()["services"]["gateway"]["command"]
    assert gateway[gateway.index("--forwarded-allow-ips") + 1] == "172.18.0.1"


@pytest.mark.parametrize(
    "missing", ["SADAR_ACTION_SERVER_TOKEN", "SADAR_RASA_API_TOKEN", "SADAR_RASA_CHANNEL_TOKEN"]
)
def test_compose_requires_the_internal_tokens(missing: str) -> None:
    env = {k: v for k, v in {**os.environ, **INTERPOLATION_ENV}.items() if k != missing}
    result = compose_config(env)
    assert result.returncode != 0 and missing in result.stderr


def test_sadar_run_closes_the_action_server_and_rasas_api() -> None:
    specs = {spec.name: spec for spec in process_specs(Settings(_env_file=None))}
    token = specs["actions"].env["SADAR_ACTION_SERVER_TOKEN"]
    assert len(token) >= 32 and specs["rasa"].env["SADAR_ACTION_SERVER_TOKEN"] == token
    rasa = specs["rasa"].argv
    assert rasa[1:3] == ["-m", "nlu.serve"] and "--enable-api" in rasa
    assert len(specs["rasa"].env["SADAR_RASA_API_TOKEN"]) >= 32
    channel = specs["gateway"].env["SADAR_RASA_CHANNEL_TOKEN"]
    assert len(channel) >= 32 and specs["rasa"].env["SADAR_RASA_CHANNEL_TOKEN"] == channel
    assert specs["actions"].env["SADAR_RASA_CHANNEL_TOKEN"] == channel
    for spec in specs.values():
        for name, token in local_secrets_of(specs["rasa"]).items():
            assert not any(token in part for part in spec.argv), f"{name} in {spec.name}'s argv"
    assert rasa[rasa.index("--interface") + 1] == "127.0.0.1"
    assert Settings(_env_file=None).action_server_host == "127.0.0.1"


def local_secrets_of(spec: Any) -> dict[str, str]:
    return {
        name: spec.env[name]
        for name in (
            "SADAR_ACTION_SERVER_TOKEN",
            "SADAR_RASA_API_TOKEN",
            "SADAR_RASA_CHANNEL_TOKEN",
        )
    }
