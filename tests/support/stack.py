"""The whole bot, started the way `make run` starts it (bot.processes.devserver.process_specs), but
on free loopback ports with PostgreSQL for both the application and Rasa's tracker store.

A pytest plugin (registered in tests/conftest.py), so the end-to-end tests and the security
tests share one running stack per session."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import upgrade
from bot.db.models import Participant
from bot.gateway.admin_auth import hash_password
from bot.infra.rasa_model import is_model_current, model_path
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.processes.devserver import ProcessSpec, process_specs
from bot.services.participants import nik_lookup_hash
from tests.conftest import TEST_PII_KEY
from tests.support.clock import E2E_CLOCK_START, clock_environment
from tests.support.fake_telegram import FakeTelegram, running_fake_telegram
from tests.support.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    WHATSAPP_FROM,
    FakeTwilio,
    inbound_form,
    running_fake_twilio,
    signed_form,
)
from tests.support.services import PostgresServer, free_port, stop, wait_for_port
from tests.support.web_chat import WebChatIds

STARTUP_TIMEOUT_SECONDS = 180
#: How long one turn (Rasa, the action server, the channel's sends) may take.
TURN_TIMEOUT_SECONDS = 60


TELEGRAM_TOKEN = "123456:E2E-token"
ADMIN_PASSWORD = "e2e-admin-password-123"
TELEGRAM_SECRET = "e2e-webhook-secret"
ACTION_SERVER_TOKEN = "e2e-action-server-token-0123456789abcdef"
RASA_API_TOKEN = "e2e-rasa-api-token-0123456789abcdef012"
RASA_CHANNEL_TOKEN = "e2e-rasa-channel-token-0123456789abcdef"
#: The approved template that carries a consent code to a resident who has not written yet.
CONSENT_CONTENT_SID = "HX" + "c0" * 16
LINK_CONTENT_SID = "HX" + "d1" * 16
NUMBER_CHANGE_CONTENT_SID = "HX" + "c1" * 16
RESIDENT_NOTICE_CONTENT_SID = "HX" + "e2" * 16


@dataclass
class Stack:
    settings: Settings
    environ: dict[str, str]
    log_dir: Path
    telegram: FakeTelegram
    twilio: FakeTwilio
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    specs: dict[str, ProcessSpec] = field(default_factory=dict)
    #: The gateway issues web chat ids; tests name their conversations, this maps them.
    web_ids: WebChatIds = field(default_factory=WebChatIds)
    #: The processes' temporary directory (TMPDIR), theirs alone: what they write there can
    #: be seen (a KTP photo must leave nothing).
    tmp_dir: Path | None = None

    def start(self, name: str) -> None:
        spec = self.specs[name]
        log_file = (self.log_dir / f"{spec.name}.log").open("a")
        self.processes[name] = subprocess.Popen(
            spec.argv, env=spec.env, cwd=PROJECT_ROOT, stdout=log_file, stderr=subprocess.STDOUT
        )

    def wait_ready(self) -> None:
        wait_for_port(self.settings.gateway_port, 60, self.processes["gateway"])
        action_health = f"http://127.0.0.1:{self.settings.action_server_port}/health"
        _wait_until(lambda: httpx.get(action_health).status_code == 200, "action server", self, 60)
        _wait_until(
            lambda: bool(
                httpx.get(f"{self.settings.rasa_url}/status", params={"token": RASA_API_TOKEN})
                .json()
                .get("model_file")
            ),
            "Rasa server",
            self,
            STARTUP_TIMEOUT_SECONDS,
        )

    def restart(self, *names: str) -> None:
        """Stop and start processes, as after a crash or a deployment."""
        for name in names:
            stop(self.processes[name])
        for name in names:
            self.start(name)
        self.wait_ready()

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway_port}"

    def web_session(self, sender: str) -> str:
        """The gateway-issued id of the web conversation a test calls ``sender``."""
        with httpx.Client(base_url=self.gateway_url) as http:
            return self.web_ids.of(http, sender)

    def web_sender(self, sender: str) -> str:
        """``web:<id>``: the sender id Rasa and the database know that conversation by."""
        self.web_session(sender)
        return self.web_ids.sender_id(sender)

    def chat(self, sender: str, text: str) -> list[dict[str, Any]]:
        """One message in the web conversation the test calls ``sender``."""
        session = self.web_session(sender)
        response = httpx.post(
            f"{self.gateway_url}/api/chat", json={"sender": session, "text": text}, timeout=60
        )
        assert response.status_code == 200, f"{response.status_code}: {response.text}"
        return response.json()["replies"]

    def telegram_update(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Deliver one Telegram Update to the webhook; the messages the bot sent back."""
        chat_id = (update.get("message") or update["callback_query"]["message"])["chat"]["id"]
        before = len(self.telegram_to(chat_id))
        turns = self.turns_ended("tg")
        response = httpx.post(
            f"{self.gateway_url}/webhooks/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        )
        assert response.status_code == 200, response.text
        self._wait_turn_ended("tg", turns)
        return self.telegram_to(chat_id)[before:]

    def telegram_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.telegram.sent() if int(m["chat_id"]) == chat_id]

    def whatsapp(self, number: str, body: str, **extra: str) -> list[str]:
        """Post one signed inbound WhatsApp message; the bodies Sadar sent back."""
        before = len(self.twilio.to(number))
        turns = self.turns_ended("wa")
        form = inbound_form(number, body, **extra)
        url = f"{self.gateway_url}/webhooks/whatsapp"
        response = httpx.post(url, **signed_form(url, form))
        assert response.status_code == 200, response.text
        self._wait_turn_ended("wa", turns)
        return self.twilio.bodies(number)[before:]

    def turns_ended(self, channel: str) -> float:
        """The gateway's count of ended turns on ``channel`` (its /metrics, from loopback):
        a turn ends once its replies have been handed to the channel's API."""
        text = httpx.get(f"{self.gateway_url}/metrics").text
        prefix = f'sadar_turns_ended_total{{channel="{channel}"}} '
        found = [line for line in text.splitlines() if line.startswith(prefix)]
        return float(found[0][len(prefix) :]) if found else 0.0

    def _wait_turn_ended(self, channel: str, before: float) -> None:
        """The positive signal that a message's turn is over: no guessing from quiet."""
        deadline = time.monotonic() + TURN_TIMEOUT_SECONDS
        while self.turns_ended(channel) < before + 1:
            assert time.monotonic() < deadline, f"no {channel} turn ended within the timeout"
            time.sleep(0.02)

    def tracker(self, sender_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.settings.rasa_url}/conversations/{sender_id}/tracker",
            params={"token": RASA_API_TOKEN},
        )
        response.raise_for_status()
        return response.json()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} (last 40 lines)\n" + "\n".join(path.read_text().splitlines()[-40:])
            for path in sorted(self.log_dir.glob("*.log"))
        )


def _wait_until(check, what: str, stack: Stack, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in stack.processes.items():
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}\n{stack.logs()}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what} not ready within {timeout} s\n{stack.logs()}")


@pytest.fixture
def db(stack: Stack) -> Iterator[sessionmaker[Session]]:
    """Sessions on the stack's application database, to check what a conversation stored."""
    engine = make_engine(stack.settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


def participant_by_nik(db: sessionmaker[Session], nik: str) -> Participant | None:
    with db() as session:
        return session.scalar(
            select(Participant).where(Participant.nik_hash == nik_lookup_hash(TEST_PII_KEY, nik))
        )


@pytest.fixture(scope="session")
def fake_channels() -> Iterator[tuple[FakeTelegram, FakeTwilio]]:
    with running_fake_telegram() as telegram, running_fake_twilio() as twilio:
        yield telegram, twilio


@pytest.fixture(scope="session")
def stack(
    postgres: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
    fake_channels: tuple[FakeTelegram, FakeTwilio],
) -> Iterator[Stack]:
    telegram, twilio = fake_channels
    if not is_model_current(PROJECT_ROOT / "models"):
        pytest.fail(
            "The Rasa model is missing or stale: run `make test` (or `sadar model ensure`)."
        )
    app_db = postgres.create_database("sadar_e2e")
    tracker_db = postgres.create_database("rasa_tracker_e2e")
    rasa_port, action_port, gateway_port = free_port(), free_port(), free_port()
    values = {
        "SADAR_ENV": "test",
        # The most verbose level Sadar ships with: every debug line is covered by the
        # check that no log holds personal data (tests/security/test_no_personal_data_in_logs.py).
        "SADAR_LOG_LEVEL": "DEBUG",
        "SADAR_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "SADAR_DATABASE_URL": postgres.url(app_db),
        "SADAR_TRACKER_STORE_URL": postgres.libpq_url(tracker_db),
        "SADAR_PII_HASH_KEY": TEST_PII_KEY,
        "SADAR_RASA_PORT": str(rasa_port),
        "SADAR_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "SADAR_ACTION_SERVER_PORT": str(action_port),
        "SADAR_ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "SADAR_GATEWAY_PORT": str(gateway_port),
        "SADAR_PUBLIC_BASE_URL": f"http://127.0.0.1:{gateway_port}",
        "SADAR_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "SADAR_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "SADAR_TELEGRAM_API_BASE_URL": telegram.base_url,
        "SADAR_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "SADAR_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SADAR_TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
        "SADAR_TWILIO_API_BASE_URL": twilio.base_url,
        "SADAR_WHATSAPP_CONSENT_CONTENT_SID": CONSENT_CONTENT_SID,
        "SADAR_WHATSAPP_LINK_CONTENT_SID": LINK_CONTENT_SID,
        "SADAR_WHATSAPP_NUMBER_CHANGE_CONTENT_SID": NUMBER_CHANGE_CONTENT_SID,
        "SADAR_WHATSAPP_RESIDENT_NOTICE_CONTENT_SID": RESIDENT_NOTICE_CONTENT_SID,
        "SADAR_ADMIN_PASSWORD_HASH": hash_password(ADMIN_PASSWORD, iterations=10_000),
        # Every test message comes from 127.0.0.1 at machine speed: no human limits here
        # (tests/security/test_rate_limits.py checks them with small values).
        "SADAR_CHAT_MESSAGES_PER_MINUTE_PER_ADDRESS": "1000000",
        "SADAR_CHAT_MESSAGES_PER_MINUTE_PER_SENDER": "1000",
        "SADAR_ACTION_SERVER_TOKEN": ACTION_SERVER_TOKEN,
        "SADAR_RASA_API_TOKEN": RASA_API_TOKEN,
        "SADAR_RASA_CHANNEL_TOKEN": RASA_CHANNEL_TOKEN,
        # Every process starts on the same fixed day and hour, whenever the suite runs.
        **clock_environment(E2E_CLOCK_START),
    }
    process_tmp = tmp_path_factory.mktemp("process-tmp")
    environ = {**os.environ, **values, "TMPDIR": str(process_tmp)}
    settings = Settings(
        _env_file=None, **{k.removeprefix("SADAR_").lower(): v for k, v in values.items()}
    )
    upgrade(settings.database_url)
    stack = Stack(
        settings=settings,
        environ=environ,
        log_dir=tmp_path_factory.mktemp("logs"),
        telegram=telegram,
        twilio=twilio,
        tmp_dir=process_tmp,
    )
    assert model_path(settings.rasa_model_dir).exists()
    try:
        for spec in process_specs(settings, environ=environ):
            stack.specs[spec.name] = spec
            stack.start(spec.name)
        stack.wait_ready()
        yield stack
    finally:
        for process in stack.processes.values():
            stop(process)


#: Debian's chromium-driver (scripts/ensure-test-services installs it), pinned: Selenium
#: Manager never looks for, or downloads, another one.
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Read by Selenium Manager, should anything start it: no usage statistics, no network.
SELENIUM_ENVIRONMENT = {"SE_AVOID_STATS": "true", "SE_OFFLINE": "true"}


def chrome_service() -> Service:
    """The pinned driver; Selenium skips Selenium Manager when the path is given."""
    os.environ.update(SELENIUM_ENVIRONMENT)
    if not CHROMEDRIVER.is_file():
        pytest.fail(f"{CHROMEDRIVER} is needed: `make test` installs chromium-driver (Debian).")
    return Service(executable_path=str(CHROMEDRIVER))


#: Headless, and no network of its own: without the background-networking flags Chromium's
#: connections are refused by this machine's closed network, many at a time.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_options(chromium: str, profile: Path, *extra: str) -> webdriver.ChromeOptions:
    """The page tests' Chromium (and the console screenshots'): a fresh profile folder."""
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra):
        options.add_argument(flag)
    return options


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium (Debian's chromium + chromium-driver) for the page tests."""
    service = chrome_service()
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("chromium is needed: `make test` installs it (Debian).")
    options = chromium_options(
        chromium, tmp_path_factory.mktemp("chromium"), "--window-size=1000,900"
    )
    chrome = webdriver.Chrome(service=service, options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


_IDS = itertools.count(1)


class TelegramUser:
    """A Telegram user talking to the bot through the webhook, as Telegram would post it."""

    def __init__(self, stack: Stack, user_id: int, first_name: str):
        self.stack = stack
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name}
        self.chat = {"id": user_id, "type": "private", "first_name": first_name}

    def _message(self, **content: object) -> dict:
        update_id = 10_000 + next(_IDS)
        message = {"message_id": update_id, "date": int(time.time()), "chat": self.chat}
        return {"update_id": update_id, "message": {**message, "from": self.user, **content}}

    def says(self, text: str) -> list[dict]:
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if text.startswith("/")
            else []
        )
        extra = {"entities": entities} if entities else {}
        return self.stack.telegram_update(self._message(text=text, **extra))

    def sends_photo(self, data: bytes, *, as_document: bool = False) -> list[dict]:
        """A photo (in the sizes Telegram makes of it), or a file sent as a document."""
        held = self.stack.telegram.hold_file(data)
        if as_document:
            document = {k: held[k] for k in ("file_id", "file_unique_id", "file_size")}
            return self.stack.telegram_update(
                self._message(document={**document, "file_name": "ktp.jpg"})
            )
        thumbnail = {**held, "width": 90, "height": 67, "file_size": 1200}
        return self.stack.telegram_update(self._message(photo=[thumbnail, held]))

    def shares_contact(self, phone: str) -> list[dict]:
        contact = {
            "phone_number": phone,
            "first_name": self.user["first_name"],
            "user_id": self.user["id"],
        }
        return self.stack.telegram_update(self._message(contact=contact))

    def presses(self, sent: dict, title: str) -> list[dict]:
        """Press the inline button titled ``title`` under a message the bot sent."""
        keyboard = sent["reply_markup"]["inline_keyboard"]
        (button,) = [b for row in keyboard for b in row if b["text"] == title]
        update_id = 10_000 + next(_IDS)
        bot_message = {
            "message_id": 1,
            "date": int(time.time()),
            "chat": self.chat,
            "text": sent["text"],
        }
        query = {
            "id": str(update_id),
            "from": self.user,
            "chat_instance": "1",
            "message": bot_message,
            "data": button["callback_data"],
        }
        return self.stack.telegram_update({"update_id": update_id, "callback_query": query})
