"""Recording consent decisions."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.db.models import ConsentRecord
from bot.domain.consent import ConsentDecision
from bot.infra.privacy import keyed_hash, mask_sender
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def record_consent(
    uow: UnitOfWork,
    pii_hash_key: str,
    sender_id: str,
    decision: ConsentDecision,
    now: datetime,
) -> int:
    """Store one decision made at ``now``; the sender id is kept only as a keyed hash.
    The record's id, for the registration it allows."""
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
    with uow:
        uow.session.add(record)
        uow.flush()
        record_id = record.id
        uow.commit()
    log.info(
        "consent %s recorded for %s (purpose=%s, method=%s)",
        "granted" if decision.granted else "declined",
        mask_sender(sender_id),
        decision.purpose.value,
        decision.method.value,
    )
    return record_id
