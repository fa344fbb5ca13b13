"""What the command groups share: logging, dates typed on the command line, progress."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import typer

from bot.app_context import get_app_context
from bot.infra.settings import get_settings

if TYPE_CHECKING:
    pass


def configure_logging() -> None:
    """Redacted logs at SADAR_LOG_LEVEL (bot/infra/logs.py)."""
    from bot.infra.logs import configure_logging as configure

    configure(get_settings().log_level)


def parse_day(value: str | None) -> date:
    if value is None:
        return get_app_context().clock.today()
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-12-12") from error


def progress_bar(label: str, total: int | None = None) -> tuple[Any, Any]:
    """A rich progress bar on stderr counting items (out of ``total`` when known), and the
    callback that advances it."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task(label, total=total)
    return bar, lambda count: bar.advance(task, count)
