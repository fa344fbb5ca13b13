"""Recording consent decisions."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import ConsentRecord
from bot.domain.consent import ConsentDecision
from bot.privacy import keyed_hash, mask_sender

log = logging.getLogger(__name__)


def record_consent(
    sessions: sessionmaker[Session],
    pii_hash_key: str,
    sender_id: str,
    decision: ConsentDecision,
    now: datetime,
) -> ConsentRecord:
    """Store one decision made at ``now``; the sender id is kept only as a keyed hash."""
    record = ConsentRecord(
        sender_hash=keyed_hash(pii_hash_key, sender_id),
        channel=decision.channel.value,
        purpose=decision.purpose.value,
        granted=decision.granted,
        wording=decision.wording,
        wording_sha256=decision.wording_sha256,
        method=decision.method.value,
        agent_id=decision.agent_id,
        created_at=now,
    )
    with sessions.begin() as session:
        session.add(record)
    log.info(
        "consent %s recorded for %s (purpose=%s, method=%s)",
        "granted" if decision.granted else "declined",
        mask_sender(sender_id),
        decision.purpose.value,
        decision.method.value,
    )
    return record
