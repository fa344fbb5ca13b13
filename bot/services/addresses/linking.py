"""Linking a WhatsApp number to a participant, and changing their number: two purposes of
the one-time code service (bot.services.one_time_codes). The code goes to the number and
is typed back in the conversation that asked (a linked address, or the village agent's
for a number change), or, to add a number, sent back from that WhatsApp number itself. A
number Telegram already proved theirs (a shared contact) is linked at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.db.models import AddressLink, AuditEvent, ChannelContact, Participant, ParticipantAddress
from bot.domain.addresses import LinkPurpose, Proof
from bot.domain.consent import CodeVerdict
from bot.domain.replies import MessageTemplate
from bot.domain.senders import Channel, SenderId, channel_of, make_sender_id
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import keyed_hash, mask_digits
from bot.services.addresses.number_change import leave_old_numbers
from bot.services.addresses.reachability import link_address, make_preferred
from bot.services.agents import AgentRef, in_agents_village
from bot.services.channel_log import ChannelLog
from bot.services.courier import Courier
from bot.services.one_time_codes import CodeAnswer, OneTimeCodes, code_purpose_of
from bot.services.participants import participants_of_sender, phone_lookup_hash
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


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
    codes: OneTimeCodes

    def _hash(self, sender_id: str) -> str:
        return keyed_hash(self.hash_key, sender_id)

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
            if over or not self.codes.take_slot(session, number, f"link_{purpose}", now):
                return LinkRequest(LinkRequestResult.TOO_MANY, masked, participant.reference), None
            session.execute(delete(AddressLink).where(AddressLink.participant_id == participant.id))
            link = AddressLink(
                participant_id=participant.id,
                purpose=purpose.value,
                target_sender_hash=target_hash,
                target_sender_encrypted=self.cipher.encrypt(target),
                requester_sender_hash=self._hash(requester),
                agent_id=agent_id,
            )
            self.codes.hold(session, link, code, now, _actor(requester, agent_id))
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
        code = self.codes.new_code()
        held, target = await asyncio.to_thread(
            self.hold, requester, phone, purpose, code, now, agent=agent, reference=reference
        )
        if target is None:
            return held
        template = (
            MessageTemplate(message.template_sid, {"1": code, "2": str(self.codes.minutes)})
            if message.template_sid
            else None
        )
        kind = code_purpose_of(purpose)
        opening = await asyncio.to_thread(
            self.codes.opening, target, kind, message.text(code), template, now
        )
        if opening is None or not await self.codes.deliver(courier, target, kind, opening):
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

    def confirm(self, sender_id: str, text: str, now: datetime) -> LinkOutcome | None:
        """A code typed in ``sender_id``'s conversation; None when no link waits there."""
        answered = self.codes.confirm(
            AddressLink,
            sender_id,
            text,
            now,
            lambda uow, link: self._apply(uow, link, sender_id, now),
            _ended,
        )
        if answered.answer is CodeAnswer.NOTHING_WAITING:
            return None
        if answered.value is not None:
            outcome = answered.value
            if answered.answer is CodeAnswer.ACCEPTED:
                log.info(
                    "participant %s linked WhatsApp %s", outcome.reference, outcome.masked_phone
                )
            return outcome
        return LinkOutcome(LinkResult(answered.answer.value), answered.attempts_left)

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
            moved_from, old_lead = leave_old_numbers(
                session, self.cipher, participant.id, link.target_sender_hash, link.agent_id, now
            )
        link_address(session, participant.id, link.target_sender_hash, Channel.WHATSAPP, proof, now)
        number = SenderId.parse(target).address
        if replacing:
            if old_lead:
                make_preferred(session, participant.id, link.target_sender_hash)
            participant.phone_encrypted = self.cipher.encrypt(number)
            participant.phone_hash = phone_lookup_hash(self.hash_key, number)
            participant.phone_verified_by = proof.value
        elif participant.phone_hash == phone_lookup_hash(self.hash_key, number):
            participant.phone_verified_by = proof.value
        actor = f"agent:{link.agent_id}" if link.agent_id is not None else _actor(answered_by, None)
        _audit(
            session, participant.id, actor, "number_changed" if replacing else "address_linked", now
        )
        return LinkOutcome(
            LinkResult.REPLACED if replacing else LinkResult.LINKED,
            masked_phone=_masked(target),
            reference=participant.reference,
            moved_from=tuple(moved_from),
            moved_to=target if replacing else None,
            by_agent=replacing and link.agent_id is not None,
        )


def _ended(_link: AddressLink, verdict: CodeVerdict) -> LinkOutcome:
    return LinkOutcome(LinkResult(verdict.value))


def _actor(sender_id: str, agent_id: int | None) -> str:
    if agent_id is not None:
        return f"agent:{agent_id}"
    return f"{channel_of(sender_id).value}:participant"


def _audit(session: Session, participant_id: int, actor: str, action: str, now: datetime) -> None:
    session.add(
        AuditEvent(participant_id=participant_id, actor=actor, action=action, created_at=now)
    )
