"""Perisai agents: enrolled by an administrator (`sadar agents add`), never by chat, and
recognised only by the channel identities they were enrolled with."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.crypto import PiiCipher
from bot.db.models import Agent
from bot.domain.senders import Channel, make_sender_id
from bot.privacy import keyed_hash, mask_digits

log = logging.getLogger(__name__)


class AgentProblem(ValueError):
    """The enrolment cannot be done as asked; the message says why."""


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
    sessions: sessionmaker[Session],
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
        village=village,
        district=district,
        regency=regency,
        active=True,
    )
    try:
        with sessions.begin() as session:
            session.add(agent)
    except IntegrityError as error:
        raise AgentProblem("an agent with this phone or Telegram id is already enrolled") from error
    log.info("agent %d enrolled for %s (%s)", agent.id, village, mask_digits(phone))
    return agent.id


def agent_for_sender(
    sessions: sessionmaker[Session], hash_key: str, sender_id: str
) -> Agent | None:
    """The active agent this conversation belongs to, or None: the only way to agent powers."""
    digest = keyed_hash(hash_key, sender_id)
    with sessions() as session:
        return session.scalar(
            select(Agent)
            .where(or_(Agent.whatsapp_sender_hash == digest, Agent.telegram_sender_hash == digest))
            .where(Agent.active.is_(True))
        )


def suspend_agent(sessions: sessionmaker[Session], agent_id: int) -> None:
    with sessions.begin() as session:
        agent = session.get(Agent, agent_id)
        if agent is None:
            raise AgentProblem(f"no agent with id {agent_id}")
        agent.active = False
        agent.suspended_at = datetime.now(UTC)


def list_agents(sessions: sessionmaker[Session], cipher: PiiCipher) -> list[AgentView]:
    with sessions() as session:
        agents = session.scalars(select(Agent).order_by(Agent.id)).all()
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
