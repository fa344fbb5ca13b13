"""The last line of defence for logs: every log record a process creates has NIKs, phone
numbers and bot tokens redacted (bot/infra/redaction.py) in its message, its arguments,
its exception text and its stack, before any handler or formatter sees it.

Installed as the process's log *record factory* rather than as a filter on handlers: a
handler added later (Rasa's ``--log-file``, coloredlogs, uvicorn's dictConfig, a handler
someone configures in a deployment) is covered too, and nothing in Rasa, Sanic or uvicorn
replaces the factory. Standard library only, Python 3.10-compatible: the Rasa server
installs it when it loads nlu/rasa_runtime.py; Sadar's processes through bot/infra/logs.py."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot.infra.redaction import redact

_MARK = "_sadar_redacting"
_exceptions = logging.Formatter()


def _clean(value: Any) -> Any:
    """The value itself when its text holds nothing to redact, else its redacted text."""
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    try:
        text = str(value)
    except Exception:  # a broken __str__ must not break logging
        return "<unprintable>"
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact ``record`` in place. Arguments are redacted one by one when that is enough
    (formatters such as uvicorn's access log read them); otherwise the message is frozen
    to its redacted text."""
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit the message: keep neither as given
        record.msg, record.args = redact(str(record.msg)), None
    else:
        if redact(message) != message:
            _redact_message(record, message)
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact(_exceptions.formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _redact_message(record: logging.LogRecord, message: str) -> None:
    if isinstance(record.msg, str) and redact(record.msg) == record.msg and record.args:
        args = record.args
        if isinstance(args, Mapping):
            record.args = {key: _clean(value) for key, value in args.items()}
        else:
            record.args = tuple(_clean(value) for value in args)
        try:
            if redact(record.getMessage()) == record.getMessage():
                return
        except Exception:
            pass
    record.msg, record.args = redact(message), None


def install() -> None:
    """Idempotent: make every record this process creates from now on a redacted one."""
    current: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(current, _MARK, False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    setattr(redacting_factory, _MARK, True)
    logging.setLogRecordFactory(redacting_factory)


def installed() -> bool:
    return bool(getattr(logging.getLogRecordFactory(), _MARK, False))
