"""Writing a day's planned reminders in bulk: PostgreSQL's COPY into a staging table, then
one INSERT … ON CONFLICT DO NOTHING; SQLite (the single-machine default) a plain INSERT …
ON CONFLICT. The only place that talks to the database driver directly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from bot.db.models import Reminder
from bot.db.timestamps import as_utc
from bot.domain.reminders import ReminderState

PLAN_COLUMNS = ("participant_id", "period", "kind", "state", "reason", "scheduled_for")


def insert_ignoring_duplicates(
    session: Session, rows: list[dict[str, Any]]
) -> list[tuple[int, datetime]]:
    """Insert reminders; ones already there (same participant, period, kind) are left as
    they are. Returns (id, send moment) of the new *queued* ones. PostgreSQL gets COPY into
    a staging table: far faster than row-by-row INSERT … ON CONFLICT on million-row days."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        statement = sqlite.insert(Reminder).on_conflict_do_nothing(
            index_elements=["participant_id", "period", "kind"]
        )
        session.execute(statement, [{**row, "attempts": 0} for row in rows])
        keys = {
            (r["participant_id"], r["period"], r["kind"]) for r in rows if r["state"] == "queued"
        }
        if not keys:
            return []
        found = session.execute(
            select(
                Reminder.id,
                Reminder.scheduled_for,
                Reminder.participant_id,
                Reminder.period,
                Reminder.kind,
            )
            .where(Reminder.state == ReminderState.QUEUED.value)
            .where(Reminder.participant_id.in_({k[0] for k in keys}))
        ).all()
        return [
            (row.id, as_utc(row.scheduled_for))
            for row in found
            if (row.participant_id, row.period, row.kind) in keys
        ]
    columns = ", ".join(PLAN_COLUMNS)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]  # psycopg2's own connection: never None once connected
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS reminders_planned (participant_id integer, "
        "period date, kind varchar(24), state varchar(16), reason varchar(200), "
        "scheduled_for timestamptz, stamped_at timestamptz) ON COMMIT DELETE ROWS"
    )
    with cursor.copy(f"COPY reminders_planned ({columns}, stamped_at) FROM STDIN") as copy:
        for row in rows:
            stamp = row.get("updated_at")
            copy.write_row((*(row[column] for column in PLAN_COLUMNS), stamp))
    cursor.execute(
        f"INSERT INTO reminders ({columns}, attempts, created_at, updated_at) "
        f"SELECT {columns}, 0, COALESCE(stamped_at, now()), COALESCE(stamped_at, now()) "
        "FROM reminders_planned ON CONFLICT (participant_id, period, kind) DO NOTHING "
        "RETURNING id, scheduled_for, state"
    )
    return [(row[0], row[1]) for row in cursor.fetchall() if row[2] == "queued"]
