"""One-time codes, whatever they prove: a WhatsApp number to link, a number change, a
walk-in's consent. This is the one place that holds a code (bound to its row as a keyed
hash, counted against the number's daily cap in bot.services.code_quota), opens and
delivers its message through the Courier, judges a typed code (attempts, lock, expiry:
the pure rules in bot.domain.consent), says which purpose a conversation is waiting for,
audits, and purges what expired.

What an accepted code does stays with the purpose's owner (linking:
bot.services.addresses.linking; walk-in consent: bot.services.on_behalf), called back
inside the transaction that uses the code. The codes wait in two tables: ``AddressLink``
(linking and number change) and ``PendingConsent`` (walk-in consent)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from bot.db.models import AddressLink, AuditEvent, PendingConsent
from bot.db.timestamps import as_utc
from bot.domain.addresses import LinkPurpose
from bot.domain.consent import (
    CodePolicy,
    CodeVerdict,
    attempts_left,
    find_code,
    judge_code,
    matching,
    new_code,
)
from bot.domain.replies import BotReply, MessageTemplate
from bot.domain.senders import Channel, SenderId
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import keyed_hash, mask_sender
from bot.services.channel_log import ChannelLog
from bot.services.code_quota import purge_code_sends, take_code_slot
from bot.services.courier import Courier
from bot.services.participants import phone_lookup_hash
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

#: A row a code waits in; each table is one owner's.
Held = TypeVar("Held", AddressLink, PendingConsent)
T = TypeVar("T")


class CodePurpose(StrEnum):
    #: One more address: a WhatsApp number added to a participant (``AddressLink``).
    LINK = "link"
    #: A new number replacing the participant's WhatsApp (``AddressLink``).
    NUMBER_CHANGE = "number_change"
    #: A walk-in's consent from their own WhatsApp (``PendingConsent``).
    WALK_IN_CONSENT = "walk_in_consent"


#: The purposes whose codes wait as ``AddressLink`` rows.
LINKING = frozenset({CodePurpose.LINK, CodePurpose.NUMBER_CHANGE})


def code_purpose_of(link: LinkPurpose) -> CodePurpose:
    """The code purpose of a link (``AddressLink.purpose`` keeps the ``LinkPurpose``)."""
    return CodePurpose.LINK if link is LinkPurpose.ADD else CodePurpose.NUMBER_CHANGE


def purpose_of(row: AddressLink | PendingConsent) -> CodePurpose:
    if isinstance(row, PendingConsent):
        return CodePurpose.WALK_IN_CONSENT
    return code_purpose_of(LinkPurpose(row.purpose))


class CodeEvent(StrEnum):
    HELD = "held"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    LOCKED = "locked"
    NOT_SENT = "not_sent"


def audit_action(purpose: CodePurpose, event: CodeEvent) -> str | None:
    """The audit trail's name for ``event``; None when it is not audited. A link code is
    audited when held (``link_code_add``/``link_code_replace``: the per-participant cap
    counts them) and when locked; its use shows as the address change itself."""
    if purpose is CodePurpose.WALK_IN_CONSENT:
        return f"consent_code_{event}"
    if event is CodeEvent.HELD:
        link = LinkPurpose.ADD if purpose is CodePurpose.LINK else LinkPurpose.REPLACE
        return f"link_code_{link}"
    return "link_code_locked" if event is CodeEvent.LOCKED else None


#: Per purpose: the keyed-hash domain a code is bound under, the Courier's purpose, what
#: the logs call it and the setting whose template it needs outside WhatsApp's window.
_HASH_DOMAIN = {AddressLink: "link-code", PendingConsent: "consent-code"}
_SENT_AS = {
    CodePurpose.LINK: ("link_code", "link code", "SADAR_WHATSAPP_LINK_CONTENT_SID"),
    CodePurpose.NUMBER_CHANGE: ("link_code", "link code", "SADAR_WHATSAPP_LINK_CONTENT_SID"),
    CodePurpose.WALK_IN_CONSENT: (
        "consent_code",
        "consent code",
        "SADAR_WHATSAPP_CONSENT_CONTENT_SID",
    ),
}


class CodeAnswer(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"
    #: The reply has no code in it (or more than one number that could be it).
    NO_CODE = "no_code"
    #: No code waits for this conversation.
    NOTHING_WAITING = "nothing_waiting"


@dataclass(frozen=True)
class Answered(Generic[T]):
    answer: CodeAnswer
    attempts_left: int = 0
    #: What the owner made of the code that was accepted, expired or locked.
    value: T | None = None


@dataclass(frozen=True)
class OneTimeCodes:
    #: A new unit of work per use case (the service is shared by concurrent requests).
    units: Callable[[], UnitOfWork]
    cipher: PiiCipher
    hash_key: str
    policy: CodePolicy

    @property
    def _channel_log(self) -> ChannelLog:
        return ChannelLog(self.units, self.hash_key, self.cipher)

    def new_code(self) -> str:
        return new_code(self.policy)

    @property
    def minutes(self) -> int:
        """How long a code lives, for the message that carries it."""
        return int(self.policy.valid_for.total_seconds() // 60)

    def _code_hash(self, row: AddressLink | PendingConsent, code: str) -> str:
        # Bound to the row: a code is worthless for any other one.
        return keyed_hash(self.hash_key, f"{_HASH_DOMAIN[type(row)]}:{row.id}:{code}")

    # -- holding and sending -------------------------------------------------------------

    def take_slot(self, session: Session, number: str, purpose: str, now: datetime) -> bool:
        """Count a code to ``number`` against its daily cap, in the caller's transaction."""
        return take_code_slot(session, self.hash_key, number, purpose, now)

    def hold(self, session: Session, row: Held, code: str, now: datetime, actor: str) -> None:
        """Keep ``row`` waiting for ``code`` until the policy's expiry, in the caller's
        transaction; only the code's keyed hash, bound to the row, is stored."""
        row.attempts = 0
        row.expires_at = now + self.policy.valid_for
        row.code_hash = ""
        session.add(row)
        session.flush()
        row.code_hash = self._code_hash(row, code)
        self._audit(session, row, CodeEvent.HELD, now, actor)

    def record(
        self,
        session: Session,
        purpose: CodePurpose,
        event: CodeEvent,
        now: datetime,
        *,
        actor: str,
        participant_id: int | None = None,
    ) -> None:
        """Audit ``event`` for a code of ``purpose`` (when that event is audited)."""
        action = audit_action(purpose, event)
        if action is not None:
            session.add(
                AuditEvent(
                    participant_id=participant_id, actor=actor, action=action, created_at=now
                )
            )

    def _audit(
        self,
        session: Session,
        row: AddressLink | PendingConsent,
        event: CodeEvent,
        now: datetime,
        actor: str | None = None,
    ) -> None:
        if isinstance(row, PendingConsent):
            self.record(
                session,
                CodePurpose.WALK_IN_CONSENT,
                event,
                now,
                actor=actor or f"agent:{row.agent_id}",
            )
            return
        self.record(
            session, purpose_of(row), event, now, actor=actor or "system",
            participant_id=row.participant_id,
        )  # fmt: skip

    def opening(
        self,
        target: str,
        purpose: CodePurpose,
        text: str,
        template: MessageTemplate | None,
        now: datetime,
    ) -> BotReply | None:
        """The code's message: ``text`` inside WhatsApp's window, else ``template``; None
        (logged) when a template is needed and none is approved."""
        message = self._channel_log.opening_message(target, text, template, now)
        if message is None:
            _, label, setting = _SENT_AS[purpose]
            log.warning(
                "%s to %s needs a WhatsApp template: set %s", label, mask_sender(target), setting
            )
        return message

    async def deliver(
        self, courier: Courier, target: str, purpose: CodePurpose, message: BotReply
    ) -> bool:
        """Send the code's message; False when the platform refused it for sure."""
        delivery = await courier.send(target, message, purpose=_SENT_AS[purpose][0])
        return delivery.ok or delivery.uncertain

    # -- answering -----------------------------------------------------------------------

    def _answerable(self, kind: type[Held], sender_id: str) -> ColumnElement[bool] | None:
        """What ``sender_id`` may answer; None when nothing of ``kind`` ever could.

        A link: the conversation that asked may type the code, and the number being added
        may send it back; a number change is confirmed only where it was asked (a linked
        address, or the village agent), never from the new number alone. A walk-in's
        consent: only the resident's own WhatsApp number (on a shared phone the code says
        whose registration it confirms)."""
        if kind is AddressLink:
            return self._links_for(sender_id)
        sender = SenderId.parse(sender_id)
        if sender.channel is not Channel.WHATSAPP:
            return None
        return PendingConsent.phone_hash == phone_lookup_hash(self.hash_key, sender.address)

    def _links_for(self, sender_id: str) -> ColumnElement[bool]:
        digest = keyed_hash(self.hash_key, sender_id)
        return (AddressLink.requester_sender_hash == digest) | and_(
            AddressLink.target_sender_hash == digest,
            AddressLink.purpose == LinkPurpose.ADD.value,
        )

    def awaited_by(self, sender_id: str) -> CodePurpose | None:
        """The purpose of the code ``sender_id`` would be answering: a waiting link first,
        else a walk-in's consent; None when no code waits for this conversation."""
        consent = self._answerable(PendingConsent, sender_id)
        with self.units() as uow:
            link = uow.session.scalar(
                select(AddressLink.purpose)
                .where(self._links_for(sender_id))
                .order_by(AddressLink.id)
                .limit(1)
            )
            if link is not None:
                return code_purpose_of(LinkPurpose(link))
            if consent is not None and uow.session.scalar(select(exists().where(consent))):
                return CodePurpose.WALK_IN_CONSENT
        return None

    def confirm(
        self,
        kind: type[Held],
        sender_id: str,
        text: str,
        now: datetime,
        accepted: Callable[[UnitOfWork, Held], T],
        ended: Callable[[Held, CodeVerdict], T],
    ) -> Answered[T]:
        """A reply in ``sender_id``'s conversation to a code of ``kind``. A right code in
        time is spent and ``accepted`` runs in the same transaction (a failure there leaves
        the code and its tries as they were); ``ended`` tells what a code that expires or
        locks here held, before it is deleted. Expiry and the attempt limit win over a
        right code; a wrong one counts against every code this conversation could answer,
        so several waiting give no extra guesses."""
        where = self._answerable(kind, sender_id)
        if where is None:
            return Answered(CodeAnswer.NOTHING_WAITING)
        code = find_code(text, self.policy)
        with self.units() as uow:
            session = uow.session
            waiting = list(
                session.scalars(select(kind).where(where).order_by(kind.id).with_for_update())
            )
            if not waiting:
                return Answered(CodeAnswer.NOTHING_WAITING)
            live = [row for row in waiting if now < as_utc(row.expires_at)]
            if not live:
                values = [
                    self._end(session, row, CodeVerdict.EXPIRED, now, ended) for row in waiting
                ]
                uow.commit()
                return Answered(CodeAnswer.EXPIRED, value=values[0])
            if code is None:
                return Answered(CodeAnswer.NO_CODE, self._attempts_left(live))
            matched = matching(
                waiting, lambda row: self._code_hash(row, code), lambda row: row.code_hash
            )
            if matched is None:
                answered = self._wrong_try(session, live, now, ended)
                uow.commit()
                return answered
            verdict = judge_code(
                True, matched.attempts, as_utc(matched.expires_at), now, self.policy
            )
            if verdict is not CodeVerdict.ACCEPTED:
                value = self._end(session, matched, verdict, now, ended)
                uow.commit()
                return Answered(CodeAnswer(verdict.value), value=value)
            self._audit(session, matched, CodeEvent.ACCEPTED, now)
            session.delete(matched)
            value = accepted(uow, matched)
            uow.commit()
        return Answered(CodeAnswer.ACCEPTED, value=value)

    def _attempts_left(self, live: list[Held]) -> int:
        return attempts_left((row.attempts for row in live), self.policy)

    def _wrong_try(
        self,
        session: Session,
        live: list[Held],
        now: datetime,
        ended: Callable[[Held, CodeVerdict], T],
    ) -> Answered[T]:
        locked: list[T] = []
        for row in live:
            verdict = judge_code(False, row.attempts, as_utc(row.expires_at), now, self.policy)
            row.attempts += 1
            if verdict is CodeVerdict.LOCKED:
                locked.append(self._end(session, row, verdict, now, ended))
        remaining = [row for row in live if row.attempts < self.policy.max_attempts]
        if remaining:
            return Answered(CodeAnswer.WRONG, self._attempts_left(remaining))
        return Answered(CodeAnswer.LOCKED, value=locked[0] if locked else None)

    def _end(
        self,
        session: Session,
        row: Held,
        verdict: CodeVerdict,
        now: datetime,
        ended: Callable[[Held, CodeVerdict], T],
    ) -> T:
        """A code that expired or locked: what it held (for the owner), then it is gone."""
        value = ended(row, verdict)
        session.delete(row)
        self._audit(session, row, CodeEvent(verdict.value), now)
        return value

    # -- purging -------------------------------------------------------------------------

    def purge(self, kind: type[Held], now: datetime) -> int:
        """Codes of ``kind`` nobody answered in time: they and what they held are gone."""
        with self.units() as uow:
            expired = uow.session.scalars(select(kind).where(kind.expires_at <= now)).all()
            for row in expired:
                self._audit(uow.session, row, CodeEvent.EXPIRED, now)
                uow.session.delete(row)
            uow.commit()
        return len(expired)

    def purge_expired(self, now: datetime) -> int:
        """Every code nobody answered in time, and code sends that no longer count."""
        purged = self.purge(AddressLink, now)
        consents = self.purge(PendingConsent, now)
        if consents:
            log.info("deleted %d registration(s) held past their consent code", consents)
        with self.units() as uow:
            purge_code_sends(uow.session, now)
            uow.commit()
        return purged + consents
