"""A NIK registered by someone else ("sengketa NIK …", issue 25 point 3).

The KTP's owner is at an agent's desk. Releasing the old registration erases another
person's data, so it takes three things: the agent's explicit yes to the question that
names the registration; the registration being of the agent's own village (or one they
registered), else an administrator's approval (`sadar agents disputes approve`); and the
people concerned being told: the registration's holder on the address reminders use
(bot.domain.addresses.reminder_route) and the village's other agents. Every step is in the
audit trail with the registration's reference, never the NIK (only its keyed hash is kept
while the dispute waits)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update

from bot import messages
from bot.db.models import Agent, AuditEvent, Dispute, Participant
from bot.db.timestamps import as_utc
from bot.domain.villages import area_key
from bot.infra.crypto import PiiCipher
from bot.services.addresses.reachability import reachable_addresses
from bot.services.agents import AgentRef, agent_address, in_agents_village
from bot.services.channel_log import ChannelLog
from bot.services.courier import Courier
from bot.services.participants import nik_lookup_hash
from bot.services.resident_notices import send_in_window
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

#: The agent's yes must follow the question; an older question has lapsed.
CONFIRM_WITHIN = timedelta(minutes=10)


class DisputeState(StrEnum):
    CONFIRMING = "confirming"
    AWAITING_ADMIN = "awaiting_admin"
    RELEASED = "released"
    CANCELLED = "cancelled"
    REFUSED = "refused"


class DisputeResult(StrEnum):
    #: The registration exists: the agent is asked to confirm.
    CONFIRM = "confirm"
    NOTHING = "nothing"
    OUTSIDE = "outside"
    RELEASED = "released"
    AWAITING_ADMIN = "awaiting_admin"
    CANCELLED = "cancelled"
    #: A yes with no question waiting (lapsed, or already decided).
    EXPIRED = "expired"
    #: An administrator refused it.
    REFUSED = "refused"


@dataclass(frozen=True)
class ReleaseNotice:
    """Who hears of a release: the holder's reachable addresses in reminder order (the
    first one that takes the message is enough), and the village's agents."""

    reference: str
    village: str
    resident_addresses: tuple[str, ...]
    agent_addresses: tuple[str, ...]


@dataclass(frozen=True)
class DisputeOutcome:
    result: DisputeResult
    reference: str | None = None
    dispute_id: int | None = None
    notice: ReleaseNotice | None = None
    #: The requesting agent's chat (an administrator's decision is told to them).
    requester_address: str | None = None


@dataclass(frozen=True)
class PendingDispute:
    """A dispute waiting for an administrator (no personal data)."""

    id: int
    reference: str
    agent_id: int
    agent_name: str
    agent_village: str
    created_at: datetime


def _audit(uow: UnitOfWork, actor: str, action: str, reference: str, now: datetime) -> None:
    uow.session.add(
        AuditEvent(
            participant_id=None, actor=actor, action=action, fields=reference, created_at=now
        )
    )


def request_dispute(
    uow: UnitOfWork,
    hash_key: str,
    agent: AgentRef,
    nik: str,
    village_regency_code: str | None,
    now: datetime,
) -> DisputeOutcome:
    """The agent's "sengketa NIK …": nothing changes yet. For a KTP of the agent's own
    regency (a NIK's first four digits, when known) that is registered, the dispute waits
    for the agent's yes; an earlier unanswered question of this agent lapses."""
    if village_regency_code and not nik.startswith(village_regency_code):
        with uow:
            _audit(uow, agent.actor, "dispute_refused_outside", "", now)
            uow.commit()
        return DisputeOutcome(DisputeResult.OUTSIDE)
    nik_hash = nik_lookup_hash(hash_key, nik)
    with uow:
        session = uow.session
        participant = session.scalar(select(Participant).where(Participant.nik_hash == nik_hash))
        if participant is None:
            _audit(uow, agent.actor, "dispute_nothing_found", "", now)
            uow.commit()
            return DisputeOutcome(DisputeResult.NOTHING)
        session.execute(
            update(Dispute)
            .where(Dispute.agent_id == agent.id)
            .where(Dispute.state == DisputeState.CONFIRMING.value)
            .values(state=DisputeState.CANCELLED.value, decided_at=now)
        )
        dispute = Dispute(
            agent_id=agent.id,
            participant_id=participant.id,
            nik_hash=nik_hash,
            reference=participant.reference,
            state=DisputeState.CONFIRMING.value,
            created_at=now,
        )
        session.add(dispute)
        _audit(uow, agent.actor, "dispute_requested", participant.reference, now)
        uow.flush()
        outcome = DisputeOutcome(DisputeResult.CONFIRM, participant.reference, dispute.id)
        uow.commit()
    return outcome


def decide_dispute(
    uow: UnitOfWork, cipher: PiiCipher, agent: AgentRef, confirmed: bool, now: datetime
) -> DisputeOutcome:
    """The agent's answer to the question: yes releases a registration of their village
    (or one they registered) at once and says whom to tell; for any other it waits for an
    administrator. Anything but yes cancels."""
    with uow:
        session = uow.session
        dispute = session.scalars(
            select(Dispute)
            .where(Dispute.agent_id == agent.id)
            .where(Dispute.state == DisputeState.CONFIRMING.value)
            .order_by(Dispute.id.desc())
            .with_for_update()
        ).first()
        if dispute is None or as_utc(dispute.created_at) < now - CONFIRM_WITHIN:
            return DisputeOutcome(DisputeResult.EXPIRED)
        reference = dispute.reference
        if not confirmed:
            dispute.state, dispute.decided_at = DisputeState.CANCELLED.value, now
            _audit(uow, agent.actor, "dispute_cancelled", reference, now)
            uow.commit()
            return DisputeOutcome(DisputeResult.CANCELLED, reference, dispute.id)
        participant = _still_there(uow, dispute)
        if participant is None:
            dispute.state, dispute.decided_at = DisputeState.CANCELLED.value, now
            _audit(uow, agent.actor, "dispute_cancelled", reference, now)
            uow.commit()
            return DisputeOutcome(DisputeResult.NOTHING, reference, dispute.id)
        _audit(uow, agent.actor, "dispute_confirmed", reference, now)
        if not in_agents_village(agent, participant):
            dispute.state = DisputeState.AWAITING_ADMIN.value
            _audit(uow, agent.actor, "dispute_awaiting_admin", reference, now)
            uow.commit()
            log.warning("agent %d asks to release %s of another village", agent.id, reference)
            return DisputeOutcome(DisputeResult.AWAITING_ADMIN, reference, dispute.id)
        notice = _release(uow, cipher, dispute, participant, now)
        uow.commit()
    log.warning("agent %d released disputed registration %s", agent.id, reference)
    return DisputeOutcome(DisputeResult.RELEASED, reference, dispute.id, notice)


def pending_disputes(uow: UnitOfWork) -> list[PendingDispute]:
    """Disputes waiting for an administrator, oldest first."""
    with uow:
        rows = uow.session.execute(
            select(Dispute, Agent)
            .join(Agent, Agent.id == Dispute.agent_id)
            .where(Dispute.state == DisputeState.AWAITING_ADMIN.value)
            .order_by(Dispute.id)
        ).all()
        return [
            PendingDispute(d.id, d.reference, a.id, a.name, a.village, as_utc(d.created_at))
            for d, a in rows
        ]


def approve_dispute(
    uow: UnitOfWork, cipher: PiiCipher, dispute_id: int, approve: bool, now: datetime
) -> DisputeOutcome:
    """An administrator's decision on a dispute outside the agent's village."""
    with uow:
        session = uow.session
        dispute = session.get(Dispute, dispute_id, with_for_update=True)
        if dispute is None or dispute.state != DisputeState.AWAITING_ADMIN.value:
            return DisputeOutcome(DisputeResult.EXPIRED)
        requester = session.get(Agent, dispute.agent_id)
        requester_address = agent_address(requester, cipher) if requester else None
        reference = dispute.reference
        participant = _still_there(uow, dispute) if approve else None
        if participant is None:
            dispute.state, dispute.decided_at = DisputeState.REFUSED.value, now
            _audit(uow, "admin", "dispute_refused_by_admin", reference, now)
            uow.commit()
            result = DisputeResult.REFUSED if approve is False else DisputeResult.NOTHING
            return DisputeOutcome(result, reference, dispute_id, None, requester_address)
        _audit(uow, "admin", f"dispute_approved_for_agent:{dispute.agent_id}", reference, now)
        notice = _release(uow, cipher, dispute, participant, now)
        uow.commit()
    log.warning("an administrator released disputed registration %s", reference)
    return DisputeOutcome(DisputeResult.RELEASED, reference, dispute_id, notice, requester_address)


def _still_there(uow: UnitOfWork, dispute: Dispute) -> Participant | None:
    """The disputed registration, if it is still the one with that NIK."""
    if dispute.participant_id is None:
        return None
    participant = uow.session.get(Participant, dispute.participant_id, with_for_update=True)
    if participant is None or participant.nik_hash != dispute.nik_hash:
        return None
    return participant


def _release(
    uow: UnitOfWork,
    cipher: PiiCipher,
    dispute: Dispute,
    participant: Participant,
    now: datetime,
) -> ReleaseNotice:
    """Erase the registration (an anonymous audit event with its reference stays, the
    requesting agent as actor) and say whom to tell: read before the participant and their
    addresses go."""
    session = uow.session
    residents = reachable_addresses(session, cipher, participant.id)
    home = area_key(participant)
    agents = tuple(
        agent_address(agent, cipher)
        for agent in session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.id))
        if area_key(agent) == home and agent.id != dispute.agent_id
    )
    notice = ReleaseNotice(participant.reference, participant.village, residents, agents)
    session.add(
        AuditEvent(
            participant_id=None,
            actor=f"agent:{dispute.agent_id}",
            action="registration_disputed",
            fields=participant.reference,
            created_at=now,
        )
    )
    dispute.state, dispute.decided_at, dispute.participant_id = (
        DisputeState.RELEASED.value,
        now,
        None,
    )
    session.delete(participant)
    return notice


async def tell_release(
    courier: Courier,
    channel_log: ChannelLog,
    notice: ReleaseNotice,
    now: datetime,
) -> tuple[bool, int]:
    """The holder hears on the first address that takes the message (in reminder order;
    WhatsApp only inside its 24-hour window), and each village agent on their chat.
    Returns whether the holder was reached, and how many agents were."""
    fill = {"reference": notice.reference, "village": notice.village}
    to_resident = messages.DISPUTE_RELEASED_FOR_RESIDENT.format(**fill)
    to_agents = messages.DISPUTE_RELEASED_FOR_AGENT.format(**fill)
    resident_told = False
    for address in notice.resident_addresses:
        if await send_in_window(courier, channel_log, address, to_resident, now, "dispute_notice"):
            resident_told = True
            break
    if not resident_told:
        log.warning("the holder of disputed %s could not be told", notice.reference)
    agents_told = 0
    for address in notice.agent_addresses:
        agents_told += await send_in_window(
            courier, channel_log, address, to_agents, now, "dispute_notice"
        )
    return resident_told, agents_told
