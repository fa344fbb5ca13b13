"""Issue 25, points 1 and 3: no NIK or phone number in a log line, whatever carries it (the
message, its arguments, an exception's text), and masks that hide what they claim to."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.infra import log_redaction
from bot.infra.privacy import mask_digits, mask_sender
from bot.infra.redaction import NIK_PLACEHOLDER, PHONE_PLACEHOLDER, redact

NIK = "3523031708800001"
PHONE = "081234567000"


@pytest.mark.parametrize(
    "text",
    [
        f"NIK saya {NIK} ya",
        "nik 3523 0317 0880 0001.",
        "3523.0317.0880.0001",
        "35.23.03.170880.0001",
        "3523-0317-0880-0001",
        f"nik:{NIK},nama",
        f"({NIK})",
    ],
)
def test_a_nik_in_any_spelling_is_redacted(text: str) -> None:
    redacted = redact(text)
    assert NIK_PLACEHOLDER in redacted
    assert "0001" not in redacted and "170880" not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "081234567000",
        "0812-3456-7000",
        "0812 3456 7000",
        "0812.3456.7000",
        "6281234567000",
        "+6281234567000",
        "+62 812-3456-7000",
        "wa:+6281234567000",
        "whatsapp:+6281234567000 said hi",
        "08123456789",  # 11 digits
        "0812345678901",  # 13 digits
    ],
)
def test_an_indonesian_mobile_number_in_any_spelling_is_redacted(text: str) -> None:
    redacted = redact(text)
    assert PHONE_PLACEHOLDER in redacted
    assert "4567" not in redacted and "3456" not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "iuran Rp16.800 per bulan",
        "Rp 1.500.000",
        "lahir 17-08-1980",
        "2026-12-04 15:10:27,123 INFO bot.processes.worker: batch of 12 reminder(s): 12 sent",
        "ticket T-1234, agent 17, reference SDR-2026-000123",
        "123456789012345",  # 15 digits: not a NIK
        "0812345",  # too short to be a phone number
        "sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "POST /api/chat HTTP/1.1 200",
        "Sleeping for 0.9279876543210987",  # decimals (huey's debug line)
        "took 0.8123456789 s",
        "p=0.0812345678",
        "1234567.890123456",
    ],
)
def test_amounts_dates_and_short_numbers_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_redaction_is_idempotent_and_leaves_the_words_around() -> None:
    text = f"nama Sutini, NIK {NIK}, HP {PHONE}, iuran Rp16.800"
    once = redact(text)
    assert once == f"nama Sutini, NIK {NIK_PLACEHOLDER}, HP {PHONE_PLACEHOLDER}, iuran Rp16.800"
    assert redact(once) == once


def test_a_telegram_bot_token_in_a_url_is_redacted() -> None:
    url = "https://api.telegram.org/bot123456:AAH-secret_Token/sendMessage"
    assert redact(url) == "https://api.telegram.org/bot[TOKEN]/sendMessage"


# --- the record factory: every record of the process, whatever the handler -------------


@pytest.fixture
def redacting() -> Iterator[logging.Logger]:
    """The redaction installed for one test; the process's factory restored after."""
    before = logging.getLogRecordFactory()
    log_redaction.install()
    log_redaction.install()  # idempotent: one layer only
    logger = logging.getLogger("tests.redaction")
    logger.setLevel(logging.DEBUG)
    try:
        yield logger
    finally:
        logging.setLogRecordFactory(before)


def _file_handler(logger: logging.Logger, path: Path) -> logging.FileHandler:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    return handler


def test_a_handler_added_after_installation_gets_redacted_records(
    redacting: logging.Logger, tmp_path: Path
) -> None:
    handler = _file_handler(redacting, tmp_path / "out.log")
    try:
        redacting.debug("registered %s from %s", NIK, "wa:+6281234567000")
        redacting.info("formatted in the message itself: NIK " + NIK)
        redacting.info("mapping %(nik)s", {"nik": NIK})
        redacting.info("not the right number of arguments %s %s", NIK)
        try:
            raise ValueError(f"NIK {NIK} does not match birth date, phone 0812 3456 7000")
        except ValueError:
            redacting.exception("validation failed")
        redacting.info("with a stack", stack_info=True, extra={"x": NIK})
    finally:
        redacting.removeHandler(handler)
        handler.close()
    written = (tmp_path / "out.log").read_text()
    assert NIK not in written and "3456" not in written and "0880" not in written
    assert "ValueError: NIK [NIK] does not match birth date, phone [PHONE]" in written
    assert "registered [NIK] from wa:[PHONE]" in written
    assert "mapping [NIK]" in written


def test_clean_arguments_keep_their_types_for_formatters_that_read_them(
    redacting: logging.Logger,
) -> None:
    """uvicorn's access formatter unpacks the arguments and reads the status as an int."""
    record = redacting.makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/x?phone=081234567000", "1.1", 200),
        None,
    )
    record = logging.getLogRecordFactory()(
        record.name, record.levelno, record.pathname, record.lineno, record.msg, record.args, None
    )
    assert isinstance(record.args, tuple)
    assert record.args[4] == 200 and record.args[0] == "127.0.0.1:5000"
    assert record.args[2] == "/x?phone=[PHONE]"


def test_records_without_personal_data_are_untouched(redacting: logging.Logger) -> None:
    factory = logging.getLogRecordFactory()
    record = factory("x", logging.INFO, __file__, 1, "batch of %d: %s", (3, "ok"), None)
    assert record.msg == "batch of %d: %s" and record.args == (3, "ok")


# --- masks ----------------------------------------------------------------------------


def test_mask_digits_at_its_edges() -> None:
    assert mask_digits(NIK, 6, 0) == "352303**********"
    assert NIK not in mask_digits(NIK, 6, 0)
    assert mask_digits(NIK, 0, 0) == "*" * 16
    assert mask_digits(NIK, 0, 2) == "*" * 14 + "01"
    assert mask_digits("1234", 2, 2) == "****"  # nothing of a short value shown
    assert mask_digits("12", 4, 2) == "**"
    assert mask_digits("", 4, 2) == ""
    assert mask_digits(None) == "-"
    assert mask_digits("081234567890", -1, -3) == "************"


def test_mask_sender_keeps_little_of_a_chat_id_or_a_number() -> None:
    assert mask_sender("wa:+6281234567000") == "wa:+628********00"
    assert mask_sender("tg:1234567890") == "tg:********90"
    assert mask_sender("1234567890") == "********90"


# --- the Rasa server (Python 3.10, .venv-rasa) ------------------------------------------

RASA_LOGGING_PROBE = """
import logging, sys
import nlu.tracker_store  # what endpoints.yml makes Rasa load: installs nlu/rasa_runtime.py
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.io import configure_colored_logging
from rasa.core.utils import configure_file_logging

# What `rasa run --log-file` does, after the store was loaded: new handlers, new levels.
configure_logging_and_warnings(logging.INFO)
configure_colored_logging("INFO")
configure_file_logging(logging.getLogger(), sys.argv[1], use_syslog=False)
log = logging.getLogger("rasa.core.processor")
try:
    raise ValueError("500, body='nik: %s, phone: %s'" % (sys.argv[2], sys.argv[3]))
except ValueError:
    log.exception("Encountered an exception while running action 'x'. NIK %s", sys.argv[2])
"""


def test_the_rasa_server_s_log_is_redacted_whatever_handlers_rasa_adds(tmp_path: Path) -> None:
    from tests.support.rasa_python import run_with_rasa_python

    log_file = tmp_path / "rasa.log"
    result = run_with_rasa_python("-c", RASA_LOGGING_PROBE, str(log_file), NIK, "+6281234567000")
    assert result.returncode == 0, result.stderr[-2000:]
    for written in (log_file.read_text(), result.stderr):
        assert "Encountered an exception" in written and "ValueError" in written
        assert NIK not in written and "81234567000" not in written
        assert NIK_PLACEHOLDER in written and PHONE_PLACEHOLDER in written


@pytest.mark.parametrize(
    ("sadar_level", "rasa_level"),
    [("DEBUG", "INFO"), ("INFO", "INFO"), ("warning", "WARNING"), ("ERROR", "ERROR")],
)
def test_the_rasa_server_never_logs_below_info(sadar_level: str, rasa_level: str) -> None:
    """At DEBUG Rasa logs each message as typed and every slot (names): no pattern helps."""
    from bot.infra.settings import Settings
    from bot.processes.devserver import rasa_environment

    settings = Settings(_env_file=None, log_level=sadar_level)
    assert rasa_environment(settings)["LOG_LEVEL"] == rasa_level
