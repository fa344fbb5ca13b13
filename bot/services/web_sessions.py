"""The web chat's issued conversation ids, in the application database: they outlive a
gateway restart and are shared by every gateway, with or without Redis. Only a keyed hash
of an id is stored. A news poll reads; only the resident's messages write (at most once a
``TOUCH_EVERY``), so the page polling every few seconds costs no write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from bot.db.models import WebSession
from bot.db.timestamps import as_utc
from bot.infra.privacy import keyed_hash
from bot.services.unit_of_work import UnitOfWork

#: Activity is recorded at this granularity: an id may idle out up to this much early.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class WebSessionBook:
    units: Callable[[], UnitOfWork]
    hash_key: str
    idle: timedelta

    def _hash(self, local_id: str) -> str:
        return keyed_hash(self.hash_key, f"web-session:{local_id}")

    def open(self, local_id: str, now: datetime) -> None:
        """Record a new id; ids idle past ``idle`` are forgotten on the way."""
        with self.units() as uow:
            uow.session.execute(
                delete(WebSession).where(WebSession.last_active_at <= now - self.idle)
            )
            uow.session.add(WebSession(session_hash=self._hash(local_id), last_active_at=now))
            uow.commit()

    def admit(self, local_id: str, now: datetime, *, touch: bool) -> bool:
        """Whether the id is live (issued, not ended, not idle); ``touch``: the resident
        wrote, which keeps it alive."""
        with self.units() as uow:
            row = uow.session.scalar(
                select(WebSession).where(WebSession.session_hash == self._hash(local_id))
            )
            if row is None:
                return False
            last = as_utc(row.last_active_at)
            if now - last >= self.idle:
                return False
            if touch and now - last >= TOUCH_EVERY:
                row.last_active_at = now
                uow.commit()
            return True

    def end(self, local_id: str) -> None:
        """ "keluar": the id stops working at once."""
        with self.units() as uow:
            uow.session.execute(
                delete(WebSession).where(WebSession.session_hash == self._hash(local_id))
            )
            uow.commit()
