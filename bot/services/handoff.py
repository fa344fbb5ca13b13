"""A resident talks to a person (issue 18): the village's Perisai agent, in the same chat.

A ticket is opened when the resident asks for a person (or the bot offers one and they
accept). It is routed to an active agent of the resident's village (from their
registration), else to the active agent with the fewest open tickets, else to nobody: the
administrators see it on /admin. While it is open the resident's messages go to the agent
instead of Rasa, in order; the agent answers with "balas T-1042 …" from their own chat.
Only the assigned agent can answer. A ticket closes when the resident types "selesai",
when nobody answers within ``HandoffPolicy.answer_within`` (the resident gets an apology
and the office hours), or after ``close_after_idle`` without a message. Every message is
stored encrypted and purged with conversations."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, or_, select

from bot.crypto import PiiCipher
from bot.db.models import Agent, Ticket, TicketMessage
from bot.domain.senders import Channel, channel_of, make_sender_id
from bot.domain.villages import name_key
from bot.privacy import keyed_hash, mask_digits, mask_name
from bot.services.agents import AgentRef
from bot.services.channel_log import as_utc
from bot.services.participants import participants_of_sender
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

FIRST_TICKET_NUMBER = 1001
_LONG_NUMBER = re.compile(r"\+?\d[\d .-]{6,}\d")


class TicketState(StrEnum):
    WAITING = "waiting"
    ANSWERED = "answered"
    CLOSED = "closed"


class TicketReason(StrEnum):
    ASKED = "asked"


class ClosedBecause(StrEnum):
    RESIDENT_DONE = "resident_done"
    NO_ANSWER = "no_answer"
    INACTIVE = "inactive"


class Author(StrEnum):
    RESIDENT = "resident"
    AGENT = "agent"
    ADMIN = "admin"
    BOT = "bot"


@dataclass(frozen=True)
class HandoffPolicy:
    answer_within: timedelta
    close_after_idle: timedelta
    #: Messages of the conversation so far that the agent sees with a new ticket.
    context_messages: int = 5


def ticket_label(number: int) -> str:
    return f"T-{number}"


def masked_text(text: str) -> str:
    """Long numbers (a NIK, a phone) masked before a message is shown to an agent."""
    return _LONG_NUMBER.sub(lambda m: mask_digits(re.sub(r"\D", "", m.group(0)), 4, 2), text)


@dataclass(frozen=True)
class OpenedTicket:
    number: int
    #: The agent's first name and where to reach them; None: the administrators' queue.
    agent_first_name: str | None
    agent_address: str | None
    village: str | None
    #: The resident already had an open ticket: this is it.
    already_open: bool


@dataclass(frozen=True)
class ResidentTicket:
    """The open ticket of a resident, and where its agent is."""

    number: int
    agent_address: str | None


@dataclass(frozen=True)
class AnswerOutcome:
    delivered_to: str | None = None
    #: not_yours, closed, unknown: the agent is told; nothing reaches the resident.
    refused: str | None = None
    #: The resident is on the web chat: the page picks the message up.
    queued_for_web: bool = False


@dataclass(frozen=True)
class Closed:
    number: int
    because: ClosedBecause
    resident_address: str
    agent_address: str | None


@dataclass(frozen=True)
class TicketLine:
    """A ticket as the administrators' dashboard lists it (no personal data)."""

    number: int
    state: str
    reason: str
    village: str | None
    agent_name: str | None
    created_at: datetime
    waited: timedelta
    closed_because: str | None


def _agent_address(agent: Agent, cipher: PiiCipher) -> str:
    """Telegram when the agent was enrolled with it (the channel they use in chat), else
    their WhatsApp number."""
    if agent.telegram_sender_encrypted:
        return cipher.decrypt(agent.telegram_sender_encrypted)
    return make_sender_id(Channel.WHATSAPP, cipher.decrypt(agent.phone_encrypted))


def _numbered(uow: UnitOfWork, number: int, lock: bool = False) -> Ticket | None:
    query = select(Ticket).where(Ticket.number == number)
    return uow.session.scalar(query.with_for_update() if lock else query)


def _open_for(uow: UnitOfWork, sender_hash: str) -> Ticket | None:
    return uow.session.scalars(
        select(Ticket)
        .where(Ticket.resident_sender_hash == sender_hash)
        .where(Ticket.state != TicketState.CLOSED.value)
        .order_by(Ticket.id.desc())
    ).first()


def _route(
    uow: UnitOfWork,
    village: tuple[str, str, str] | None,
    besides: int | None = None,
    village_name: str | None = None,
) -> Agent | None:
    """An active agent of the village (the full key from a registration, or only the name
    a resident asked for), else the active agent with the fewest open tickets (never
    ``besides``, the agent passing the ticket on)."""
    session = uow.session
    open_tickets = (
        select(Ticket.agent_id, func.count().label("open"))
        .where(Ticket.state != TicketState.CLOSED.value)
        .group_by(Ticket.agent_id)
        .subquery()
    )
    query = (
        select(Agent)
        .outerjoin(open_tickets, open_tickets.c.agent_id == Agent.id)
        .where(Agent.active.is_(True))
        .order_by(func.coalesce(open_tickets.c.open, 0), Agent.id)
    )
    agents = [agent for agent in session.scalars(query).all() if agent.id != besides]
    if village is not None:
        for agent in agents:
            if (name_key(agent.village), name_key(agent.district), name_key(agent.regency)) == (
                village
            ):
                return agent
    if village_name is not None:
        for agent in agents:
            if name_key(agent.village) == name_key(village_name):
                return agent
    return agents[0] if agents else None


def open_ticket(
    uow: UnitOfWork,
    cipher: PiiCipher,
    hash_key: str,
    resident_sender_id: str,
    reason: TicketReason,
    recent_texts: list[str],
    now: datetime,
    asked_village: str | None = None,
) -> OpenedTicket:
    """A new ticket for the resident (or their open one), routed by the village of their
    registration, else the village they asked for ("agen desa Karanglo"), with the
    conversation so far stored as its first messages."""
    sender_hash = keyed_hash(hash_key, resident_sender_id)
    with uow:
        session = uow.session
        existing = _open_for(uow, sender_hash)
        if existing is not None:
            agent = session.get(Agent, existing.agent_id) if existing.agent_id else None
            return OpenedTicket(
                existing.number,
                agent.name.split()[0] if agent else None,
                _agent_address(agent, cipher) if agent else None,
                existing.village,
                already_open=True,
            )
        participant = session.scalars(participants_of_sender(hash_key, resident_sender_id)).first()
        village = (
            (
                name_key(participant.village),
                name_key(participant.district),
                name_key(participant.regency),
            )
            if participant
            else None
        )
        agent = _route(uow, village, village_name=None if participant else asked_village)
        number = (session.scalar(select(func.max(Ticket.number))) or FIRST_TICKET_NUMBER - 1) + 1
        ticket = Ticket(
            number=number,
            resident_sender_hash=sender_hash,
            resident_sender_encrypted=cipher.encrypt(resident_sender_id),
            village=participant.village if participant else (asked_village or None),
            agent_id=agent.id if agent else None,
            reason=reason.value,
            state=TicketState.WAITING.value,
            created_at=now,
            last_activity_at=now,
        )
        session.add(ticket)
        uow.flush()
        for text in recent_texts:
            session.add(
                TicketMessage(
                    ticket_id=ticket.id,
                    author=Author.RESIDENT.value,
                    body_encrypted=cipher.encrypt(text),
                    created_at=now,
                )
            )
        opened = OpenedTicket(
            number,
            agent.name.split()[0] if agent else None,
            _agent_address(agent, cipher) if agent else None,
            ticket.village,
            already_open=False,
        )
        uow.commit()
    log.info(
        "ticket %s opened (%s), %s",
        ticket_label(number),
        reason.value,
        f"agent {agent.id}" if agent else "no active agent: administrators",
    )
    return opened


def resident_name(uow: UnitOfWork, cipher: PiiCipher, hash_key: str, sender_id: str) -> str | None:
    """The registered resident's name, masked, for the agent's notice."""
    with uow:
        participant = uow.session.scalars(participants_of_sender(hash_key, sender_id)).first()
        encrypted = participant.full_name_encrypted if participant else None
    return mask_name(cipher.decrypt(encrypted)) if encrypted else None


def open_ticket_of(
    uow: UnitOfWork, cipher: PiiCipher, hash_key: str, resident_sender_id: str
) -> ResidentTicket | None:
    with uow:
        ticket = _open_for(uow, keyed_hash(hash_key, resident_sender_id))
        if ticket is None:
            return None
        agent = uow.session.get(Agent, ticket.agent_id) if ticket.agent_id else None
        return ResidentTicket(ticket.number, _agent_address(agent, cipher) if agent else None)


def record_resident_message(
    uow: UnitOfWork, cipher: PiiCipher, number: int, text: str, now: datetime
) -> None:
    with uow:
        ticket = _numbered(uow, number)
        if ticket is None or ticket.state == TicketState.CLOSED.value:
            return
        uow.session.add(
            TicketMessage(
                ticket_id=ticket.id,
                author=Author.RESIDENT.value,
                body_encrypted=cipher.encrypt(text),
                created_at=now,
            )
        )
        ticket.last_activity_at = now
        uow.commit()


def answer(
    uow: UnitOfWork,
    cipher: PiiCipher,
    agent: AgentRef | None,
    number: int,
    text: str,
    now: datetime,
    *,
    admin: bool = False,
) -> AnswerOutcome:
    """An agent's (or an administrator's) answer to a ticket, stored and addressed to the
    resident. Only the assigned agent may answer; a closed ticket takes no answers."""
    with uow:
        session = uow.session
        ticket = _numbered(uow, number, lock=True)
        if ticket is None:
            return AnswerOutcome(refused="unknown")
        if not admin and (agent is None or ticket.agent_id != agent.id):
            log.warning(
                "agent %s tried to answer %s, assigned to %s",
                agent.id if agent else "-",
                ticket_label(number),
                ticket.agent_id,
            )
            return AnswerOutcome(refused="not_yours")
        if ticket.state == TicketState.CLOSED.value:
            return AnswerOutcome(refused="closed")
        resident = cipher.decrypt(ticket.resident_sender_encrypted)
        on_web = channel_of(resident) is Channel.WEB
        session.add(
            TicketMessage(
                ticket_id=ticket.id,
                author=(Author.ADMIN if admin else Author.AGENT).value,
                body_encrypted=cipher.encrypt(text),
                created_at=now,
                delivered=not on_web,
            )
        )
        if ticket.first_answer_at is None:
            ticket.first_answer_at = now
        ticket.state = TicketState.ANSWERED.value
        ticket.last_activity_at = now
        uow.commit()
    return AnswerOutcome(delivered_to=resident, queued_for_web=on_web)


def close_ticket(
    uow: UnitOfWork, cipher: PiiCipher, number: int, because: ClosedBecause, now: datetime
) -> Closed | None:
    with uow:
        ticket = _numbered(uow, number)
        if ticket is None or ticket.state == TicketState.CLOSED.value:
            return None
        closed = _close(uow, cipher, ticket, because, now)
        uow.commit()
    return closed


def _close(
    uow: UnitOfWork, cipher: PiiCipher, ticket: Ticket, because: ClosedBecause, now: datetime
) -> Closed:
    agent = uow.session.get(Agent, ticket.agent_id) if ticket.agent_id else None
    ticket.state = TicketState.CLOSED.value
    ticket.closed_at = now
    ticket.closed_because = because.value
    log.info("ticket %s closed: %s", ticket_label(ticket.number), because.value)
    return Closed(
        ticket.number,
        because,
        cipher.decrypt(ticket.resident_sender_encrypted),
        _agent_address(agent, cipher) if agent else None,
    )


def close_overdue(
    uow: UnitOfWork, cipher: PiiCipher, policy: HandoffPolicy, now: datetime
) -> list[Closed]:
    """Tickets nobody answered in time, and conversations gone quiet."""
    with uow:
        session = uow.session
        overdue = session.scalars(
            select(Ticket)
            .where(Ticket.state != TicketState.CLOSED.value)
            .where(
                or_(
                    (Ticket.state == TicketState.WAITING.value)
                    & (Ticket.created_at <= now - policy.answer_within),
                    Ticket.last_activity_at <= now - policy.close_after_idle,
                )
            )
            .order_by(Ticket.id)
            .with_for_update()
        ).all()
        closed = [
            _close(
                uow,
                cipher,
                ticket,
                ClosedBecause.NO_ANSWER
                if ticket.state == TicketState.WAITING.value
                and as_utc(ticket.created_at) <= now - policy.answer_within
                else ClosedBecause.INACTIVE,
                now,
            )
            for ticket in overdue
        ]
        uow.commit()
    return closed


@dataclass(frozen=True)
class WebNews:
    author: Author
    #: The answering agent's first name (agent messages).
    agent_first_name: str | None
    text: str


def undelivered_for_web(
    uow: UnitOfWork, cipher: PiiCipher, hash_key: str, sender_id: str
) -> list[WebNews]:
    """Messages waiting for a resident on the web chat (agents' answers, Sadar's notes when
    a ticket closed); each handed over once."""
    with uow:
        rows = uow.session.execute(
            select(TicketMessage, Agent.name)
            .join(Ticket, Ticket.id == TicketMessage.ticket_id)
            .outerjoin(Agent, Agent.id == Ticket.agent_id)
            .where(Ticket.resident_sender_hash == keyed_hash(hash_key, sender_id))
            .where(TicketMessage.delivered.is_(False))
            .order_by(TicketMessage.id)
        ).all()
        news = [
            WebNews(
                Author(row.author),
                agent_name.split()[0] if agent_name else None,
                cipher.decrypt(row.body_encrypted),
            )
            for row, agent_name in rows
        ]
        for row, _agent_name in rows:
            row.delivered = True
        uow.commit()
    return news


def queue_for_web(
    uow: UnitOfWork, cipher: PiiCipher, number: int, text: str, now: datetime
) -> None:
    """Something Sadar tells a web resident about their ticket (it closed), picked up by
    their page."""
    with uow:
        ticket = _numbered(uow, number)
        if ticket is None:
            return
        uow.session.add(
            TicketMessage(
                ticket_id=ticket.id,
                author=Author.BOT.value,
                body_encrypted=cipher.encrypt(text),
                created_at=now,
                delivered=False,
            )
        )
        uow.commit()


def list_tickets(uow: UnitOfWork, now: datetime, limit: int = 50) -> list[TicketLine]:
    """Open tickets first (longest waiting first), then the latest closed ones."""
    with uow:
        rows = uow.session.execute(
            select(Ticket, Agent.name)
            .outerjoin(Agent, Agent.id == Ticket.agent_id)
            .order_by((Ticket.state == TicketState.CLOSED.value), Ticket.created_at.desc())
            .limit(limit)
        ).all()
        lines = []
        for ticket, agent_name in rows:
            created = as_utc(ticket.created_at)
            answered = as_utc(ticket.first_answer_at)
            end = answered or as_utc(ticket.closed_at) or now
            lines.append(
                TicketLine(
                    ticket.number,
                    ticket.state,
                    ticket.reason,
                    ticket.village,
                    agent_name,
                    created,
                    end - created,
                    ticket.closed_because,
                )
            )
    return lines


def reassign(uow: UnitOfWork, cipher: PiiCipher, number: int, agent_id: int) -> str | None:
    """Give an open ticket to another active agent; their address, or None if not possible."""
    with uow:
        ticket = _numbered(uow, number)
        agent = uow.session.get(Agent, agent_id)
        if ticket is None or ticket.state == TicketState.CLOSED.value:
            return None
        if agent is None or not agent.active:
            return None
        ticket.agent_id = agent.id
        address = _agent_address(agent, cipher)
        uow.commit()
    log.info("ticket %s reassigned to agent %d", ticket_label(number), agent_id)
    return address


def purge_closed_before(uow: UnitOfWork, cutoff: datetime) -> int:
    """Tickets closed before ``cutoff`` go, with their messages: kept as long as
    conversations are (SADAR_CONVERSATION_RETENTION_DAYS)."""
    with uow:
        old = uow.session.scalars(
            select(Ticket).where(Ticket.closed_at.is_not(None)).where(Ticket.closed_at < cutoff)
        ).all()
        for ticket in old:
            uow.session.execute(delete(TicketMessage).where(TicketMessage.ticket_id == ticket.id))
            uow.session.delete(ticket)
        uow.commit()
    if old:
        log.info("deleted %d ticket(s) closed before the retention period", len(old))
    return len(old)


@dataclass(frozen=True)
class Handover:
    """A ticket taken or passed on: who has it now (None: the administrators)."""

    refused: str | None = None
    agent_first_name: str | None = None
    agent_address: str | None = None


def take_ticket(uow: UnitOfWork, cipher: PiiCipher, agent: AgentRef, number: int) -> Handover:
    """An agent takes an open ticket (waiting for the administrators, or a colleague's)."""
    with uow:
        ticket = _numbered(uow, number)
        if ticket is None:
            return Handover(refused="unknown")
        if ticket.state == TicketState.CLOSED.value:
            return Handover(refused="closed")
        mine = ticket.agent_id == agent.id
        previous = uow.session.get(Agent, ticket.agent_id) if ticket.agent_id and not mine else None
        ticket.agent_id = agent.id
        uow.commit()
    log.info("agent %d took %s", agent.id, ticket_label(number))
    return Handover(
        agent_first_name=previous.name.split()[0] if previous else None,
        agent_address=_agent_address(previous, cipher) if previous else None,
    )


def pass_ticket(uow: UnitOfWork, cipher: PiiCipher, agent: AgentRef, number: int) -> Handover:
    """The assigned agent passes the ticket on: to the next agent by the same routing, else
    to the administrators."""
    with uow:
        ticket = _numbered(uow, number)
        if ticket is None:
            return Handover(refused="unknown")
        if ticket.agent_id != agent.id:
            return Handover(refused="not_yours")
        if ticket.state == TicketState.CLOSED.value:
            return Handover(refused="closed")
        village = (name_key(agent.village), name_key(agent.district), name_key(agent.regency))
        successor = _route(uow, village, besides=agent.id)
        ticket.agent_id = successor.id if successor else None
        handover = Handover(
            agent_first_name=successor.name.split()[0] if successor else None,
            agent_address=_agent_address(successor, cipher) if successor else None,
        )
        uow.commit()
    log.info("agent %d passed %s on", agent.id, ticket_label(number))
    return handover
