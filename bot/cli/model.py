"""`sadar model …`: The Rasa model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.infra.settings import get_settings

if TYPE_CHECKING:
    pass


model_app = typer.Typer(help="The Rasa model.", no_args_is_help=True)


@model_app.command("ensure")
def model_ensure() -> None:
    """Train the Rasa model if config.yml, domain.yml or nlu/ changed since the last training."""
    from bot.infra.rasa_model import ensure_model

    settings = get_settings()
    ensure_model(settings.rasa_venv / "bin" / "rasa", settings.rasa_model_dir)
