"""Runtime settings, read from environment variables (prefix ``SADAR_``) or a ``.env`` file.

Every setting has a default that works on a single development machine; the defaults
that would be unsafe in a deployment are refused when ``SADAR_ENV=production``.
``.env.example`` documents each one.
"""

from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.reminders import ReminderPolicy

PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: Secrets that may be left unset (the feature they guard is then off).
OPTIONAL_SECRETS = (
    "telegram_bot_token",
    "telegram_webhook_secret",
    "twilio_auth_token",
    "admin_password_hash",
    "payment_webhook_secret",
    "action_server_token",
    "rasa_api_token",
    "rasa_channel_token",
    "metrics_token",
    "registry_secret",
    "registry_callback_secret",
)
#: Inbound doors whose secret must be long and random in production (when set, or always).
STRONG_IN_PRODUCTION = (
    "telegram_webhook_secret",
    "payment_webhook_secret",
    "action_server_token",
    "rasa_api_token",
    "rasa_channel_token",
)
REQUIRED_IN_PRODUCTION = frozenset({"action_server_token", "rasa_api_token", "rasa_channel_token"})
MIN_SECRET_CHARS = 32

#: Development-only keys; production refuses them (see ``Settings._refuse_insecure_defaults``).
DEV_PII_HASH_KEY = "dev-only-insecure-key-change-me-0000000000"
DEV_PII_ENCRYPTION_KEY = "ZGV2LW9ubHktaW5zZWN1cmUtZmVybmV0LWtleS0wMDA="


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SADAR_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # An empty variable (docker compose's "${X:-}") is an unset one, never an empty key.
        env_ignore_empty=True,
    )

    env: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    clock_starts_at: datetime | None = Field(
        default=None,
        description="Start the application clock at this instant (ISO 8601 with an offset, "
        "e.g. 2026-12-15T23:30:00+07:00); it then runs at the real pace. For tests, demos and "
        "training sessions only: refused in production.",
    )
    clock_anchor: float | None = Field(
        default=None,
        description="The real moment (Unix seconds) at which the shifted clock shows "
        "SADAR_CLOCK_STARTS_AT; give every process the same value so their clocks agree. "
        "Unset: when each process starts.",
    )

    data_dir: Path = Field(default=PROJECT_ROOT / "var", description="Local state (SQLite files).")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the application database; empty means SQLite in data_dir.",
    )
    tracker_store_url: str = Field(
        default="",
        description="SQLAlchemy URL of Rasa's tracker store; empty means SQLite in data_dir.",
    )
    conversation_retention_days: int = Field(
        default=90,
        ge=1,
        description="Rasa's conversations (what residents typed) are deleted this many days "
        "after their last message; registrations stay in the application database.",
    )
    redis_url: str | None = Field(
        default=None, description="Shared state across processes; in-process when unset."
    )

    rasa_url: str = Field(
        default="http://127.0.0.1:5005",
        description="Rasa server(s) the gateway talks to: one URL, or several comma-separated "
        "(each sender stays on one; a server that refuses connections is skipped).",
    )
    rasa_replicas: int = Field(
        default=1,
        ge=1,
        le=16,
        description="`sadar run`: Rasa servers to start (ports rasa_port, rasa_port+1, ...); "
        "more than one needs SADAR_REDIS_URL (Rasa's RedisLockStore).",
    )
    action_server_replicas: int = Field(
        default=1,
        ge=1,
        le=16,
        description="`sadar run`: action servers to start (ports action_server_port, +1, ...).",
    )
    rasa_timeout_seconds: float = 30.0
    rasa_turns_in_flight: int = Field(
        default=6,
        ge=1,
        le=256,
        description="Turns each gateway process has in flight to each Rasa server; the rest "
        "wait at the gateway, conversations under way first (docs/performance.md).",
    )
    chat_admission_wait_seconds: float = Field(
        default=0.75,
        gt=0,
        le=30,
        description="A web chat turn not admitted to Rasa within this long gets 503 "
        '"sedang ramai" with Retry-After; the page sends it again by itself.',
    )
    late_notice_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A WhatsApp or Telegram message still unanswered this long after it "
        "arrived (behind the sender's earlier messages, at Rasa's gate or in Rasa) gets one "
        '"pesan Anda sudah kami terima, mohon tunggu" (at most one per sender in 5 minutes; '
        "the message is never dropped).",
    )
    tracker_cache_conversations: int = Field(
        default=500,
        ge=0,
        description="Conversations whose decoded events each Rasa server keeps in memory "
        "(nlu/tracker_store.py); 0 reads every turn's session from the database.",
    )
    nlu_parse_cache_texts: int = Field(
        default=2000,
        ge=0,
        description="Distinct message texts whose NLU parse each Rasa server remembers for "
        "the day (nlu/rasa_runtime.py); 0 parses every message.",
    )
    restart_first_pause_seconds: float = Field(
        default=1.0, gt=0, description="`sadar run`: pause before restarting a crashed process"
    )
    restart_longest_pause_seconds: float = Field(
        default=30.0, gt=0, description="`sadar run`: the pause doubles per crash up to this"
    )
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    rasa_model_dir: Path = PROJECT_ROOT / "models"
    rasa_venv: Path = Field(
        default=PROJECT_ROOT / ".venv-rasa",
        description="Python 3.10 environment holding rasa==3.6.21 (made by scripts/bootstrap).",
    )
    rasa_port: int = 5005
    action_server_port: int = 5055
    action_server_host: str = Field(
        default="127.0.0.1",
        description="Interface the action server listens on: loopback unless it runs in its "
        "own container (compose sets 0.0.0.0 on an internal network).",
    )
    action_server_token: SecretStr | None = Field(
        default=None,
        description="Shared token Rasa sends with every action-server call (endpoints.yml); "
        "the action server answers 401 without it. Unset under `sadar run`: a random one "
        "per run. Required (32+ characters) in production.",
    )
    rasa_api_token: SecretStr | None = Field(
        default=None,
        description="Token for Rasa's HTTP API, given to Rasa through the environment by "
        "its launcher (nlu/serve.py), never on a command line. Unset under `sadar run`: a "
        "random one per run. Required (32+ characters) in production.",
    )
    rasa_channel_token: SecretStr | None = Field(
        default=None,
        description="Shared by the gateway and Rasa's Sadar channel (nlu/channels.py): Rasa "
        "accepts a message only with it, and the gateway's message metadata is signed with a "
        "key derived from it (bot/infra/signed_metadata.py). Unset under `sadar run`: a random one "
        "per run. Required (32+ characters) in production.",
    )

    chat_messages_per_minute_per_sender: int = Field(
        default=20,
        ge=1,
        description="Web chat messages one conversation may send per minute (more: 429).",
    )
    chat_messages_per_minute_per_address: int = Field(
        default=120,
        ge=1,
        description="Web chat messages one client address may send per minute, all its "
        "conversations together (a village office shares one address).",
    )
    gateway_host: str = "127.0.0.1"
    trusted_proxies: str = Field(
        default="127.0.0.1",
        description="Addresses (or networks) of the reverse proxies whose X-Forwarded-For "
        "the gateway believes (comma-separated); a client address from anyone else is the "
        "connection's. Rate limits and login lockouts count by that address, so it must be "
        "where the proxy connects from (docker compose requires it; never '*').",
    )
    gateway_port: int = 8000
    public_base_url: str = Field(
        default="",
        description="Public https origin of the gateway, used to check Twilio signatures.",
    )

    pii_hash_key: SecretStr = Field(
        default=SecretStr(DEV_PII_HASH_KEY),
        description="Key for keyed hashes of identifiers (NIK, sender ids). At least 32 chars.",
    )

    pii_encryption_keys: SecretStr = Field(
        default=SecretStr(DEV_PII_ENCRYPTION_KEY),
        description="Fernet key(s) for personal data at rest (NIK, name, phone, income); "
        "comma-separated to rotate: the first encrypts, all decrypt.",
    )

    min_registration_age: int = Field(
        default=18, description="Youngest age accepted at registration (unconfirmed: a setting)."
    )
    max_registration_age: int = Field(
        default=65, description="Oldest age accepted at registration (unconfirmed: a setting)."
    )

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_messages_per_second: float = Field(
        default=30, description="Telegram's broadcast limit, shared by all processes via Redis."
    )
    telegram_messages_per_chat_per_second: float = Field(
        default=1, description="Telegram's advice for one chat (short bursts of 3 allowed)."
    )
    reminder_share_of_send_rate: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Share of each channel's sending rate reminders may use; the rest stays "
        "free for answers to residents, so an answer never queues behind a reminder wave in "
        "the sending pace and the wave's pace does not depend on how many reply "
        "(docs/performance.md, bench-wave).",
    )

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = Field(
        default=None, description="The WhatsApp sender, e.g. whatsapp:+14155238886 (sandbox)."
    )
    twilio_api_base_url: str = Field(
        default="https://api.twilio.com", description="Twilio REST API origin (tests: a fake)."
    )
    whatsapp_messages_per_second: float = Field(
        default=80, description="Messages per second from the WhatsApp sender number."
    )
    whatsapp_reminder_content_sid: str | None = Field(
        default=None,
        description="Approved WhatsApp template (Twilio ContentSid HX…) for reminders sent "
        "outside the 24-hour window; variables 1=amount, 2=months, 3=due date.",
    )
    whatsapp_consent_content_sid: str | None = Field(
        default=None,
        description="Approved WhatsApp template (ContentSid HX…) carrying the one-time consent "
        "code to a resident an agent registers, who has not written to Sadar in the last 24 "
        "hours; variables 1=agent name, 2=code, 3=minutes valid.",
    )
    whatsapp_link_content_sid: str | None = Field(
        default=None,
        description="Approved WhatsApp template (ContentSid HX…) carrying the one-time code "
        "that links a WhatsApp number to a participant (a web chat registration, a number "
        "change) when the number has not written to Sadar in the last 24 hours; variables "
        "1=code, 2=minutes valid. Codes follow SADAR_CONSENT_CODE_* for expiry and tries.",
    )
    whatsapp_number_change_content_sid: str | None = Field(
        default=None,
        description="Approved WhatsApp template (ContentSid HX…) telling a number a number "
        "change left (and the new number, when an agent made the change) where reminders "
        "and access went, and that replying BUKAN SAYA reports it; used outside the 24-hour "
        "window; variables 1=new number (masked), 2=Sadar reference. Unset: such numbers "
        "are told only inside the window.",
    )
    whatsapp_kpj_content_sid: str | None = Field(
        default=None,
        description="Approved WhatsApp template (ContentSid HX…) telling a resident that BPJS "
        "Ketenagakerjaan accepted their registration, outside the 24-hour window; variables "
        "1=KPJ number, 2=monthly contribution, 3=how to pay (with the payment code when there "
        "is one), 4=Sadar reference. Unset: the resident-notice template carries the KPJ "
        "number without how to pay.",
    )
    whatsapp_resident_notice_content_sid: str | None = Field(
        default=None,
        description="Approved WhatsApp template (ContentSid HX…) telling a resident what an "
        "agent recorded for them (a walk-in registration read aloud) outside the 24-hour "
        "window; variables 1=what was recorded, 2=agent name, 3=Sadar reference. Unset: only "
        "residents inside the window are told, and the agent hears when one was not.",
    )
    web_session_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs the web chat's server-issued conversation ids; unset: "
        "derived from SADAR_PII_HASH_KEY.",
    )
    web_session_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=7 * 24 * 60,
        description="A web chat conversation id stops working after this many minutes "
        "without a message; the page then gets a new conversation.",
    )
    chat_news_polls_per_minute: int = Field(
        default=30,
        ge=1,
        description="Polls of POST /api/chat/news one web conversation may make per minute "
        "(the page asks every 5 s); one client address may make ten times as many.",
    )
    consent_code_valid_minutes: int = Field(
        default=30, ge=5, le=24 * 60, description="How long a resident's consent code works."
    )
    consent_code_max_attempts: int = Field(
        default=5, ge=1, le=10, description="Wrong tries before a consent code stops working."
    )
    handoff_answer_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="A resident who asked for a person and got no agent's answer within this "
        "many minutes is told so (with the office hours) and gets the bot back.",
    )
    handoff_idle_minutes: int = Field(
        default=120,
        ge=5,
        le=7 * 24 * 60,
        description="A conversation with an agent closes after this many minutes without a "
        "message.",
    )
    village_office_hours: str = Field(
        default="Senin–Jumat pukul 08.00–15.00",
        description="What residents are told when no agent answered in time (unconfirmed: "
        "villages set their own hours; set it per deployment).",
    )

    ktp_photos: bool = Field(
        default=True,
        description="Read a KTP photo a resident sends during registration (on this machine: "
        "libtesseract; docs/ktp-photo.md). Off: photos are answered with a request to type.",
    )
    ktp_photo_readers: int = Field(
        default=2, ge=1, le=16, description="Photos read at once (each takes one core)."
    )
    ktp_photo_seconds: float = Field(
        default=8.0, gt=0, le=60, description="A photo's reading stops after this long."
    )
    ktp_second_reader: bool = Field(
        default=False,
        description="Also read poor photos with RapidOCR (requirements/ocr-second-reader.txt; "
        "about 0.4 GB more memory per process).",
    )

    reminder_days_before_due: int = Field(default=3, ge=0, le=14)
    reminder_days_after_due: int = Field(default=3, ge=1, le=14)
    reminder_send_from: time = Field(
        default=time(8, 0), description="Earliest local time (participant's zone) to send."
    )
    reminder_send_until: time = Field(
        default=time(20, 0), description="Latest local time (participant's zone) to send."
    )
    reminder_worker_threads: int = Field(default=4, ge=1, le=64)
    reminder_max_attempts: int = Field(
        default=5, ge=1, description="Sends of one reminder before it is marked failed."
    )

    agent_confirm_months_over: int = Field(
        default=3,
        ge=1,
        le=12,
        description="An agent's cash payment of more months than this needs the word "
        "KONFIRMASI in the message.",
    )
    agent_max_residents_per_day: int = Field(
        default=40,
        ge=1,
        description="Residents one agent may record cash for in one day (WIB); more is "
        "refused, so a stolen agent phone cannot mark a whole village paid.",
    )

    admin_password_hash: SecretStr | None = Field(
        default=None,
        description="PBKDF2 hash of the dashboard password (`sadar admin hash-password`); "
        "unset: the dashboard at /admin is closed.",
    )

    payment_webhook_secret: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 key for POST /webhooks/payments (docs/payments.md).",
    )

    registry: Literal["batch", "api"] = Field(
        default="batch",
        description="How registrations reach BPJS Ketenagakerjaan (docs/registry.md): batch "
        "files for the branch office, or the partner API once one is granted.",
    )
    registry_url: str | None = Field(
        default=None, description="The partner API's base URL (https:// in production)."
    )
    registry_consumer_id: str | None = Field(
        default=None, description="Sadar's consumer id at the partner API."
    )
    registry_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key Sadar signs partner API calls with."
    )
    registry_callback_consumer_id: str | None = Field(
        default=None,
        description="The registry's consumer id on its signed callbacks to POST "
        "/webhooks/registry; unset: the route is closed (answers come by polling).",
    )
    registry_callback_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key the registry signs its callbacks with."
    )
    registry_timeout_seconds: float = Field(
        default=10, gt=0, description="Seconds one partner API call may take."
    )

    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for GET /metrics on the gateway (Prometheus "
        "`authorization`); unset: /metrics answers only clients on this machine.",
    )
    worker_metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of a reminder worker's /metrics (on worker_metrics_host); 0: off.",
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1", description="Address a reminder worker's /metrics listens on."
    )

    @property
    def rasa_urls(self) -> list[str]:
        return [url.strip() for url in self.rasa_url.split(",") if url.strip()]

    @property
    def rasa_channel_token_value(self) -> str | None:
        """The gateway's Rasa channel token (also the root of the metadata signing key)."""
        token = self.rasa_channel_token
        return token.get_secret_value() if token is not None else None

    @field_validator(*OPTIONAL_SECRETS, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty or blank secret means "not configured", whoever passed it."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return value

    @model_validator(mode="after")
    def _fill_local_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'sadar.db'}"
        if not self.tracker_store_url:
            self.tracker_store_url = f"sqlite:///{self.data_dir / 'rasa_tracker.db'}"
        return self

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        if self.env != "production":
            return self
        if self.clock_starts_at is not None:
            raise ValueError(
                "SADAR_CLOCK_STARTS_AT shifts the clock for tests and demos; unset it in "
                "production so that payments and due dates follow the real date."
            )
        key = self.pii_hash_key.get_secret_value()
        if key == DEV_PII_HASH_KEY or len(key) < 32:
            raise ValueError(
                "SADAR_PII_HASH_KEY is the development default or shorter than 32 characters; "
                "set a random secret, e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        if DEV_PII_ENCRYPTION_KEY in self.pii_encryption_keys.get_secret_value():
            raise ValueError(
                "SADAR_PII_ENCRYPTION_KEYS still holds the development key; generate one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`."
            )
        if self.telegram_bot_token and not self.telegram_webhook_secret:
            raise ValueError(
                "SADAR_TELEGRAM_WEBHOOK_SECRET must be set in production so that webhook calls "
                "can be checked."
            )
        for name in STRONG_IN_PRODUCTION:
            secret = getattr(self, name)
            required = name in REQUIRED_IN_PRODUCTION
            if (secret is None and required) or (
                secret is not None and len(secret.get_secret_value()) < MIN_SECRET_CHARS
            ):
                raise ValueError(
                    f"SADAR_{name.upper()} must be {'set to ' if required else ''}a random "
                    f"secret of at least {MIN_SECRET_CHARS} characters in production, e.g. from "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
                )
        if self.twilio_auth_token and not self.public_base_url.startswith("https://"):
            raise ValueError(
                "SADAR_PUBLIC_BASE_URL must be the https:// address Twilio posts to in production."
            )
        return self

    @model_validator(mode="after")
    def _registry_api_is_complete(self) -> Settings:
        if self.registry != "api":
            return self
        missing = [
            f"SADAR_{name.upper()}"
            for name in ("registry_url", "registry_consumer_id", "registry_secret")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError(
                f"SADAR_REGISTRY=api needs {', '.join(missing)} (from the partner API "
                "agreement); until one is granted, use SADAR_REGISTRY=batch."
            )
        if self.env == "production":
            assert self.registry_url is not None and self.registry_secret is not None
            if not self.registry_url.startswith("https://"):
                raise ValueError("SADAR_REGISTRY_URL must be an https:// address in production.")
            for name, secret in (
                ("SADAR_REGISTRY_SECRET", self.registry_secret),
                ("SADAR_REGISTRY_CALLBACK_SECRET", self.registry_callback_secret),
            ):
                if secret is not None and len(secret.get_secret_value()) < MIN_SECRET_CHARS:
                    raise ValueError(
                        f"{name} must be at least {MIN_SECRET_CHARS} characters in production."
                    )
        return self

    @model_validator(mode="after")
    def _clock_start_has_zone(self) -> Settings:
        if self.clock_starts_at is not None and self.clock_starts_at.tzinfo is None:
            raise ValueError(
                "SADAR_CLOCK_STARTS_AT needs a time zone offset, e.g. 2026-12-15T23:30:00+07:00."
            )
        return self

    @property
    def reminder_policy(self) -> ReminderPolicy:
        return ReminderPolicy(
            days_before_due=self.reminder_days_before_due,
            days_after_due=self.reminder_days_after_due,
            send_from=self.reminder_send_from,
            send_until=self.reminder_send_until,
        )

    @property
    def twilio_configured(self) -> bool:
        """Replies over WhatsApp need all three: account, token and sender number."""
        return bool(
            self.twilio_account_sid and self.twilio_auth_token and self.twilio_whatsapp_from
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process, read once; tests build their own ``Settings(...)``."""
    return Settings()
