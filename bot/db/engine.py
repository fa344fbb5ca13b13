"""Engine and session factories. Nothing here connects at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.infra.privacy import owner_only


def make_engine(database_url: str, *, echo: bool = False) -> Engine:
    """Build an engine for ``database_url``; SQLite gets WAL and enforced foreign keys."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            owner_only(Path(url.database))  # personal data: nobody else on the machine
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            if url.database and url.database != ":memory:":
                owner_only(Path(url.database))  # the WAL and SHM files appear on connect

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def rows_changed(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched: SQLAlchemy types ``Session.execute`` as a plain
    ``Result``, while DML statements return a ``CursorResult`` that counts them."""
    return cast(CursorResult[Any], result).rowcount
