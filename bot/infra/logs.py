"""Logging for every Sadar process (gateway, action server, reminder worker, Telegram
poller, the ``sadar`` CLI): one format, SADAR_LOG_LEVEL for Sadar's own loggers, and the
redaction of NIKs and phone numbers in every record (bot/infra/log_redaction.py).

Libraries that log request payloads or SQL parameters at their debug/info level (Twilio's
client logs message bodies and numbers, httpx logs Telegram URLs with the bot token,
SQLAlchemy logs statements with their parameters once the root logger is at DEBUG) are
held at WARNING whatever SADAR_LOG_LEVEL says: their lines carry conversation content that
no pattern can redact reliably (names, addresses)."""

from __future__ import annotations

import logging

from bot.infra import log_redaction

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Loggers that never go below WARNING (see the module docstring).
QUIET_LIBRARIES = (
    "sqlalchemy",
    "httpx",
    "httpcore",
    "twilio",
    "telegram",
    "hpack",
    "urllib3",
    "multipart",
    "python_multipart",
    "aiosqlite",
)


def configure_logging(level: str | int) -> None:
    """Install the redaction first, then a handler on stderr when none is configured yet
    (uvicorn configures only its own loggers), and the levels."""
    log_redaction.install()
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for name in QUIET_LIBRARIES:
        library = logging.getLogger(name)
        if library.getEffectiveLevel() < logging.WARNING:
            library.setLevel(logging.WARNING)
