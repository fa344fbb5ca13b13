"""`sadar conversations …`: Rasa's conversation store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.app_context import get_app_context

if TYPE_CHECKING:
    from bot.services.conversations import Migrated


conversations_app = typer.Typer(
    help="Rasa's conversation store: retention and encryption.", no_args_is_help=True
)


def encrypt_old_conversations() -> Migrated:
    from bot.services.conversations import encrypt_existing, tracker_engine

    context = get_app_context()
    engine = tracker_engine(context.settings.tracker_store_url)
    try:
        return encrypt_existing(engine, context.cipher, context.hash_key)
    finally:
        engine.dispose()


@conversations_app.command("migrate")
def conversations_migrate() -> None:
    """Encrypt conversations stored before encryption (also done by `sadar db upgrade`)."""
    migrated = encrypt_old_conversations()
    typer.echo(f"encrypted {migrated.events} event(s) of {migrated.conversations} conversation(s)")


@conversations_app.command("purge")
def conversations_purge(
    days: int = typer.Option(
        None, help="keep conversations active in the last DAYS days (default: the setting)"
    ),
) -> None:
    """Delete conversations whose last message is older than the retention period (the
    reminder worker does this every day)."""
    from datetime import timedelta

    from bot.services.conversations import purge_older_than, tracker_engine
    from bot.services.handoff import purge_closed_before

    context = get_app_context()
    keep = days if days is not None else context.settings.conversation_retention_days
    engine = tracker_engine(context.settings.tracker_store_url)
    try:
        deleted = purge_older_than(engine, context.clock.now(), timedelta(days=keep))
    finally:
        engine.dispose()
    tickets = purge_closed_before(
        context.unit_of_work(), context.clock.now() - timedelta(days=keep)
    )
    typer.echo(
        f"deleted {deleted} conversation(s) and {tickets} closed ticket(s) older than {keep} days"
    )
