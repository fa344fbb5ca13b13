"""A Perisai agent registers a walk-in on the resident's behalf. The data comes from the
agent; the consent must come from the resident, in one of two recorded ways:

* read aloud: the agent attests they read the consent text to the resident, who agreed;
  the consent record says so and names the agent;
* one-time code: the registration is held (encrypted) until the resident replies from their
  own WhatsApp number with the code sent there; only then is anything registered.

Either way the participant belongs to the resident's own WhatsApp number: their reminders
and "cek status" go there, not to the agent."""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.crypto import PiiCipher
from bot.db.models import AuditEvent, PendingConsent
from bot.domain.clock import local_date
from bot.domain.consent import (
    CodePolicy,
    CodeVerdict,
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    find_code,
    judge_code,
)
from bot.domain.nik import parse_nik
from bot.domain.registration import Registration
from bot.domain.senders import Channel, channel_of, make_sender_id
from bot.privacy import keyed_hash, mask_digits
from bot.services.channel_log import ChannelLog, as_utc
from bot.services.consent import record_consent
from bot.services.participants import (
    DuplicateNik,
    RegisteredParticipant,
    nik_is_registered,
    nik_lookup_hash,
    phone_lookup_hash,
    register_participant,
)

log = logging.getLogger(__name__)


def resident_sender_id(registration: Registration) -> str:
    """The conversation a walk-in's registration belongs to: their own WhatsApp number."""
    return make_sender_id(Channel.WHATSAPP, registration.phone)


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
    sessions: sessionmaker[Session]
    cipher: PiiCipher
    hash_key: str
    policy: CodePolicy

    @property
    def _channel_log(self) -> ChannelLog:
        return ChannelLog(self.sessions, self.hash_key, self.cipher)

    def _register(
        self,
        registration: Registration,
        agent_id: int,
        method: ConsentMethod,
        wording: str,
        now: datetime,
    ) -> RegisteredParticipant:
        if nik_is_registered(self.sessions, self.hash_key, registration.nik.value):
            # Checked before the consent is recorded, so a refusal leaves no stray record.
            raise DuplicateNik(registration.nik.value[:6])
        sender_id = resident_sender_id(registration)
        decision = ConsentDecision(
            channel=Channel.WHATSAPP,
            purpose=ConsentPurpose.REGISTRATION,
            granted=True,
            wording=wording,
            method=method,
            agent_id=agent_id,
        )
        consent = record_consent(self.sessions, self.hash_key, sender_id, decision, now)
        result = register_participant(
            self.sessions,
            self.cipher,
            self.hash_key,
            registration,
            sender_id,
            now,
            consent_record_id=consent.id,
            registered_by_agent_id=agent_id,
        )
        # Reminders go to the resident's number; they have not written yet, so WhatsApp
        # will need a template until they do.
        self._channel_log.ensure_contact(sender_id)
        return result

    def register_read_aloud(
        self, agent_id: int, registration: Registration, wording: str, now: datetime
    ) -> RegisteredParticipant:
        """The agent attests they read ``wording`` aloud and the resident agreed."""
        return self._register(registration, agent_id, ConsentMethod.AGENT_READ_ALOUD, wording, now)

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
        with self.sessions.begin() as session:
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
        log.info(
            "agent %d holds a registration for %s until %s",
            agent_id,
            mask_digits(registration.phone, 5, 2),
            expires_at.isoformat(timespec="minutes"),
        )
        return HeldRegistration(code, resident_sender_id(registration), expires_at)

    def release(self, agent_id: int, registration: Registration, now: datetime) -> None:
        """Forget a held registration whose code could not be sent."""
        nik_hash = nik_lookup_hash(self.hash_key, registration.nik.value)
        with self.sessions.begin() as session:
            session.execute(delete(PendingConsent).where(PendingConsent.nik_hash == nik_hash))
            _audit(session, agent_id, "consent_code_not_sent", now)

    def confirm(self, sender_id: str, text: str, now: datetime) -> CodeOutcome:
        """The resident's reply. Only their own WhatsApp number can answer for them; on a
        shared phone the code says whose registration it confirms."""
        if channel_of(sender_id) is not Channel.WHATSAPP:
            return CodeOutcome(CodeResult.NOTHING_WAITING)
        phone_hash = phone_lookup_hash(self.hash_key, sender_id.partition(":")[2])
        code = find_code(text, self.policy)
        with self.sessions.begin() as session:
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
            matched = next(
                (
                    p
                    for p in waiting
                    if hmac.compare_digest(self._code_hash(p.id, code), p.code_hash)
                ),
                None,
            )
            if matched is None:
                return self._wrong_try(session, live, now)
            verdict = judge_code(
                True, matched.attempts, as_utc(matched.expires_at), now, self.policy
            )
            registration, agent_sender_id = self._close(session, matched, verdict, now)
            agent_id, wording = matched.agent_id, matched.wording
        if verdict is not CodeVerdict.ACCEPTED:
            return CodeOutcome(
                CodeResult(verdict.value),
                resident_name=registration.full_name,
                agent_sender_id=agent_sender_id,
            )
        try:
            registered = self._register(
                registration, agent_id, ConsentMethod.ONE_TIME_CODE, wording, now
            )
        except DuplicateNik:
            return CodeOutcome(
                CodeResult.ALREADY_REGISTERED,
                resident_name=registration.full_name,
                agent_sender_id=agent_sender_id,
            )
        return CodeOutcome(
            CodeResult.REGISTERED,
            registered=registered,
            resident_name=registration.full_name,
            agent_sender_id=agent_sender_id,
        )

    def _attempts_left(self, live: list[PendingConsent]) -> int:
        return min(self.policy.max_attempts - p.attempts for p in live)

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
        with self.sessions.begin() as session:
            expired = session.scalars(
                select(PendingConsent).where(PendingConsent.expires_at <= now)
            ).all()
            for pending in expired:
                _audit(session, pending.agent_id, "consent_code_expired", now)
                session.delete(pending)
        if expired:
            log.info("deleted %d registration(s) held past their consent code", len(expired))
        return len(expired)
