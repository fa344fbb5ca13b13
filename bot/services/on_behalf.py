"""A Perisai agent registers a walk-in on the resident's behalf. The data comes from the
agent; the consent must come from the resident, in one of two recorded ways:

* read aloud: the agent attests they read the consent text to the resident, who agreed;
  the consent record says so and names the agent;
* one-time code: the registration is held (encrypted) until the resident replies from their
  own WhatsApp number with the code sent there; only then is anything registered.

Either way the participant belongs to the resident's own WhatsApp number: their reminders
and "cek status" go there, not to the agent."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.models import Agent, AuditEvent, PendingConsent
from bot.domain.addresses import Proof
from bot.domain.clock import local_date
from bot.domain.consent import (
    CodePolicy,
    CodeVerdict,
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
)
from bot.domain.nik import parse_nik
from bot.domain.registration import Registration, answers_of
from bot.domain.replies import BotReply, MessageTemplate
from bot.domain.senders import Channel, SenderId, channel_of, make_sender_id
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import mask_digits, mask_sender
from bot.services.agents import AgentRef, agent_ref, is_agent_number
from bot.services.channel_log import ChannelLog
from bot.services.courier import Courier
from bot.services.one_time_codes import CodeEvent, CodePurpose, OneTimeCodes
from bot.services.participants import (
    DuplicateNik,
    RegisteredParticipant,
    nik_lookup_hash,
    phone_lookup_hash,
    register_with_consent,
)
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

#: Shown in the recorded wording instead of the code, which is never stored.
HIDDEN_CODE = "••••••"
_PURPOSE = CodePurpose.WALK_IN_CONSENT


def resident_sender_id(registration: Registration) -> str:
    """The conversation a walk-in's registration belongs to: their own WhatsApp number."""
    return make_sender_id(Channel.WHATSAPP, registration.phone)


class AgentNumber(ValueError):
    """The walk-in's WhatsApp number is an enrolled agent's: the code would reach the agent
    and the registration would belong to them. The resident's own number is needed."""


@dataclass(frozen=True)
class HeldRegistration:
    """A registration waiting for the resident's code; ``code`` is shown once, never stored."""

    code: str
    resident_sender_id: str
    expires_at: datetime
    #: The code did not go yet: it goes when the resident's number writes to Sadar.
    awaiting_contact: bool = False


@dataclass(frozen=True)
class CodeSentOnContact:
    """A waiting code that went when the resident wrote: whom to tell, and how it went."""

    agent_sender_id: str
    resident_name: str
    delivered: bool


class CodeResult(StrEnum):
    REGISTERED = "registered"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"
    #: The reply has no code in it (or more than one number that could be it).
    NO_CODE = "no_code"
    #: Nothing waits for this number (never sent, already used, or not on WhatsApp).
    NOTHING_WAITING = "nothing_waiting"
    ALREADY_REGISTERED = "already_registered"


@dataclass(frozen=True)
class CodeOutcome:
    result: CodeResult
    attempts_left: int = 0
    registered: RegisteredParticipant | None = None
    resident_name: str | None = None
    #: The agent's conversation, to tell them how it ended.
    agent_sender_id: str | None = None
    #: Who registered the resident, told to the resident with their reference (the reply
    #: to their code is their notice of the registration: no second message goes).
    agent: AgentRef | None = None


def _audit(session: Session, agent_id: int, action: str, now: datetime) -> None:
    session.add(
        AuditEvent(participant_id=None, actor=f"agent:{agent_id}", action=action, created_at=now)
    )


def _encode(registration: Registration) -> str:
    return json.dumps(answers_of(registration))


def _decode(payload: str, today: date) -> Registration:
    data = json.loads(payload)
    return Registration(
        **{
            **data,
            "nik": parse_nik(data["nik"], today),
            "birth_date": date.fromisoformat(data["birth_date"]),
            "channel": Channel(data["channel"]),
        }
    )


@dataclass(frozen=True)
class OnBehalfRegistrations:
    #: A new unit of work per use case (the service is shared by concurrent requests).
    units: Callable[[], UnitOfWork]
    cipher: PiiCipher
    hash_key: str
    #: The one-time code service: this is its walk-in consent purpose.
    codes: OneTimeCodes

    @property
    def policy(self) -> CodePolicy:
        return self.codes.policy

    @property
    def _channel_log(self) -> ChannelLog:
        return ChannelLog(self.units, self.hash_key, self.cipher)

    def _register(
        self,
        uow: UnitOfWork,
        registration: Registration,
        agent_id: int,
        method: ConsentMethod,
        wording: str,
        now: datetime,
    ) -> RegisteredParticipant:
        """Consent, participant and the resident's address, in ``uow``'s transaction."""
        sender_id = resident_sender_id(registration)
        decision = ConsentDecision(
            channel=Channel.WHATSAPP,
            purpose=ConsentPurpose.REGISTRATION,
            granted=True,
            wording=wording,
            method=method,
            agent_id=agent_id,
        )
        with uow:
            result = register_with_consent(
                uow,
                self.cipher,
                self.hash_key,
                registration,
                sender_id,
                decision,
                now,
                registered_by_agent_id=agent_id,
                proof=Proof.AGENT_WALK_IN,
            )
            uow.commit()
        return result

    def register_read_aloud(
        self, agent_id: int, registration: Registration, wording: str, now: datetime
    ) -> RegisteredParticipant:
        """The agent attests they read ``wording`` aloud and the resident agreed; a code
        still waiting for the same person is dropped (it would confirm nothing)."""
        self.refuse_agent_number(agent_id, registration.phone, now)
        uow = self.units()
        with uow:
            nik_hash = nik_lookup_hash(self.hash_key, registration.nik.value)
            uow.session.execute(delete(PendingConsent).where(PendingConsent.nik_hash == nik_hash))
            registered = self._register(
                uow, registration, agent_id, ConsentMethod.AGENT_READ_ALOUD, wording, now
            )
            uow.commit()
        return registered

    def hold_for_code(
        self,
        agent_id: int,
        agent_sender_id: str,
        registration: Registration,
        code: str,
        wording: str,
        now: datetime,
        awaiting_contact: bool = False,
    ) -> HeldRegistration:
        """Keep the registration until the resident replies with ``code`` (from
        ``new_code``). A new code for the same person replaces theirs; others waiting on
        the same (shared) phone stay. ``awaiting_contact``: the code is not sent yet (a
        new one goes when the resident's number writes)."""
        nik_hash = nik_lookup_hash(self.hash_key, registration.nik.value)
        with self.units() as uow:
            session = uow.session
            session.execute(delete(PendingConsent).where(PendingConsent.nik_hash == nik_hash))
            pending = PendingConsent(
                agent_id=agent_id,
                phone_hash=phone_lookup_hash(self.hash_key, registration.phone),
                nik_hash=nik_hash,
                registration_encrypted=self.cipher.encrypt(_encode(registration)),
                agent_sender_encrypted=self.cipher.encrypt(agent_sender_id),
                wording=wording,
                awaiting_contact=awaiting_contact,
            )
            self.codes.hold(session, pending, code, now, f"agent:{agent_id}")
            expires_at = pending.expires_at
            uow.commit()
        log.info(
            "agent %d holds a registration for %s until %s",
            agent_id,
            mask_digits(registration.phone, 5, 2),
            expires_at.isoformat(timespec="minutes"),
        )
        return HeldRegistration(
            code, resident_sender_id(registration), expires_at, awaiting_contact
        )

    async def send_code(
        self,
        courier: Courier,
        agent: AgentRef,
        agent_sender_id: str,
        registration: Registration,
        code_text: Callable[[str], str],
        template_sid: str | None,
        now: datetime,
    ) -> HeldRegistration | None:
        """Hold the registration and send a new code to the resident's WhatsApp; None when
        it cannot reach them (no WhatsApp sender, a template needed and none approved, the
        number's daily cap, or the platform refused), and then nothing stays held.
        ``code_text(code)`` is the message; what the resident was shown, without the code,
        is what their consent record keeps."""
        resident = resident_sender_id(registration)
        await asyncio.to_thread(self.refuse_agent_number, agent.id, registration.phone, now)
        if not courier.has_channel(Channel.WHATSAPP):
            log.warning("consent code not sent: no WhatsApp sender is configured")
            await asyncio.to_thread(self.not_sent, agent.id, now)
            return None
        code = self.codes.new_code()
        template = (
            MessageTemplate(
                template_sid, {"1": agent.name, "2": code, "3": str(self.codes.minutes)}
            )
            if template_sid
            else None
        )
        message = await asyncio.to_thread(
            self.codes.opening, resident, _PURPOSE, code_text(code), template, now
        )
        if message is None:
            # Outside the 24-hour window with no approved template: held until the
            # resident's number writes to Sadar, then a code goes (send_awaited_codes).
            return await asyncio.to_thread(
                self.hold_for_code, agent.id, agent_sender_id, registration, code,
                code_text(HIDDEN_CODE), now, True,
            )  # fmt: skip
        if not await asyncio.to_thread(self.take_code_slot, registration.phone, now):
            log.warning("consent code not sent: %s had its codes for today", mask_sender(resident))
            await asyncio.to_thread(self.not_sent, agent.id, now)
            return None
        wording = code_text(HIDDEN_CODE)
        if message.template is not None:
            wording += f"\n(template WhatsApp {template_sid})"
        held = await asyncio.to_thread(
            self.hold_for_code, agent.id, agent_sender_id, registration, code, wording, now
        )
        if not await self.codes.deliver(courier, resident, _PURPOSE, message):
            await asyncio.to_thread(self.release, agent.id, registration, now)
            return None
        return held

    async def send_awaited_codes(
        self, courier: Courier, sender_id: str, now: datetime
    ) -> list[CodeSentOnContact]:
        """The resident's number wrote to Sadar: every registration held for it until then
        gets a fresh code, sent now that WhatsApp allows free text (the daily cap still
        counts). The agents are told by the caller."""
        if channel_of(sender_id) is not Channel.WHATSAPP:
            return []
        phone = SenderId.parse(sender_id).address
        to_send = await asyncio.to_thread(self._codes_for_contact, phone, now)
        sent = []
        for text, agent_sender_id, name in to_send:
            delivered = await self.codes.deliver(courier, sender_id, _PURPOSE, BotReply(text=text))
            sent.append(CodeSentOnContact(agent_sender_id, name, delivered))
        return sent

    def _codes_for_contact(self, phone: str, now: datetime) -> list[tuple[str, str, str]]:
        with self.units() as uow:
            session = uow.session
            waiting = session.scalars(
                select(PendingConsent)
                .where(PendingConsent.phone_hash == phone_lookup_hash(self.hash_key, phone))
                .where(PendingConsent.awaiting_contact.is_(True))
                .where(PendingConsent.expires_at > now)
                .with_for_update()
            ).all()
            to_send = []
            for pending in waiting:
                if not self.codes.take_slot(session, phone, "consent_code", now):
                    log.warning("waiting consent code not sent: the number had its codes today")
                    continue
                code = self.codes.new_code()
                self.codes.hold(session, pending, code, now, f"agent:{pending.agent_id}")
                pending.awaiting_contact = False
                registration, agent_sender_id = self._held(pending, now)
                to_send.append(
                    (pending.wording.replace(HIDDEN_CODE, code), agent_sender_id,
                     registration.full_name)
                )  # fmt: skip
            uow.commit()
        return to_send

    def refuse_agent_number(self, agent_id: int, phone: str, now: datetime) -> None:
        """Raise ``AgentNumber`` (audited) when ``phone`` belongs to any enrolled agent."""
        if not is_agent_number(self.units(), self.hash_key, phone):
            return
        with self.units() as uow:
            _audit(uow.session, agent_id, "walk_in_agent_number_refused", now)
            uow.commit()
        log.warning("agent %d gave an agent's number as a walk-in's WhatsApp", agent_id)
        raise AgentNumber(mask_digits(phone, 5, 2))

    def not_sent(self, agent_id: int, now: datetime) -> None:
        """A code that could not be sent (no sender, no template, the day's cap)."""
        with self.units() as uow:
            self._record_not_sent(uow.session, agent_id, now)
            uow.commit()

    def _record_not_sent(self, session: Session, agent_id: int, now: datetime) -> None:
        self.codes.record(session, _PURPOSE, CodeEvent.NOT_SENT, now, actor=f"agent:{agent_id}")

    def take_code_slot(self, phone: str, now: datetime) -> bool:
        """Count this code against the number's daily cap (bot.services.code_quota)."""
        with self.units() as uow:
            taken = self.codes.take_slot(uow.session, phone, "consent_code", now)
            uow.commit()
        return taken

    def release(self, agent_id: int, registration: Registration, now: datetime) -> None:
        """Forget a held registration whose code could not be sent."""
        nik_hash = nik_lookup_hash(self.hash_key, registration.nik.value)
        with self.units() as uow:
            uow.session.execute(delete(PendingConsent).where(PendingConsent.nik_hash == nik_hash))
            self._record_not_sent(uow.session, agent_id, now)
            uow.commit()

    def confirm(self, sender_id: str, text: str, now: datetime) -> CodeOutcome:
        """The resident's reply. Only their own WhatsApp number can answer for them; on a
        shared phone the code says whose registration it confirms. Accepting a code
        registers the resident and removes the hold in one transaction: a failure in
        between leaves the hold (and the code) as they were."""
        answered = self.codes.confirm(
            PendingConsent, sender_id, text, now, self._accepted(now), self._ended(now)
        )
        if answered.value is not None:
            return answered.value
        return CodeOutcome(CodeResult(answered.answer.value), answered.attempts_left)

    def _held(self, pending: PendingConsent, now: datetime) -> tuple[Registration, str]:
        registration = _decode(self.cipher.decrypt(pending.registration_encrypted), local_date(now))
        return registration, self.cipher.decrypt(pending.agent_sender_encrypted)

    def _accepted(self, now: datetime) -> Callable[[UnitOfWork, PendingConsent], CodeOutcome]:
        def register(uow: UnitOfWork, pending: PendingConsent) -> CodeOutcome:
            registration, agent_sender_id = self._held(pending, now)
            try:
                registered = self._register(
                    uow, registration, pending.agent_id, ConsentMethod.ONE_TIME_CODE,
                    pending.wording, now,
                )  # fmt: skip
            except DuplicateNik:
                # Registered meanwhile (another walk-in, the resident's own chat): the hold
                # has nothing left to do.
                return CodeOutcome(
                    CodeResult.ALREADY_REGISTERED,
                    resident_name=registration.full_name,
                    agent_sender_id=agent_sender_id,
                )
            agent = uow.session.get(Agent, pending.agent_id)
            return CodeOutcome(
                CodeResult.REGISTERED,
                registered=registered,
                resident_name=registration.full_name,
                agent_sender_id=agent_sender_id,
                agent=agent_ref(agent) if agent is not None else None,
            )

        return register

    def _ended(self, now: datetime) -> Callable[[PendingConsent, CodeVerdict], CodeOutcome]:
        def ended(pending: PendingConsent, verdict: CodeVerdict) -> CodeOutcome:
            registration, agent_sender_id = self._held(pending, now)
            return CodeOutcome(
                CodeResult(verdict.value),
                resident_name=registration.full_name,
                agent_sender_id=agent_sender_id,
            )

        return ended

    def purge_expired(self, now: datetime) -> int:
        """Delete held registrations nobody confirmed in time: nothing kept without consent."""
        return self.codes.purge(PendingConsent, now)
