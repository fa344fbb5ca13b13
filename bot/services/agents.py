"""Perisai agents: enrolled by an administrator (`sadar agents add`), never by chat, and
recognised only by the channel identities they were enrolled with."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from bot.db.models import Agent, AuditEvent, Participant, Payment, Submission
from bot.domain.clock import start_of_day
from bot.domain.payments import load_calendar, standing
from bot.domain.senders import Channel, make_sender_id
from bot.domain.submissions import (
    CONTRIBUTING_STATES,
    SubmissionState,
    owes_contributions,
)
from bot.domain.villages import area_key
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import keyed_hash, mask_digits, mask_name
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class AgentProblem(ValueError):
    """The enrolment cannot be done as asked; the message says why."""


def agent_address(agent: Agent, cipher: PiiCipher) -> str:
    """Where Sadar writes to an agent: Telegram when they were enrolled with it (the channel
    they use in chat), else their WhatsApp number."""
    if agent.telegram_sender_encrypted:
        return cipher.decrypt(agent.telegram_sender_encrypted)
    return make_sender_id(Channel.WHATSAPP, cipher.decrypt(agent.phone_encrypted))


@dataclass(frozen=True)
class AgentRef:
    """The enrolled, active agent behind a conversation: what their requests are scoped by."""

    id: int
    name: str
    village: str
    district: str
    regency: str

    @property
    def actor(self) -> str:
        """How the audit trail and payments name this agent."""
        return f"agent:{self.id}"


def agent_ref(agent: Agent) -> AgentRef:
    return AgentRef(agent.id, agent.name, agent.village, agent.district, agent.regency)


@dataclass(frozen=True)
class AgentView:
    id: int
    name: str
    phone: str
    village: str
    district: str
    regency: str
    active: bool
    telegram: bool


def enrol_agent(
    uow: UnitOfWork,
    cipher: PiiCipher,
    hash_key: str,
    *,
    name: str,
    phone: str,
    village: str,
    district: str,
    regency: str,
    telegram_user_id: int | None = None,
) -> int:
    """Enrol an agent reachable on WhatsApp at ``phone`` (E.164) and, if given, on Telegram
    as ``telegram_user_id`` (the private chat id equals the user id)."""
    if not phone.startswith("+62") or not phone[1:].isdigit():
        raise AgentProblem(f"phone must be +62… digits, got {mask_digits(phone)}")
    agent = Agent(
        name=" ".join(name.split()),
        phone_encrypted=cipher.encrypt(phone),
        whatsapp_sender_hash=keyed_hash(hash_key, make_sender_id(Channel.WHATSAPP, phone)),
        telegram_sender_hash=(
            keyed_hash(hash_key, make_sender_id(Channel.TELEGRAM, str(telegram_user_id)))
            if telegram_user_id is not None
            else None
        ),
        telegram_sender_encrypted=(
            cipher.encrypt(make_sender_id(Channel.TELEGRAM, str(telegram_user_id)))
            if telegram_user_id is not None
            else None
        ),
        village=village,
        district=district,
        regency=regency,
        active=True,
    )
    try:
        with uow:
            uow.session.add(agent)
            uow.flush()
            agent_id = agent.id
            uow.commit()
    except IntegrityError as error:
        raise AgentProblem("an agent with this phone or Telegram id is already enrolled") from error
    log.info("agent %d enrolled for %s (%s)", agent_id, village, mask_digits(phone))
    return agent_id


def agent_for_sender(uow: UnitOfWork, hash_key: str, sender_id: str) -> AgentRef | None:
    """The active agent this conversation belongs to, or None: the only way to agent powers."""
    digest = keyed_hash(hash_key, sender_id)
    with uow:
        agent = uow.session.scalar(
            select(Agent)
            .where(or_(Agent.whatsapp_sender_hash == digest, Agent.telegram_sender_hash == digest))
            .where(Agent.active.is_(True))
        )
        if agent is None:
            return None
        return agent_ref(agent)


def is_agent_number(uow: UnitOfWork, hash_key: str, phone: str) -> bool:
    """Whether ``phone`` (E.164) is the WhatsApp number of an enrolled agent, active or
    suspended: such a number is never a walk-in resident's (their code, reminders and
    "cek status" would go to the agent)."""
    digest = keyed_hash(hash_key, make_sender_id(Channel.WHATSAPP, phone))
    with uow:
        found = uow.session.scalar(select(Agent.id).where(Agent.whatsapp_sender_hash == digest))
    return found is not None


def suspend_agent(uow: UnitOfWork, agent_id: int, now: datetime) -> None:
    with uow:
        agent = uow.session.get(Agent, agent_id)
        if agent is None:
            raise AgentProblem(f"no agent with id {agent_id}")
        agent.active = False
        agent.suspended_at = now
        uow.commit()


def list_agents(uow: UnitOfWork, cipher: PiiCipher) -> list[AgentView]:
    with uow:
        agents = uow.session.scalars(select(Agent).order_by(Agent.id)).all()
        return [
            AgentView(
                id=a.id,
                name=a.name,
                phone=mask_digits(cipher.decrypt(a.phone_encrypted), 5, 2),
                village=a.village,
                district=a.district,
                regency=a.regency,
                active=a.active,
                telegram=a.telegram_sender_hash is not None,
            )
            for a in agents
        ]


@dataclass(frozen=True)
class ResidentLine:
    name: str
    reference: str
    status: str
    months_owed: int
    amount_owed: int
    #: Where the hand-over to BPJS Ketenagakerjaan stands (bot.domain.submissions), and the
    #: reason code of a rejection; None for lines of accepted participants only.
    handover: SubmissionState | None = None
    reason: str | None = None


def _lines(participants: list[Participant], cipher: PiiCipher, today: date) -> list[ResidentLine]:
    calendar = load_calendar()
    lines = []
    for p in participants:
        now = standing(p.first_period, p.paid_through, today, calendar)
        lines.append(
            ResidentLine(
                name=mask_name(cipher.decrypt(p.full_name_encrypted)),
                reference=p.reference,
                status=now.status.value,
                months_owed=now.months_owed,
                amount_owed=now.months_owed * p.monthly_contribution,
            )
        )
    return lines


def audit_agent(
    uow: UnitOfWork, agent: AgentRef, action: str, now: datetime, fields: str = ""
) -> None:
    """Every agent request is in the audit trail, whether or not it changed anything.
    ``fields``: a reference (a participant's, a ticket's), never personal data."""
    with uow:
        uow.session.add(
            AuditEvent(
                participant_id=None, actor=agent.actor, action=action, fields=fields, created_at=now
            )
        )
        uow.commit()


def residents_registered_by(
    uow: UnitOfWork, cipher: PiiCipher, agent: AgentRef, today: date
) -> list[ResidentLine]:
    """The agent's walk-ins, each with where its hand-over stands: an agent fixes a
    rejection with the resident."""
    with uow:
        rows = uow.session.execute(
            select(Participant, Submission.state, Submission.reason_code)
            .outerjoin(Submission, Submission.participant_id == Participant.id)
            .where(Participant.registered_by_agent_id == agent.id)
            .order_by(Participant.id)
        ).all()
    lines = _lines([participant for participant, _, _ in rows], cipher, today)
    return [
        replace(line, handover=SubmissionState(state) if state else None, reason=reason)
        for line, (_, state, reason) in zip(lines, rows, strict=True)
    ]


def arrears_in_village(
    uow: UnitOfWork, cipher: PiiCipher, agent: AgentRef, today: date
) -> list[ResidentLine]:
    """Participants of the agent's own village who owe at least one month, most owed first;
    a registration BPJS Ketenagakerjaan does not know yet owes nothing."""
    with uow:
        participants = [
            p
            for p, state, reason in uow.session.execute(
                select(Participant, Submission.state, Submission.reason_code)
                .join(Submission, Submission.participant_id == Participant.id)
                .where(Submission.state.in_(CONTRIBUTING_STATES))
                .order_by(Participant.id)
            )
            if area_key(p) == area_key(agent) and owes_contributions(state, reason)
        ]
    owing = [line for line in _lines(participants, cipher, today) if line.months_owed > 0]
    return sorted(owing, key=lambda line: (-line.months_owed, line.name))


@dataclass(frozen=True)
class MonthSummary:
    registered: int
    payments: int
    amount: int


def month_summary(uow: UnitOfWork, agent: AgentRef, today: date) -> MonthSummary:
    start = start_of_day(today.replace(day=1))  # the 1st, 00:00 WIB
    with uow:
        session = uow.session
        registered = session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(Participant.registered_by_agent_id == agent.id)
            .where(Participant.created_at >= start)
        )
        payments, amount = session.execute(
            select(func.count(), func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.recorded_by == agent.actor)
            .where(Payment.created_at >= start)
        ).one()
    return MonthSummary(int(registered or 0), int(payments), int(amount))


def in_agents_village(agent: AgentRef, participant: Participant) -> bool:
    """An agent acts for the residents of their own village, and those they registered."""
    return (
        area_key(participant) == area_key(agent) or participant.registered_by_agent_id == agent.id
    )


def participants_in_scope(
    uow: UnitOfWork, agent: AgentRef, references: list[str]
) -> dict[str, int]:
    """The references that exist *and* belong to the agent's village (or that the agent
    registered): reference -> participant id. Others are left out alike, so an agent
    learns nothing about residents elsewhere."""
    with uow:
        found = uow.session.scalars(
            select(Participant).where(Participant.reference.in_(references))
        ).all()
        return {p.reference: p.id for p in found if in_agents_village(agent, p)}


def residents_paid_for_today(uow: UnitOfWork, agent: AgentRef, today: date) -> int:
    """Distinct residents this agent recorded cash for since 00:00 WIB."""
    with uow:
        return int(
            uow.session.scalar(
                select(func.count(func.distinct(Payment.participant_id)))
                .where(Payment.recorded_by == agent.actor)
                .where(Payment.created_at >= start_of_day(today))
            )
            or 0
        )


def participant_name(uow: UnitOfWork, cipher: PiiCipher, participant_id: int) -> str:
    with uow:
        encrypted = uow.session.scalar(
            select(Participant.full_name_encrypted).where(Participant.id == participant_id)
        )
    return mask_name(cipher.decrypt(encrypted)) if encrypted else "-"
