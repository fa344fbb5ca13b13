"""A participant's erasure (UU PDP right to erasure, "hapus data saya"), complete and in
one transaction: whatever address they ask from, nothing of them stays that could be
mapped back to them.

Gone: the record, every address and its contact (unless another participant shares it: a
family phone), every conversation of theirs in Rasa's store (each address's, the
registration's own, a number they moved away from unless it is now another
participant's), their tickets with every message, waiting one-time codes (address links,
the day's code counts to their numbers, a walk-in registration held for their consent
code), queued reminders, the registration funnel's journeys of each of those
conversations (bot/services/funnel.py). The web chat's conversation is found through its
contact, which a registration now always writes (bot.services.participants._know_contact); a web
registration made before that has none, and its conversation goes with the retention
purge instead.

Kept, without any identifier (``ERASED`` where a column needs a value, NULL elsewhere):

- the audit trail: each of their events keeps its kind and time (that a registration, a
  payment, an erasure happened); the participant id, the sender-hash actor, the reference,
  ticket number or payment id in ``fields`` go. An agent's or administrator's actor stays
  (what staff did is what the audit is for; it names no resident);
- the consent record: proof of what wording was agreed, when and how; its sender hash goes;
- payments, for the office's accounting: amount, months, covered period, receipt (and a
  jimpitan group's receipt), source, who recorded it when it was an agent, when it was
  paid, and the payment provider's reference for reconciling statements (the provider
  holds that transaction under its own duty). The participant id goes, and a resident's
  own report loses its channel-and-hash actor;
- a dispute about their registration: its state and times; the NIK hash and reference go;
- delivery records (outbound_messages) of their unshared addresses: counts and statuses,
  without the recipient hash or the platform's message id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from bot.db.models import (
    AddressLink,
    AuditEvent,
    ChannelContact,
    CodeSend,
    ConsentRecord,
    Dispute,
    MovedAddress,
    OutboundMessage,
    Participant,
    ParticipantAddress,
    Payment,
    PendingConsent,
    Reminder,
)
from bot.domain.senders import Channel, SenderId, channel_of, make_sender_id
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import keyed_hash
from bot.services import funnel
from bot.services.channel_log import ERASED_RECIPIENT
from bot.services.code_quota import destination_hash
from bot.services.disputes import DisputeState
from bot.services.handoff import erase_tickets_of, ticket_label
from bot.services.participants import participants_of_sender
from bot.services.registry.submissions import cancel_or_withdraw
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

#: What an identifier becomes where its column needs a value: the same for everyone, so
#: no lookup can map it back.
ERASED = ERASED_RECIPIENT
#: Actors that name staff, not a resident: kept in the audit trail.
_STAFF_ACTORS = ("agent:", "admin", "system")
#: Disputes still waiting: cancelled when the registration they are about is erased.
_OPEN_DISPUTES = (DisputeState.CONFIRMING.value, DisputeState.AWAITING_ADMIN.value)


@dataclass(frozen=True)
class Erased:
    reference: str
    #: Every conversation that was an address of the participant: their chat history goes
    #: with the record.
    sender_ids: tuple[str, ...]
    #: What happened to the hand-over to BPJS Ketenagakerjaan (submissions.cancel_or_withdraw):
    #: "none", "cancelled" before it was handed over, "withdrawal" after (BPJS keeps the
    #: membership under its own rules; the branch or the partner API is told).
    handover: str = "none"


#: Deletes these conversations from Rasa's store (bot.services.conversations).
ConversationEraser = Callable[[list[str]], object]


def anonymous_actor(actor: str) -> str:
    """An audit actor without the person: staff stay, a resident's "wa:<hash>" or
    "participant:wa" keeps only its kind."""
    if actor.startswith(_STAFF_ACTORS):
        return actor
    return f"{actor.split(':', 1)[0]}:{ERASED}"


def delete_for_sender(
    uow: UnitOfWork,
    cipher: PiiCipher,
    hash_key: str,
    sender_id: str,
    now: datetime,
    erase_conversations: ConversationEraser | None = None,
) -> Erased | None:
    """Erase the participant whose address ``sender_id`` is (see the module docstring).
    ``erase_conversations`` is given the participant's conversations other than this one
    (Rasa's store erases this one itself when the action says so) once every write here is
    flushed and before the commit: if it fails, nothing is erased and the resident may ask
    again."""
    with uow:
        session = uow.session
        participant = session.scalars(participants_of_sender(hash_key, sender_id)).first()
        if participant is None:
            return None
        reference = participant.reference
        current, moved = _addresses_ever(session, participant)
        hashes = current | moved
        shared = set(
            session.scalars(
                select(ParticipantAddress.sender_hash)
                .where(ParticipantAddress.sender_hash.in_(hashes))
                .where(ParticipantAddress.participant_id != participant.id)
            )
        )
        private = hashes - shared
        contacts = session.scalars(
            select(ChannelContact).where(ChannelContact.sender_hash.in_(hashes))
        ).all()
        # A shared family phone's conversation goes (as it always did); a number they moved
        # away from that is now another participant's is that participant's conversation.
        sender_ids = tuple(
            cipher.decrypt(c.address_encrypted)
            for c in contacts
            if c.sender_hash in current or c.sender_hash in private
        )

        numbers = erase_tickets_of(uow, private)
        _forget_codes(session, hash_key, participant, cipher, sender_ids, shared)
        session.execute(delete(Reminder).where(Reminder.participant_id == participant.id))
        session.execute(delete(MovedAddress).where(MovedAddress.participant_id == participant.id))
        handover = cancel_or_withdraw(
            session, participant.id, now, f"{channel_of(sender_id).value}:{ERASED}"
        )
        _anonymise_audit(session, participant, hashes, [ticket_label(n) for n in numbers])
        _anonymise_records(session, participant, private, now)
        conversations = {sender_id, *sender_ids}
        funnel.forget(session, {funnel.funnel_key(hash_key, s) for s in conversations})
        uow.flush()  # the rows above let go of the participant before it is deleted
        for contact in contacts:
            if contact.sender_hash in private:
                session.delete(contact)
        session.execute(
            delete(ParticipantAddress).where(ParticipantAddress.participant_id == participant.id)
        )
        session.add(
            AuditEvent(
                participant_id=None,
                actor=f"{channel_of(sender_id).value}:{ERASED}",
                action="deleted_by_participant",
                fields="",
                created_at=now,
            )
        )
        session.delete(participant)
        uow.flush()
        if erase_conversations is not None:
            erase_conversations([s for s in sender_ids if s != sender_id])
        uow.commit()
    log.info("a participant erased their data (%d address(es))", len(hashes))
    return Erased(reference, sender_ids, handover)


def _addresses_ever(session: Session, participant: Participant) -> tuple[set[str], set[str]]:
    """Every address that was the participant's: linked now or the registration's own; and
    the numbers they moved away from (their conversations hold what they typed)."""
    linked = session.scalars(
        select(ParticipantAddress.sender_hash).where(
            ParticipantAddress.participant_id == participant.id
        )
    )
    moved = session.scalars(
        select(MovedAddress.old_sender_hash).where(MovedAddress.participant_id == participant.id)
    )
    current = {participant.sender_hash, *linked}
    return current, set(moved) - current


def _forget_codes(
    session: Session,
    hash_key: str,
    participant: Participant,
    cipher: PiiCipher,
    sender_ids: Collection[str],
    shared: set[str],
) -> None:
    """One-time codes waiting for them, a walk-in registration held for their consent
    code, and the day's code counts to their own numbers (a shared number keeps its count,
    for the other participant's sake)."""
    session.execute(delete(AddressLink).where(AddressLink.participant_id == participant.id))
    session.execute(delete(PendingConsent).where(PendingConsent.nik_hash == participant.nik_hash))
    phones = {SenderId.parse(s).address for s in sender_ids if channel_of(s) is Channel.WHATSAPP}
    phones.add(cipher.decrypt(participant.phone_encrypted))
    own = [
        destination_hash(hash_key, phone)
        for phone in phones
        if keyed_hash(hash_key, make_sender_id(Channel.WHATSAPP, phone)) not in shared
    ]
    session.execute(delete(CodeSend).where(CodeSend.destination_hash.in_(own)))


def _anonymise_audit(
    session: Session, participant: Participant, hashes: set[str], labels: list[str]
) -> None:
    """Their events keep kind and time; who (a resident's hash), which participant, which
    reference, ticket or payment go. Found by participant id, by an actor made from one of
    their addresses' hashes, by their reference or one of their tickets in ``fields``."""
    found = session.scalars(
        select(AuditEvent).where(
            or_(
                AuditEvent.participant_id == participant.id,
                AuditEvent.fields.contains(participant.reference, autoescape=True),
                AuditEvent.fields.in_(labels),
                *(AuditEvent.actor.endswith(f":{h[:16]}", autoescape=True) for h in hashes),
            )
        )
    ).all()
    for event in found:
        event.participant_id = None
        event.actor = anonymous_actor(event.actor)
        event.fields = ""


def _anonymise_records(
    session: Session, participant: Participant, private: set[str], now: datetime
) -> None:
    """What the office keeps (payments, consent, disputes, delivery records), unlinked."""
    for payment in session.scalars(select(Payment).where(Payment.participant_id == participant.id)):
        payment.participant_id = None
        payment.recorded_by = anonymous_actor(payment.recorded_by)
    consent: list[ColumnElement[bool]] = [ConsentRecord.sender_hash.in_(private)]
    if participant.consent_record_id is not None:
        consent.append(ConsentRecord.id == participant.consent_record_id)
    session.execute(update(ConsentRecord).where(or_(*consent)).values(sender_hash=ERASED))
    for dispute in session.scalars(
        select(Dispute).where(
            or_(Dispute.participant_id == participant.id, Dispute.nik_hash == participant.nik_hash)
        )
    ):
        if dispute.state in _OPEN_DISPUTES:
            dispute.state, dispute.decided_at = DisputeState.CANCELLED.value, now
        dispute.participant_id, dispute.nik_hash, dispute.reference = None, ERASED, ERASED
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.recipient_hash.in_(private))
        .values(recipient_hash=ERASED, provider_message_id=None)
    )
