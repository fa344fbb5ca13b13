"""A participant's chat addresses (web chat, Telegram, WhatsApp), each proven theirs.

A WhatsApp number is linked by a one-time code sent there (expiry, tries and hashing as
for consent codes, bot.domain.consent): typed back in the conversation that asked (a
linked address, or the village agent's for a number change), or, to add a number, sent
back from that WhatsApp number itself. A Telegram contact the resident shared is
Telegram's own proof of the number. Reminders use the addresses through ``reachable``
and ``routes_of``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from bot.crypto import PiiCipher
from bot.db.models import (
    AddressLink,
    AuditEvent,
    ChannelContact,
    MovedAddress,
    Participant,
    ParticipantAddress,
)
from bot.domain.addresses import (
    REMINDER_CHANNELS,
    AddressState,
    LinkPurpose,
    Proof,
    Unreachable,
    becomes_preferred,
    why_unreachable,
)
from bot.domain.consent import (
    CodePolicy,
    CodeVerdict,
    attempts_left,
    find_code,
    judge_code,
    matching,
    new_code,
)
from bot.domain.replies import MessageTemplate
from bot.domain.senders import Channel, SenderId, channel_of, make_sender_id
from bot.domain.villages import area_key
from bot.privacy import keyed_hash, mask_digits, mask_name, mask_sender
from bot.services.agents import AgentRef, in_agents_village
from bot.services.channel_log import ChannelLog, as_utc
from bot.services.code_quota import purge_code_sends, take_code_slot
from bot.services.courier import Courier
from bot.services.handoff import TicketReason, open_ticket
from bot.services.participants import participants_of_sender, phone_lookup_hash
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


# --- reachability, in SQL for whole villages and reminder days ------------------------


def _reachable_addresses() -> Select[tuple[int]]:
    """Addresses a reminder can reach: Telegram or WhatsApp with a known contact, not
    stopped and not failed for good. (Per participant, in Python:
    bot.domain.addresses.AddressState.reachable.)"""
    return (
        select(ParticipantAddress.participant_id)
        .join(ChannelContact, ChannelContact.sender_hash == ParticipantAddress.sender_hash)
        .where(ParticipantAddress.channel.in_([c.value for c in REMINDER_CHANNELS]))
        .where(ChannelContact.reminders_opted_out_at.is_(None))
        .where(ChannelContact.undeliverable_at.is_(None))
    )


def reachable(participant_id: Any) -> ColumnElement[bool]:
    """True when a reminder can reach the participant. A correlated EXISTS (two index
    probes per participant): an outer join on the distinct reachable ids made the planner's
    streamed read quadratic (30,000 generated participants planned in 28.3 s against
    2.4 s; docs/performance.md)."""
    return exists(_reachable_addresses().where(ParticipantAddress.participant_id == participant_id))


@dataclass(frozen=True)
class Route:
    """One linked address, with what deciding and sending need."""

    state: AddressState
    sender_hash: str
    #: How to write there; None when no contact is known (then ``state`` is unreachable).
    address_encrypted: str | None


def _state(address: ParticipantAddress, contact: ChannelContact | None) -> AddressState:
    if contact is None:
        undeliverable: str | None = "no chat address known"
    elif contact.undeliverable_at is not None:
        undeliverable = contact.undeliverable_reason or "failed"
    else:
        undeliverable = None
    return AddressState(
        channel=Channel(address.channel),
        preferred=address.preferred,
        verified_at=as_utc(address.verified_at),
        stopped=contact is not None and contact.reminders_opted_out_at is not None,
        undeliverable=undeliverable,
    )


def routes_of(session: Session, participant_id: int) -> list[Route]:
    """Every linked address of the participant, in one query (a web chat address may have
    no contact)."""
    rows = session.execute(
        select(ParticipantAddress, ChannelContact)
        .outerjoin(ChannelContact, ChannelContact.sender_hash == ParticipantAddress.sender_hash)
        .where(ParticipantAddress.participant_id == participant_id)
    ).all()
    return [
        Route(
            _state(address, contact),
            address.sender_hash,
            contact.address_encrypted if contact is not None else None,
        )
        for address, contact in rows
    ]


def address_states(session: Session, participant_id: int) -> list[AddressState]:
    return [route.state for route in routes_of(session, participant_id)]


def mark_undeliverable(session: Session, sender_hash: str, reason: str, now: datetime) -> None:
    """A send here failed for good: reminders use other addresses until the person writes
    from this one again (ChannelLog.record_inbound clears it)."""
    session.execute(
        update(ChannelContact)
        .where(ChannelContact.sender_hash == sender_hash)
        .values(undeliverable_at=now, undeliverable_reason=reason[:200])
    )


def link_address(
    session: Session,
    participant_id: int,
    sender_hash: str,
    channel: Channel,
    proof: Proof,
    now: datetime,
) -> bool:
    """Add a verified address (False when it was already linked). It takes the lead when no
    address reminders can use leads (a web chat registration's first WhatsApp)."""
    current = session.scalars(
        select(ParticipantAddress).where(ParticipantAddress.participant_id == participant_id)
    ).all()
    if any(a.sender_hash == sender_hash for a in current):
        return False
    preferred = becomes_preferred(address_states(session, participant_id), channel)
    if preferred:
        for address in current:
            address.preferred = False
    session.add(
        ParticipantAddress(
            participant_id=participant_id,
            sender_hash=sender_hash,
            channel=channel.value,
            proof=proof.value,
            preferred=preferred,
            verified_at=now,
        )
    )
    return True


# --- linking a WhatsApp number by code ---------------------------------------------------


class LinkRequestResult(StrEnum):
    SENT = "sent"
    #: Linked at once: the number was already proven theirs (a shared Telegram contact).
    LINKED = "linked"
    ALREADY_LINKED = "already_linked"
    NOT_REGISTERED = "not_registered"
    #: An agent asked for a participant outside their village, or an unknown reference.
    NOT_IN_VILLAGE = "not_in_village"
    #: No WhatsApp sender, a template needed and none approved, or the platform refused.
    NOT_SENT = "not_sent"
    #: ``MAX_CODES_PER_DAY`` codes were already sent for this participant today, or the
    #: number had its codes for today (bot.services.code_quota), whoever asked for them.
    TOO_MANY = "too_many"


#: Codes sent for one participant in 24 hours: enough for typos and a lost message, too few
#: to flood someone else's number with messages.
MAX_CODES_PER_DAY = 5


@dataclass(frozen=True)
class LinkRequest:
    result: LinkRequestResult
    #: The number the code went to (or was linked), masked for the chat.
    masked_phone: str = ""
    reference: str = ""


class LinkResult(StrEnum):
    LINKED = "linked"
    #: A number change is done: the old WhatsApp number gets nothing any more.
    REPLACED = "replaced"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"
    NO_CODE = "no_code"


@dataclass(frozen=True)
class LinkOutcome:
    result: LinkResult
    attempts_left: int = 0
    masked_phone: str = ""
    reference: str = ""
    #: A number change: the WhatsApp addresses it left (each gets ``tell_number_change``).
    moved_from: tuple[str, ...] = ()
    #: The new number's sender id (a number change).
    moved_to: str | None = None
    #: A Perisai agent made the change (the new number is told too).
    by_agent: bool = False


#: How long the number a change left may answer "BUKAN SAYA".
REPORT_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class NoticeText:
    """The number-change notice: ``to_old(masked new number)`` for the number left,
    ``to_new(masked new number)`` for the new number of an agent's change; outside
    WhatsApp's window the approved template ``template_sid`` (1=masked new number,
    2=reference) instead."""

    to_old: Callable[[str], str]
    to_new: Callable[[str], str]
    template_sid: str | None


@dataclass(frozen=True)
class NotMeReport:
    """A number a change left said "BUKAN SAYA": audited, and a ticket for the village
    agent (``agent_address`` None: no active agent, administrators see it)."""

    ticket_number: int
    agent_first_name: str | None
    agent_address: str | None
    reference: str


@dataclass(frozen=True)
class CodeText:
    """The code's message: ``text(code)`` inside WhatsApp's window, else the template."""

    text: Callable[[str], str]
    template_sid: str | None


def _masked(sender_id: str) -> str:
    return mask_digits(SenderId.parse(sender_id).address, 5, 2)


@dataclass(frozen=True)
class AddressBook:
    #: A new unit of work per use case (the service is shared by concurrent requests).
    units: Callable[[], UnitOfWork]
    cipher: PiiCipher
    hash_key: str
    policy: CodePolicy

    def _hash(self, sender_id: str) -> str:
        return keyed_hash(self.hash_key, sender_id)

    def _code_hash(self, link_id: int, code: str) -> str:
        # Bound to the row: a code is worthless for any other link.
        return keyed_hash(self.hash_key, f"link-code:{link_id}:{code}")

    @property
    def _channel_log(self) -> ChannelLog:
        return ChannelLog(self.units, self.hash_key, self.cipher)

    # -- asking --------------------------------------------------------------------------

    def _participant_for(
        self, session: Session, requester: str, agent: AgentRef | None, reference: str | None
    ) -> Participant | LinkRequestResult:
        if agent is None:
            found = session.scalars(participants_of_sender(self.hash_key, requester)).first()
            return found or LinkRequestResult.NOT_REGISTERED
        participant = session.scalar(
            select(Participant).where(Participant.reference == (reference or "").strip().upper())
        )
        # Unknown and elsewhere alike: an agent learns nothing about other villages.
        if participant is None or not in_agents_village(agent, participant):
            return LinkRequestResult.NOT_IN_VILLAGE
        return participant

    def hold(
        self,
        requester: str,
        phone: str | None,
        purpose: LinkPurpose,
        code: str,
        now: datetime,
        *,
        agent: AgentRef | None = None,
        reference: str | None = None,
    ) -> tuple[LinkRequest, str | None]:
        """Keep a link waiting for ``code``; the number it goes to (None when nothing is
        held, with the reason). ``phone`` None: the participant's registered number."""
        with self.units() as uow:
            session = uow.session
            participant = self._participant_for(session, requester, agent, reference)
            agent_id = agent.id if agent else None
            if isinstance(participant, LinkRequestResult):
                return LinkRequest(participant), None
            number = phone or self.cipher.decrypt(participant.phone_encrypted)
            target = make_sender_id(Channel.WHATSAPP, number)
            target_hash = self._hash(target)
            linked = session.scalar(
                select(ParticipantAddress.id)
                .where(ParticipantAddress.participant_id == participant.id)
                .where(ParticipantAddress.sender_hash == target_hash)
            )
            masked = _masked(target)
            if linked is not None:
                return LinkRequest(
                    LinkRequestResult.ALREADY_LINKED, masked, participant.reference
                ), None
            sent_today = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.participant_id == participant.id)
                .where(AuditEvent.action.like("link_code_%"))
                .where(AuditEvent.action != "link_code_locked")
                .where(AuditEvent.created_at > now - timedelta(days=1))
            )
            over = (sent_today or 0) >= MAX_CODES_PER_DAY
            if over or not take_code_slot(session, self.hash_key, number, f"link_{purpose}", now):
                return LinkRequest(LinkRequestResult.TOO_MANY, masked, participant.reference), None
            session.execute(delete(AddressLink).where(AddressLink.participant_id == participant.id))
            link = AddressLink(
                participant_id=participant.id,
                purpose=purpose.value,
                target_sender_hash=target_hash,
                target_sender_encrypted=self.cipher.encrypt(target),
                requester_sender_hash=self._hash(requester),
                agent_id=agent_id,
                code_hash="",
                attempts=0,
                expires_at=now + self.policy.valid_for,
            )
            session.add(link)
            session.flush()
            link.code_hash = self._code_hash(link.id, code)
            _audit(
                session, participant.id, _actor(requester, agent_id), f"link_code_{purpose}", now
            )
            uow.commit()
            return LinkRequest(LinkRequestResult.SENT, masked, participant.reference), target

    def release(self, requester: str, now: datetime) -> None:
        """Forget a link whose code could not be sent."""
        with self.units() as uow:
            uow.session.execute(
                delete(AddressLink).where(
                    AddressLink.requester_sender_hash == self._hash(requester)
                )
            )
            uow.commit()

    async def request(
        self,
        courier: Courier,
        requester: str,
        phone: str | None,
        purpose: LinkPurpose,
        message: CodeText,
        now: datetime,
        *,
        agent: AgentRef | None = None,
        reference: str | None = None,
    ) -> LinkRequest:
        """Send a new code to the WhatsApp number to link (or, for an ``ADD`` of a number
        Telegram already proved theirs, link it at once)."""
        if purpose is LinkPurpose.ADD and agent is None:
            linked = await asyncio.to_thread(self.link_proven_phone, requester, phone, now)
            if linked is not None:
                return linked
        if not courier.has_channel(Channel.WHATSAPP):
            log.warning("link code not sent: no WhatsApp sender is configured")
            return LinkRequest(LinkRequestResult.NOT_SENT)
        code = new_code(self.policy)
        held, target = await asyncio.to_thread(
            self.hold, requester, phone, purpose, code, now, agent=agent, reference=reference
        )
        if target is None:
            return held
        minutes = int(self.policy.valid_for.total_seconds() // 60)
        template = (
            MessageTemplate(message.template_sid, {"1": code, "2": str(minutes)})
            if message.template_sid
            else None
        )
        opening = await asyncio.to_thread(
            self._channel_log.opening_message, target, message.text(code), template, now
        )
        delivery = None
        if opening is None:
            log.warning(
                "link code to %s needs a WhatsApp template: set SADAR_WHATSAPP_LINK_CONTENT_SID",
                mask_sender(target),
            )
        else:
            delivery = await courier.send(target, opening, purpose="link_code")
        if delivery is None or (not delivery.ok and not delivery.uncertain):
            await asyncio.to_thread(self.release, requester, now)
            return LinkRequest(LinkRequestResult.NOT_SENT, held.masked_phone, held.reference)
        return held

    def link_proven_phone(
        self, requester: str, phone: str | None, now: datetime
    ) -> LinkRequest | None:
        """Link the participant's WhatsApp at once when their number is already proven (a
        Telegram contact they shared); None when a code is needed."""
        with self.units() as uow:
            session = uow.session
            participant = session.scalars(participants_of_sender(self.hash_key, requester)).first()
            if participant is None:
                return LinkRequest(LinkRequestResult.NOT_REGISTERED)
            registered = self.cipher.decrypt(participant.phone_encrypted)
            proven = participant.phone_verified_by == Proof.TELEGRAM_CONTACT.value
            if not proven or (phone is not None and phone != registered):
                return None
            target = make_sender_id(Channel.WHATSAPP, registered)
            self._channel_log.ensure_contact(target, uow)
            added = link_address(
                session,
                participant.id,
                self._hash(target),
                Channel.WHATSAPP,
                Proof.TELEGRAM_CONTACT,
                now,
            )
            if added:
                _audit(session, participant.id, _actor(requester, None), "address_linked", now)
            uow.commit()
            result = LinkRequestResult.LINKED if added else LinkRequestResult.ALREADY_LINKED
            return LinkRequest(result, _masked(target), participant.reference)

    # -- answering -----------------------------------------------------------------------

    @staticmethod
    def _answerable_by(digest: str) -> ColumnElement[bool]:
        """The conversation that asked may type the code; the number being added may send it
        back. A number change is confirmed only where it was asked (a linked address, or
        the village agent), never from the new number alone."""
        return (AddressLink.requester_sender_hash == digest) | and_(
            AddressLink.target_sender_hash == digest,
            AddressLink.purpose == LinkPurpose.ADD.value,
        )

    def confirm(self, sender_id: str, text: str, now: datetime) -> LinkOutcome | None:
        """A code typed in ``sender_id``'s conversation; None when no link waits there."""
        digest = self._hash(sender_id)
        code = find_code(text, self.policy)
        with self.units() as uow:
            session = uow.session
            waiting = session.scalars(
                select(AddressLink)
                .where(self._answerable_by(digest))
                .order_by(AddressLink.id)
                .with_for_update()
            ).all()
            if not waiting:
                return None
            live = [link for link in waiting if now < as_utc(link.expires_at)]
            if not live:
                for link in waiting:
                    session.delete(link)
                uow.commit()
                return LinkOutcome(LinkResult.EXPIRED)
            if code is None:
                return LinkOutcome(LinkResult.NO_CODE, self._attempts_left(live))
            matched = matching(
                live, lambda link: self._code_hash(link.id, code), lambda link: link.code_hash
            )
            if matched is None:
                outcome = self._wrong_try(session, live, now)
                uow.commit()
                return outcome
            verdict = judge_code(
                True, matched.attempts, as_utc(matched.expires_at), now, self.policy
            )
            if verdict is not CodeVerdict.ACCEPTED:
                session.delete(matched)
                uow.commit()
                return LinkOutcome(LinkResult(verdict.value))
            outcome = self._apply(uow, matched, sender_id, now)
            uow.commit()
        log.info("participant %s linked WhatsApp %s", outcome.reference, outcome.masked_phone)
        return outcome

    def _attempts_left(self, live: list[AddressLink]) -> int:
        return attempts_left((link.attempts for link in live), self.policy)

    def _wrong_try(self, session: Session, live: list[AddressLink], now: datetime) -> LinkOutcome:
        """A wrong code counts against every link this conversation could answer."""
        for link in live:
            verdict = judge_code(False, link.attempts, as_utc(link.expires_at), now, self.policy)
            link.attempts += 1
            if verdict is CodeVerdict.LOCKED:
                _audit(session, link.participant_id, "system", "link_code_locked", now)
                session.delete(link)
        remaining = [link for link in live if link.attempts < self.policy.max_attempts]
        if remaining:
            return LinkOutcome(LinkResult.WRONG, self._attempts_left(remaining))
        return LinkOutcome(LinkResult.LOCKED)

    def _apply(
        self, uow: UnitOfWork, link: AddressLink, answered_by: str, now: datetime
    ) -> LinkOutcome:
        """Link the number; for a number change, drop the old WhatsApp addresses and make the
        new number the participant's phone. One transaction with the code's use."""
        session = uow.session
        participant = session.get(Participant, link.participant_id)
        assert participant is not None  # the link cascades with the participant
        target = self.cipher.decrypt(link.target_sender_encrypted)
        proof = Proof.AGENT_CONFIRMED if link.agent_id is not None else Proof.ONE_TIME_CODE
        self._channel_log.ensure_contact(target, uow)
        session.execute(
            update(ChannelContact)
            .where(ChannelContact.sender_hash == link.target_sender_hash)
            .values(undeliverable_at=None, undeliverable_reason=None)
        )
        replacing = link.purpose == LinkPurpose.REPLACE.value
        old_lead = False
        moved_from: list[str] = []
        if replacing:
            old = session.scalars(
                select(ParticipantAddress)
                .where(ParticipantAddress.participant_id == participant.id)
                .where(ParticipantAddress.channel == Channel.WHATSAPP.value)
                .where(ParticipantAddress.sender_hash != link.target_sender_hash)
            ).all()
            old_lead = any(address.preferred for address in old)
            for address in old:
                contact = session.scalar(
                    select(ChannelContact).where(ChannelContact.sender_hash == address.sender_hash)
                )
                if contact is not None:
                    moved_from.append(self.cipher.decrypt(contact.address_encrypted))
                # The number left is told and may report the change as not theirs.
                session.add(
                    MovedAddress(
                        participant_id=participant.id,
                        old_sender_hash=address.sender_hash,
                        agent_id=link.agent_id,
                        changed_at=now,
                        report_until=now + REPORT_WINDOW,
                    )
                )
                session.delete(address)
            session.flush()
        link_address(session, participant.id, link.target_sender_hash, Channel.WHATSAPP, proof, now)
        number = SenderId.parse(target).address
        if replacing:
            if old_lead:
                _make_preferred(session, participant.id, link.target_sender_hash)
            participant.phone_encrypted = self.cipher.encrypt(number)
            participant.phone_hash = phone_lookup_hash(self.hash_key, number)
            participant.phone_verified_by = proof.value
        elif participant.phone_hash == phone_lookup_hash(self.hash_key, number):
            participant.phone_verified_by = proof.value
        actor = f"agent:{link.agent_id}" if link.agent_id is not None else _actor(answered_by, None)
        _audit(
            session, participant.id, actor, "number_changed" if replacing else "address_linked", now
        )
        session.delete(link)
        return LinkOutcome(
            LinkResult.REPLACED if replacing else LinkResult.LINKED,
            masked_phone=_masked(target),
            reference=participant.reference,
            moved_from=tuple(moved_from),
            moved_to=target if replacing else None,
            by_agent=replacing and link.agent_id is not None,
        )

    # -- telling the numbers a change concerns ------------------------------------------

    async def tell_number_change(
        self, courier: Courier, outcome: LinkOutcome, notice: NoticeText, now: datetime
    ) -> int:
        """Tell each number a change left that reminders and access moved (with how to
        report it), and, when an agent made the change, the new number too; the number of
        notices sent. Outside WhatsApp's window only the approved template may go."""
        if outcome.result is not LinkResult.REPLACED:
            return 0
        recipients = [(old, notice.to_old(outcome.masked_phone)) for old in outcome.moved_from]
        if outcome.by_agent and outcome.moved_to is not None:
            recipients.append((outcome.moved_to, notice.to_new(outcome.masked_phone)))
        template = (
            MessageTemplate(
                notice.template_sid, {"1": outcome.masked_phone, "2": outcome.reference}
            )
            if notice.template_sid
            else None
        )
        sent = 0
        for recipient, text in recipients:
            if not courier.has_channel(channel_of(recipient)):
                continue
            message = await asyncio.to_thread(
                self._channel_log.opening_message, recipient, text, template, now
            )
            if message is None:
                log.warning(
                    "number change notice to %s needs a WhatsApp template: set "
                    "SADAR_WHATSAPP_NUMBER_CHANGE_CONTENT_SID",
                    mask_sender(recipient),
                )
                continue
            delivery = await courier.send(recipient, message, purpose="number_change")
            sent += delivery.ok or delivery.uncertain
        return sent

    def report_not_me(self, sender_id: str, text: str, now: datetime) -> NotMeReport | None:
        """ "BUKAN SAYA" from a number a change left, within ``REPORT_WINDOW``: an audit
        event and a ticket for the participant's village agent, in one transaction. None
        when no change left this number lately (the message is then an ordinary one)."""
        with self.units() as uow:
            session = uow.session
            moved = session.scalars(
                select(MovedAddress)
                .where(MovedAddress.old_sender_hash == self._hash(sender_id))
                .where(MovedAddress.report_until > now)
                .order_by(MovedAddress.changed_at.desc())
                .with_for_update()
            ).first()
            if moved is None:
                return None
            participant = session.get(Participant, moved.participant_id)
            assert participant is not None  # moved addresses cascade with the participant
            opened = open_ticket(
                uow,
                self.cipher,
                self.hash_key,
                sender_id,
                TicketReason.NUMBER_CHANGE_REPORTED,
                [text],
                now,
                asked_village=participant.village,
            )
            if moved.reported_at is None:
                moved.reported_at = now
                _audit(session, participant.id, "wa:former_address", "number_change_reported", now)
            uow.commit()
            report = NotMeReport(
                opened.number, opened.agent_first_name, opened.agent_address, participant.reference
            )
        log.warning(
            "number change of %s reported as not the participant's doing (ticket %d)",
            report.reference,
            report.ticket_number,
        )
        return report

    def purge_expired(self, now: datetime) -> int:
        """Links nobody confirmed in time: the number they named is forgotten."""
        with self.units() as uow:
            expired = uow.session.scalars(
                select(AddressLink).where(AddressLink.expires_at <= now)
            ).all()
            for link in expired:
                uow.session.delete(link)
            # Past the report window, and code sends older than a day, count for nothing.
            uow.session.execute(delete(MovedAddress).where(MovedAddress.report_until <= now))
            purge_code_sends(uow.session, now)
            uow.commit()
        return len(expired)


def _make_preferred(session: Session, participant_id: int, sender_hash: str) -> None:
    session.execute(
        update(ParticipantAddress)
        .where(ParticipantAddress.participant_id == participant_id)
        .values(preferred=ParticipantAddress.sender_hash == sender_hash)
    )


def _actor(sender_id: str, agent_id: int | None) -> str:
    if agent_id is not None:
        return f"agent:{agent_id}"
    return f"{channel_of(sender_id).value}:participant"


def _audit(session: Session, participant_id: int, actor: str, action: str, now: datetime) -> None:
    session.add(
        AuditEvent(participant_id=participant_id, actor=actor, action=action, created_at=now)
    )


# --- who cannot be reached ------------------------------------------------------------


@dataclass(frozen=True)
class UnreachableResident:
    reference: str
    name: str
    why: Unreachable


def unreachable_in_village(
    uow: UnitOfWork, cipher: PiiCipher, agent: AgentRef
) -> list[UnreachableResident]:
    """Participants of the agent's village no reminder can reach ("warga tanpa nomor WA"),
    with why, for the agent to follow up; names masked."""
    with uow:
        session = uow.session
        found = []
        village = area_key(agent)[0]
        for participant in session.scalars(
            select(Participant)
            # A coarse cut in SQL (villages are free text); the exact match is area_key.
            .where(func.lower(Participant.village).contains(village, autoescape=True))
            .where(~reachable(Participant.id))
            .order_by(Participant.id)
        ):
            if area_key(participant) != area_key(agent):
                continue
            why = why_unreachable(address_states(session, participant.id)) or Unreachable.WEB_ONLY
            name = mask_name(cipher.decrypt(participant.full_name_encrypted))
            found.append(UnreachableResident(participant.reference, name, why))
    return found
