"""One-time codes per destination number: whoever asks (any participant, agent or web
chat) and for whatever purpose (linking WhatsApp, a number change, a walk-in's consent),
one number gets at most ``MAX_CODES_PER_NUMBER_PER_DAY`` codes in 24 hours. Without this,
one client registering twice could send a stranger twice the per-participant cap."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.db.engine import rows_changed
from bot.db.models import CodeSend
from bot.infra.privacy import keyed_hash

#: Enough for one person's typos, a lost message and a walk-in consent on the same day.
MAX_CODES_PER_NUMBER_PER_DAY = 5
WINDOW = timedelta(days=1)


def destination_hash(hash_key: str, number: str) -> str:
    """The number as the quota knows it: a keyed hash, domain-separated from the others."""
    return keyed_hash(hash_key, f"code-destination:{number}")


def take_code_slot(
    session: Session, hash_key: str, number: str, purpose: str, now: datetime
) -> bool:
    """Count one code to ``number`` in the caller's transaction; False (nothing counted)
    when the number had its day's codes already."""
    digest = destination_hash(hash_key, number)
    sent = session.scalar(
        select(func.count())
        .select_from(CodeSend)
        .where(CodeSend.destination_hash == digest)
        .where(CodeSend.sent_at > now - WINDOW)
    )
    if (sent or 0) >= MAX_CODES_PER_NUMBER_PER_DAY:
        return False
    session.add(CodeSend(destination_hash=digest, purpose=purpose[:20], sent_at=now))
    return True


def purge_code_sends(session: Session, now: datetime) -> int:
    """Forget sends older than the window: they no longer count."""
    result = session.execute(delete(CodeSend).where(CodeSend.sent_at <= now - WINDOW))
    return rows_changed(result)
