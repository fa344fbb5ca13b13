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

from bot.db.models import Agent, AuditEvent, Ticket, TicketMessage
from bot.db.timestamps import as_utc
from bot.domain.access import EVERYTHING, Scope
from bot.domain.senders import Channel, channel_of
from bot.domain.villages import name_key
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import keyed_hash, mask_digits, mask_name
from bot.services.agents import AgentRef, agent_address
from bot.services.participants import participants_of_sender
from bot.services.scoping import where_in_scope
from bot.services.unit_of_work import UnitOfWork
from nlu.parsing.lookups import village_by_name

log = logging.getLogger(__name__)

FIRST_TICKET_NUMBER = 1001
_LONG_NUMBER = re.compile(r"\+?\d[\d .-]{6,}\d")
#: A one-time code ("482913", "482 913"): six digits, perhaps split by a space. A dot or a
#: comma is a thousands separator ("100.000" is an amount the agent needs to read).
_CODE = re.compile(r"(?<![\d.,])\d{3} ?\d{3}(?![\d]|[.,]\d)")


class TicketState(StrEnum):
    WAITING = "waiting"
    ANSWERED = "answered"
    CLOSED = "closed"


class TicketReason(StrEnum):
    ASKED = "asked"
    #: A number a change left answered "BUKAN SAYA" (bot.services.addresses.number_change).
    NUMBER_CHANGE_REPORTED = "number_change_reported"


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


#: Fewer digits than this is an amount ("1.500.000"), not a phone number or a NIK.
_IDENTIFIER_DIGITS = 9


def _masked_identifier(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return mask_digits(digits, 4, 2) if len(digits) >= _IDENTIFIER_DIGITS else match.group(0)


def masked_text(text: str) -> str:
    """Long numbers (a NIK, a phone) masked, and one-time codes starred, before a
    resident's message is shown to an agent: the agent needs the question, not the
    identifiers (a code could confirm a registration or a number change)."""
    masked = _LONG_NUMBER.sub(_masked_identifier, text)
    return _CODE.sub(lambda m: "*" * len(m.group(0)), masked)


def _audit(uow: UnitOfWork, actor: str, action: str, number: int, now: datetime) -> None:
    """Who did what to which ticket: the ticket's label, never the resident's data."""
    uow.session.add(
        AuditEvent(
            participant_id=None,
            actor=actor,
            action=action,
            fields=ticket_label(number),
            created_at=now,
        )
    )


#: A village, district and regency as compared (name_key); district and regency None when
#: only the village's name is known.
Area = tuple[str, str | None, str | None]


def _ticket_area(ticket: Ticket) -> Area | None:
    if not ticket.village:
        return None
    return (
        name_key(ticket.village),
        name_key(ticket.district) if ticket.district else None,
        name_key(ticket.regency) if ticket.regency else None,
    )


def _serves(agent: Agent | AgentRef, area: Area | None) -> bool:
    """Whether the agent belongs to the area: a village-less ticket belongs to nobody
    (only an administrator gives it out)."""
    if area is None:
        return False
    village, district, regency = area
    return (
        name_key(agent.village) == village
        and (district is None or name_key(agent.district) == district)
        and (regency is None or name_key(agent.regency) == regency)
    )


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
    areas: list[Area],
    besides: int | None = None,
    fallback: bool = True,
) -> Agent | None:
    """An active agent of the first area that has one (the village the resident named,
    then the one they are registered in), else, with ``fallback``, the active agent with
    the fewest open tickets; never ``besides``, the agent passing the ticket on."""
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
    for area in areas:
        for agent in agents:
            if _serves(agent, area):
                return agent
    return agents[0] if agents and fallback else None


def _named_area(asked_village: str) -> tuple[str, str | None, str | None]:
    """The village a resident named, as written in the lookup when it is known there
    (with its district and regency), else only its name."""
    known = village_by_name(name_key(asked_village))
    if known is not None:
        return known.name, known.district, known.regency
    return asked_village.strip(), None, None


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
                agent_address(agent, cipher) if agent else None,
                existing.village,
                already_open=True,
            )
        participant = session.scalars(participants_of_sender(hash_key, resident_sender_id)).first()
        named = _named_area(asked_village) if asked_village and asked_village.strip() else None
        registered = (
            (participant.village, participant.district, participant.regency)
            if participant
            else None
        )
        places = [place for place in (named, registered) if place is not None]
        areas: list[Area] = [
            (name_key(v), name_key(d) if d else None, name_key(r) if r else None)
            for v, d, r in places
        ]
        agent = _route(uow, areas)
        # The ticket belongs to the village whose agent it reached (or the first named).
        home = next(
            (
                place
                for place, area in zip(places, areas, strict=True)
                if agent and _serves(agent, area)
            ),
            places[0] if places else None,
        )
        if home is None and agent is not None:
            # Nothing says where the resident lives: the ticket is the answering agent's
            # village's, so every notice names one.
            home = (agent.village, agent.district, agent.regency)
        number = (session.scalar(select(func.max(Ticket.number))) or FIRST_TICKET_NUMBER - 1) + 1
        ticket = Ticket(
            number=number,
            resident_sender_hash=sender_hash,
            resident_sender_encrypted=cipher.encrypt(resident_sender_id),
            village=home[0] if home else None,
            district=home[1] if home else None,
            regency=home[2] if home else None,
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
            agent_address(agent, cipher) if agent else None,
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
        return ResidentTicket(ticket.number, agent_address(agent, cipher) if agent else None)


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
    actor = "admin" if admin else (agent.actor if agent else "unknown")
    with uow:
        session = uow.session
        ticket = _numbered(uow, number, lock=True)
        refused = None
        if ticket is None:
            refused = "unknown"
        elif not admin and (agent is None or ticket.agent_id != agent.id):
            log.warning(
                "agent %s tried to answer %s, assigned to %s",
                agent.id if agent else "-",
                ticket_label(number),
                ticket.agent_id,
            )
            refused = "not_yours"
        elif ticket.state == TicketState.CLOSED.value:
            refused = "closed"
        if refused is not None or ticket is None:
            _audit(uow, actor, f"ticket_answer_refused_{refused}", number, now)
            uow.commit()
            return AnswerOutcome(refused=refused)
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
        _audit(uow, actor, "ticket_answered", number, now)
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
        agent_address(agent, cipher) if agent else None,
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
        # The page asks every few seconds: only a poll that hands news over writes.
        if rows:
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


def list_tickets(
    uow: UnitOfWork, now: datetime, limit: int = 50, *, scope: Scope = EVERYTHING
) -> list[TicketLine]:
    """Open tickets first (longest waiting first), then the latest closed ones; of
    ``scope``'s villages only (a ticket whose village is not known is the administrator's)."""
    query = where_in_scope(
        select(Ticket, Agent.name).outerjoin(Agent, Agent.id == Ticket.agent_id),
        scope,
        Ticket.village,
        Ticket.district,
        Ticket.regency,
    )
    with uow:
        rows = uow.session.execute(
            query.order_by(
                (Ticket.state == TicketState.CLOSED.value), Ticket.created_at.desc()
            ).limit(limit)
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


def ticket_in_scope(uow: UnitOfWork, number: int, scope: Scope) -> bool:
    """Whether ticket ``number`` exists and belongs to ``scope`` (before an operator
    answers or reassigns it)."""
    with uow:
        ticket = uow.session.scalar(select(Ticket).where(Ticket.number == number))
        return ticket is not None and scope.allows(ticket.village, ticket.district, ticket.regency)


@dataclass(frozen=True)
class Reassigned:
    """A ticket an administrator gave to an agent: whom to tell (the new agent, with the
    ticket's brief, and the one it was taken from), and the resident."""

    agent_first_name: str
    agent_address: str
    resident_address: str
    brief: TicketBrief
    previous_agent_address: str | None = None


@dataclass(frozen=True)
class TicketBrief:
    """A ticket as an agent who did not open it reads it: its village and its last
    messages, identifiers masked, oldest first."""

    village: str | None
    recent: tuple[str, ...]


#: How many of a ticket's messages a new agent sees when it is handed to them.
BRIEF_MESSAGES = 5
_AUTHOR_LABELS = {"resident": "warga", "agent": "agen", "admin": "petugas", "bot": "Sadar"}


def _brief(uow: UnitOfWork, cipher: PiiCipher, ticket: Ticket) -> TicketBrief:
    rows = uow.session.scalars(
        select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket.id)
        .order_by(TicketMessage.created_at.desc(), TicketMessage.id.desc())
        .limit(BRIEF_MESSAGES)
    ).all()
    recent = tuple(
        f"{_AUTHOR_LABELS.get(row.author, row.author)}: "
        f"{masked_text(cipher.decrypt(row.body_encrypted))}"
        for row in reversed(rows)
    )
    return TicketBrief(ticket.village, recent)


def reassign(
    uow: UnitOfWork, cipher: PiiCipher, number: int, agent_id: int, now: datetime
) -> Reassigned | None:
    """An administrator gives an open ticket to another active agent (of any village: the
    administrator decides); None if not possible."""
    with uow:
        ticket = _numbered(uow, number, lock=True)
        agent = uow.session.get(Agent, agent_id)
        if ticket is None or ticket.state == TicketState.CLOSED.value:
            return None
        if agent is None or not agent.active:
            return None
        previous = (
            uow.session.get(Agent, ticket.agent_id)
            if ticket.agent_id and ticket.agent_id != agent.id
            else None
        )
        ticket.agent_id = agent.id
        _audit(uow, "admin", f"ticket_reassigned_to_agent:{agent.id}", number, now)
        reassigned = Reassigned(
            agent.name.split()[0],
            agent_address(agent, cipher),
            cipher.decrypt(ticket.resident_sender_encrypted),
            _brief(uow, cipher, ticket),
            agent_address(previous, cipher) if previous else None,
        )
        uow.commit()
    log.info("ticket %s reassigned to agent %d", ticket_label(number), agent_id)
    return reassigned


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


def erase_tickets_of(uow: UnitOfWork, sender_hashes: set[str]) -> list[int]:
    """A resident's erasure (bot/services/erasure.py): every ticket from these addresses
    goes with its messages, open or closed; an open ticket's agent is not told what it
    held. In the caller's transaction; the numbers, so the audit trail forgets them too."""
    if not sender_hashes:
        return []
    tickets = uow.session.scalars(
        select(Ticket).where(Ticket.resident_sender_hash.in_(sender_hashes))
    ).all()
    for ticket in tickets:
        uow.session.execute(delete(TicketMessage).where(TicketMessage.ticket_id == ticket.id))
        uow.session.delete(ticket)
    return [ticket.number for ticket in tickets]


@dataclass(frozen=True)
class Handover:
    """A ticket taken or passed on. ``agent_*``: the other agent to tell (the one it was
    taken from, or the one it was passed to; None: the administrators);
    ``resident_address``: where the resident is told who answers now."""

    refused: str | None = None
    agent_first_name: str | None = None
    agent_address: str | None = None
    resident_address: str | None = None
    #: What the agent who answers now needs to pick it up: the village and the last
    #: messages, masked.
    brief: TicketBrief | None = None


def take_ticket(
    uow: UnitOfWork, cipher: PiiCipher, agent: AgentRef, number: int, now: datetime
) -> Handover:
    """An agent takes an open ticket of their own village (waiting for the administrators,
    or a colleague's). A ticket of another village is refused exactly like one that does
    not exist, so ticket numbers tell an agent nothing about other villages."""
    with uow:
        ticket = _numbered(uow, number, lock=True)
        mine = ticket is not None and ticket.agent_id == agent.id
        if ticket is None or not (mine or _serves(agent, _ticket_area(ticket))):
            if ticket is not None:
                log.warning(
                    "agent %d asked for %s of another village", agent.id, ticket_label(number)
                )
            _audit(uow, agent.actor, "ticket_take_refused", number, now)
            uow.commit()
            return Handover(refused="unknown")
        if ticket.state == TicketState.CLOSED.value:
            _audit(uow, agent.actor, "ticket_take_refused", number, now)
            uow.commit()
            return Handover(refused="closed")
        previous = uow.session.get(Agent, ticket.agent_id) if ticket.agent_id and not mine else None
        ticket.agent_id = agent.id
        _audit(uow, agent.actor, "ticket_taken", number, now)
        handover = Handover(
            agent_first_name=previous.name.split()[0] if previous else None,
            agent_address=agent_address(previous, cipher) if previous else None,
            resident_address=None if mine else cipher.decrypt(ticket.resident_sender_encrypted),
            brief=_brief(uow, cipher, ticket),
        )
        uow.commit()
    log.info("agent %d took %s", agent.id, ticket_label(number))
    return handover


def pass_ticket(
    uow: UnitOfWork, cipher: PiiCipher, agent: AgentRef, number: int, now: datetime
) -> Handover:
    """The assigned agent passes the ticket on: to another agent of the ticket's village,
    else to the administrators (never to another village's agent)."""
    with uow:
        ticket = _numbered(uow, number, lock=True)
        refused = None
        if ticket is None:
            refused = "unknown"
        elif ticket.agent_id != agent.id:
            refused = "not_yours"
        elif ticket.state == TicketState.CLOSED.value:
            refused = "closed"
        if refused is not None or ticket is None:
            _audit(uow, agent.actor, f"ticket_pass_refused_{refused}", number, now)
            uow.commit()
            return Handover(refused=refused)
        area = _ticket_area(ticket)
        successor = _route(uow, [area] if area else [], besides=agent.id, fallback=False)
        ticket.agent_id = successor.id if successor else None
        _audit(
            uow,
            agent.actor,
            f"ticket_passed_to_agent:{successor.id}" if successor else "ticket_passed_to_admin",
            number,
            now,
        )
        handover = Handover(
            agent_first_name=successor.name.split()[0] if successor else None,
            agent_address=agent_address(successor, cipher) if successor else None,
            resident_address=cipher.decrypt(ticket.resident_sender_encrypted),
            brief=_brief(uow, cipher, ticket),
        )
        uow.commit()
    log.info("agent %d passed %s on", agent.id, ticket_label(number))
    return handover


@dataclass(frozen=True)
class AgentTicket:
    """An open ticket as its agent lists it ("tiket saya"): no name, the resident's last
    message masked and shortened."""

    number: int
    village: str | None
    #: waiting (the agent has not answered yet), answered, or unassigned (the village's,
    #: waiting for the administrators: the agent may take it).
    state: str
    #: Since the ticket's last message, either way.
    idle: timedelta
    last_message: str | None


#: How much of the resident's last message the list shows.
LAST_MESSAGE_CHARS = 80


def agent_tickets(
    uow: UnitOfWork, cipher: PiiCipher, agent: AgentRef, now: datetime
) -> list[AgentTicket]:
    """The agent's open tickets, then the unassigned open tickets of their own village
    (another village's tickets are never listed), oldest first."""
    with uow:
        tickets = uow.session.scalars(
            select(Ticket)
            .where(Ticket.state != TicketState.CLOSED.value)
            .where(or_(Ticket.agent_id == agent.id, Ticket.agent_id.is_(None)))
            .order_by(Ticket.created_at, Ticket.id)
        ).all()
        listed = []
        for ticket in tickets:
            mine = ticket.agent_id == agent.id
            if not mine and not _serves(agent, _ticket_area(ticket)):
                continue
            last = uow.session.scalars(
                select(TicketMessage.body_encrypted)
                .where(TicketMessage.ticket_id == ticket.id)
                .where(TicketMessage.author == Author.RESIDENT.value)
                .order_by(TicketMessage.created_at.desc(), TicketMessage.id.desc())
                .limit(1)
            ).first()
            text = masked_text(cipher.decrypt(last)) if last else None
            if text and len(text) > LAST_MESSAGE_CHARS:
                text = text[: LAST_MESSAGE_CHARS - 1].rstrip() + "…"
            state = ticket.state if mine else "unassigned"
            listed.append(
                AgentTicket(
                    ticket.number,
                    ticket.village,
                    state,
                    now - as_utc(ticket.last_activity_at),
                    text,
                )
            )
    return sorted(listed, key=lambda t: t.state == "unassigned")
