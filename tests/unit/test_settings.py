from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.infra.settings import DEV_PII_ENCRYPTION_KEY, DEV_PII_HASH_KEY, Settings

GOOD_KEY = "k" * 40
GOOD_FERNET = "a2V5LWZvci10ZXN0cy1vbmx5LTAwMDAwMDAwMDAwMDA="


def production(**overrides: object) -> Settings:
    values = {
        "env": "production",
        "pii_hash_key": GOOD_KEY,
        "pii_encryption_keys": GOOD_FERNET,
        "action_server_token": "a" * 40,
        "rasa_api_token": "r" * 40,
        "rasa_channel_token": "c" * 40,
    }
    return Settings(_env_file=None, **{**values, **overrides})


def test_defaults_are_local_sqlite_files_without_redis(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'sadar.db'}"
    assert settings.tracker_store_url == f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
    assert settings.redis_url is None
    assert settings.pii_hash_key.get_secret_value() == DEV_PII_HASH_KEY


def test_values_come_from_sadar_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SADAR_DATABASE_URL", "postgresql+psycopg://u@db/sadar")
    monkeypatch.setenv("SADAR_GATEWAY_PORT", "9001")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql+psycopg://u@db/sadar"
    assert settings.gateway_port == 9001


def test_secrets_are_not_shown_in_repr() -> None:
    settings = Settings(_env_file=None, pii_hash_key=GOOD_KEY, telegram_bot_token="123:ABC")
    assert GOOD_KEY not in repr(settings)
    assert "123:ABC" not in repr(settings)


def test_production_refuses_the_development_key() -> None:
    with pytest.raises(ValidationError, match="SADAR_PII_HASH_KEY"):
        Settings(_env_file=None, env="production")


def test_production_refuses_a_short_key() -> None:
    with pytest.raises(ValidationError, match="shorter than 32"):
        Settings(_env_file=None, env="production", pii_hash_key="short")


def test_production_with_telegram_needs_a_webhook_secret() -> None:
    with pytest.raises(ValidationError, match="SADAR_TELEGRAM_WEBHOOK_SECRET"):
        production(telegram_bot_token="1:x")


def test_production_with_twilio_needs_a_public_https_url() -> None:
    with pytest.raises(ValidationError, match="SADAR_PUBLIC_BASE_URL"):
        production(twilio_auth_token="t")


def test_production_accepts_proper_secrets() -> None:
    settings = production(twilio_auth_token="t", public_base_url="https://sadar.example.id")
    assert settings.env == "production"


def test_production_refuses_the_development_encryption_key() -> None:
    with pytest.raises(ValidationError, match="SADAR_PII_ENCRYPTION_KEYS"):
        production(pii_encryption_keys=DEV_PII_ENCRYPTION_KEY)


def test_the_partner_api_needs_its_address_and_keys() -> None:
    assert Settings(_env_file=None).registry == "batch"
    with pytest.raises(ValidationError, match="SADAR_REGISTRY_URL, SADAR_REGISTRY_CONSUMER_ID"):
        Settings(_env_file=None, registry="api")
    api = {"registry": "api", "registry_consumer_id": "sadar", "registry_secret": "s" * 40}
    assert Settings(_env_file=None, registry_url="http://127.0.0.1:9", **api).registry == "api"
    with pytest.raises(ValidationError, match="https://"):
        production(registry_url="http://registry.example.id", **api)
    with pytest.raises(ValidationError, match="SADAR_REGISTRY_SECRET must be at least"):
        production(registry_url="https://registry.example.id", **{**api, "registry_secret": "x"})
    assert production(registry_url="https://registry.example.id", **api).registry == "api"
