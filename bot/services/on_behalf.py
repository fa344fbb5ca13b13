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

from bot.crypto import PiiCipher
from bot.db.models import AuditEvent, PendingConsent
from bot.domain.addresses import Proof
from bot.domain.clock import local_date
from bot.domain.consent import (
    CodePolicy,
    CodeVerdict,
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    attempts_left,
    find_code,
    judge_code,
    matching,
    new_code,
)
from bot.domain.nik import parse_nik
from bot.domain.registration import Registration
from bot.domain.replies import MessageTemplate
from bot.domain.senders import Channel, SenderId, make_sender_id
from bot.privacy import keyed_hash, mask_digits, mask_sender
from bot.services.agents import AgentRef, is_agent_number
from bot.services.channel_log import ChannelLog, as_utc
from bot.services.code_quota import take_code_slot
from bot.services.courier import Courier
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


def _audit(session: Session, agent_id: int, action: str, now: datetime) -> None:
    session.add(
        AuditEvent(participant_id=None, actor=f"agent:{agent_id}", action=action, created_at=now)
    )


def _encode(registration: Registration) -> str:
    return json.dumps(
        {
            "full_name": registration.full_name,
            "nik": registration.nik.value,
            "birth_date": registration.birth_date.isoformat(),
            "phone": registration.phone,
            "village": registration.village,
            "district": registration.district,
            "regency": registration.regency,
            "occupation": registration.occupation,
            "declared_income": registration.declared_income,
            "with_jht": registration.with_jht,
            "channel": registration.channel.value,
        }
    )


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
    policy: CodePolicy

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
            # Reminders go to the resident's number; they have not written yet, so WhatsApp
            # will need a template until they do.
            self._channel_log.ensure_contact(sender_id, uow)
            uow.commit()
        return result

    def register_read_aloud(
        self, agent_id: int, registration: Registration, wording: str, now: datetime
    ) -> RegisteredParticipant:
        """The agent attests they read ``wording`` aloud and the resident agreed."""
        self.refuse_agent_number(agent_id, registration.phone, now)
        return self._register(
            self.units(), registration, agent_id, ConsentMethod.AGENT_READ_ALOUD, wording, now
        )

    def _code_hash(self, pending_id: int, code: str) -> str:
        # Bound to the row, so a code is worthless for any other registration.
        return keyed_hash(self.hash_key, f"consent-code:{pending_id}:{code}")

    def hold_for_code(
        self,
        agent_id: int,
        agent_sender_id: str,
        registration: Registration,
        code: str,
        wording: str,
        now: datetime,
    ) -> HeldRegistration:
        """Keep the registration until the resident replies with ``code`` (from
        ``new_code``). A new code for the same person replaces theirs; others waiting on
        the same (shared) phone stay."""
        nik_hash = nik_lookup_hash(self.hash_key, registration.nik.value)
        expires_at = now + self.policy.valid_for
        with self.units() as uow:
            session = uow.session
            session.execute(delete(PendingConsent).where(PendingConsent.nik_hash == nik_hash))
            pending = PendingConsent(
                agent_id=agent_id,
                phone_hash=phone_lookup_hash(self.hash_key, registration.phone),
                nik_hash=nik_hash,
                code_hash="",
                registration_encrypted=self.cipher.encrypt(_encode(registration)),
                agent_sender_encrypted=self.cipher.encrypt(agent_sender_id),
                wording=wording,
                attempts=0,
                expires_at=expires_at,
            )
            session.add(pending)
            session.flush()
            pending.code_hash = self._code_hash(pending.id, code)
            _audit(session, agent_id, "consent_code_held", now)
            uow.commit()
        log.info(
            "agent %d holds a registration for %s until %s",
            agent_id,
            mask_digits(registration.phone, 5, 2),
            expires_at.isoformat(timespec="minutes"),
        )
        return HeldRegistration(code, resident_sender_id(registration), expires_at)

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
        it cannot reach them (no WhatsApp sender, a template needed and none approved, or
        the platform refused), and then nothing stays held. ``code_text(code)`` is the
        message; what the resident was shown, without the code, is what their consent
        record keeps."""
        resident = resident_sender_id(registration)
        await asyncio.to_thread(self.refuse_agent_number, agent.id, registration.phone, now)
        if not courier.has_channel(Channel.WHATSAPP):
            log.warning("consent code not sent: no WhatsApp sender is configured")
            await asyncio.to_thread(self.not_sent, agent.id, now)
            return None
        code = new_code(self.policy)
        minutes = int(self.policy.valid_for.total_seconds() // 60)
        template = (
            MessageTemplate(template_sid, {"1": agent.name, "2": code, "3": str(minutes)})
            if template_sid
            else None
        )
        message = await asyncio.to_thread(
            self._channel_log.opening_message, resident, code_text(code), template, now
        )
        if message is None:
            log.warning(
                "consent code to %s needs a WhatsApp template: set "
                "SADAR_WHATSAPP_CONSENT_CONTENT_SID",
                mask_sender(resident),
            )
            await asyncio.to_thread(self.not_sent, agent.id, now)
            return None
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
        delivery = await courier.send(resident, message, purpose="consent_code")
        if not delivery.ok and not delivery.uncertain:
            await asyncio.to_thread(self.release, agent.id, registration, now)
            return None
        return held

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
            _audit(uow.session, agent_id, "consent_code_not_sent", now)
            uow.commit()

    def take_code_slot(self, phone: str, now: datetime) -> bool:
        """Count this code against the number's daily cap (bot.services.code_quota)."""
        with self.units() as uow:
            taken = take_code_slot(uow.session, self.hash_key, phone, "consent_code", now)
            uow.commit()
        return taken

    def release(self, agent_id: int, registration: Registration, now: datetime) -> None:
        """Forget a held registration whose code could not be sent."""
        nik_hash = nik_lookup_hash(self.hash_key, registration.nik.value)
        with self.units() as uow:
            uow.session.execute(delete(PendingConsent).where(PendingConsent.nik_hash == nik_hash))
            _audit(uow.session, agent_id, "consent_code_not_sent", now)
            uow.commit()

    def confirm(self, sender_id: str, text: str, now: datetime) -> CodeOutcome:
        """The resident's reply. Only their own WhatsApp number can answer for them; on a
        shared phone the code says whose registration it confirms. Accepting a code
        registers the resident and removes the hold in one transaction: a failure in
        between leaves the hold (and the code) as they were."""
        sender = SenderId.parse(sender_id)
        if sender.channel is not Channel.WHATSAPP:
            return CodeOutcome(CodeResult.NOTHING_WAITING)
        phone_hash = phone_lookup_hash(self.hash_key, sender.address)
        code = find_code(text, self.policy)
        with self.units() as uow:
            session = uow.session
            waiting = session.scalars(
                select(PendingConsent)
                .where(PendingConsent.phone_hash == phone_hash)
                .order_by(PendingConsent.id)
                .with_for_update()
            ).all()
            live = [p for p in waiting if now < as_utc(p.expires_at)]
            if not waiting or (code is None and not live):
                return CodeOutcome(CodeResult.NOTHING_WAITING)
            if code is None:
                return CodeOutcome(CodeResult.NO_CODE, self._attempts_left(live))
            matched = matching(
                waiting, lambda p: self._code_hash(p.id, code), lambda p: p.code_hash
            )
            if matched is None:
                outcome = self._wrong_try(session, live, now)
                uow.commit()
                return outcome
            verdict = judge_code(
                True, matched.attempts, as_utc(matched.expires_at), now, self.policy
            )
            agent_id, wording = matched.agent_id, matched.wording
            registration, agent_sender_id = self._close(session, matched, verdict, now)
            if verdict is not CodeVerdict.ACCEPTED:
                uow.commit()
                return CodeOutcome(
                    CodeResult(verdict.value),
                    resident_name=registration.full_name,
                    agent_sender_id=agent_sender_id,
                )
            try:
                registered = self._register(
                    uow, registration, agent_id, ConsentMethod.ONE_TIME_CODE, wording, now
                )
            except DuplicateNik:
                # Registered meanwhile (another walk-in, the resident's own chat): the hold
                # has nothing left to do.
                uow.commit()
                return CodeOutcome(
                    CodeResult.ALREADY_REGISTERED,
                    resident_name=registration.full_name,
                    agent_sender_id=agent_sender_id,
                )
            uow.commit()
        return CodeOutcome(
            CodeResult.REGISTERED,
            registered=registered,
            resident_name=registration.full_name,
            agent_sender_id=agent_sender_id,
        )

    def _attempts_left(self, live: list[PendingConsent]) -> int:
        return attempts_left((p.attempts for p in live), self.policy)

    def _wrong_try(
        self, session: Session, live: list[PendingConsent], now: datetime
    ) -> CodeOutcome:
        """A code that matches nothing counts against every code waiting on this phone,
        so sharing a phone gives no extra guesses; codes out of tries die."""
        if not live:
            return CodeOutcome(CodeResult.NOTHING_WAITING)
        locked: CodeOutcome | None = None
        for pending in live:
            verdict = judge_code(
                False, pending.attempts, as_utc(pending.expires_at), now, self.policy
            )
            pending.attempts += 1
            if verdict is CodeVerdict.LOCKED:
                registration, agent_sender_id = self._close(session, pending, verdict, now)
                locked = locked or CodeOutcome(
                    CodeResult.LOCKED,
                    resident_name=registration.full_name,
                    agent_sender_id=agent_sender_id,
                )
        remaining = [p for p in live if p.attempts < self.policy.max_attempts]
        if remaining:
            return CodeOutcome(CodeResult.WRONG, self._attempts_left(remaining))
        assert locked is not None
        return locked

    def _close(
        self, session: Session, pending: PendingConsent, verdict: CodeVerdict, now: datetime
    ) -> tuple[Registration, str]:
        """Delete a held registration that ends here; what it held, for the caller."""
        registration = _decode(self.cipher.decrypt(pending.registration_encrypted), local_date(now))
        agent_sender_id = self.cipher.decrypt(pending.agent_sender_encrypted)
        session.delete(pending)
        _audit(session, pending.agent_id, f"consent_code_{verdict}", now)
        return registration, agent_sender_id

    def purge_expired(self, now: datetime) -> int:
        """Delete held registrations nobody confirmed in time: nothing kept without consent."""
        with self.units() as uow:
            expired = uow.session.scalars(
                select(PendingConsent).where(PendingConsent.expires_at <= now)
            ).all()
            for pending in expired:
                _audit(uow.session, pending.agent_id, "consent_code_expired", now)
                uow.session.delete(pending)
            uow.commit()
        if expired:
            log.info("deleted %d registration(s) held past their consent code", len(expired))
        return len(expired)
