"""Creating and finding participants. One NIK is one participant, whoever sends it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from bot.db.models import (
    AuditEvent,
    ConsentRecord,
    Participant,
    ParticipantAddress,
)
from bot.domain.addresses import Proof
from bot.domain.clock import local_date
from bot.domain.consent import ConsentDecision
from bot.domain.payments import (
    ParticipantStatus,
    Standing,
    load_calendar,
    next_unpaid_period,
    standing,
)
from bot.domain.registration import (
    Registration,
    due_date,
    first_period,
    make_reference,
)
from bot.domain.senders import Channel, channel_of, make_sender_id
from bot.domain.tariff import monthly_contribution
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import keyed_hash, mask_digits, mask_sender
from bot.services.channel_log import add_contact
from bot.services.consent import record_consent
from bot.services.registry.submissions import Stage, open_submission, stage_of
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
REFERENCE_ATTEMPTS = 5


class DuplicateNik(Exception):
    """This NIK is already registered; the sender is pointed to the status check."""


class ConsentMissing(Exception):
    """The registration names no granted consent of this sender: nothing is stored."""


@dataclass(frozen=True)
class RegisteredParticipant:
    reference: str
    status: ParticipantStatus
    monthly_contribution: int
    first_period: date
    first_due_date: date


def nik_lookup_hash(hash_key: str, nik: str) -> str:
    # Domain-separated from sender-id hashes made with the same key.
    return keyed_hash(hash_key, f"nik:{nik}")


def phone_lookup_hash(hash_key: str, phone: str) -> str:
    return keyed_hash(hash_key, f"phone:{phone}")


def nik_is_registered(uow: UnitOfWork, hash_key: str, nik: str) -> bool:
    with uow:
        found = uow.session.scalar(
            select(Participant.id).where(Participant.nik_hash == nik_lookup_hash(hash_key, nik))
        )
    return found is not None


class NikHolder(StrEnum):
    NOBODY = "nobody"
    THIS_SENDER = "this_sender"
    SOMEONE_ELSE = "someone_else"


def nik_holder(uow: UnitOfWork, hash_key: str, nik: str, sender_id: str) -> NikHolder:
    """Whether a NIK is registered, and if so whether by this conversation (or, on WhatsApp,
    this number): only its own holder may be told that it is registered."""
    with uow:
        session = uow.session
        participant = session.scalar(
            select(Participant).where(Participant.nik_hash == nik_lookup_hash(hash_key, nik))
        )
        if participant is None:
            return NikHolder.NOBODY
        mine = session.scalar(
            select(ParticipantAddress.id)
            .where(ParticipantAddress.participant_id == participant.id)
            .where(ParticipantAddress.sender_hash == keyed_hash(hash_key, sender_id))
        )
    return NikHolder.THIS_SENDER if mine is not None else NikHolder.SOMEONE_ELSE


def register_participant(
    uow: UnitOfWork,
    cipher: PiiCipher,
    hash_key: str,
    registration: Registration,
    sender_id: str,
    now: datetime,
    consent_record_id: int | None = None,
    registered_by_agent_id: int | None = None,
    is_official: bool = False,
    proof: Proof = Proof.REGISTERED_HERE,
    phone_verified_by: Proof | None = None,
) -> RegisteredParticipant:
    """Store a new participant registered at ``now``, with its audit event and its first
    address, in one transaction; ``sender_id`` is the conversation that reminders and "cek
    status" belong to (for an agent's walk-in: the resident's own WhatsApp number), proven
    by ``proof``. ``phone_verified_by``: how the typed phone was proven theirs, if it was
    (on WhatsApp the sender is the number). The first contribution month follows
    Indonesia's calendar day of ``now``. A ``consent_record_id`` must be a granted consent
    of this sender (checked in the same transaction)."""
    contribution = monthly_contribution(registration.declared_income, registration.with_jht)
    period = first_period(local_date(now))
    nik_hash = nik_lookup_hash(hash_key, registration.nik.value)
    sender_hash = keyed_hash(hash_key, sender_id)
    with uow:
        session = uow.session
        if consent_record_id is not None:
            consent = session.get(ConsentRecord, consent_record_id)
            if consent is None or not consent.granted or consent.sender_hash != sender_hash:
                raise ConsentMissing(f"consent record {consent_record_id}")
        if session.scalar(select(Participant.id).where(Participant.nik_hash == nik_hash)):
            raise DuplicateNik(registration.nik.value[:6])
        reference = _free_reference(uow)
        participant = Participant(
            reference=reference,
            nik_hash=nik_hash,
            nik_encrypted=cipher.encrypt(registration.nik.value),
            full_name_encrypted=cipher.encrypt(registration.full_name),
            birth_date_encrypted=cipher.encrypt(registration.birth_date.isoformat()),
            phone_hash=phone_lookup_hash(hash_key, registration.phone),
            phone_encrypted=cipher.encrypt(registration.phone),
            income_encrypted=cipher.encrypt(str(registration.declared_income)),
            sex=registration.nik.sex.value,
            province_code=registration.nik.province.code,
            district_code=registration.nik.district_code,
            village=registration.village,
            village_code=registration.village_code,
            district=registration.district,
            regency=registration.regency,
            occupation=registration.occupation,
            with_jht=registration.with_jht,
            monthly_contribution=contribution.total,
            status=ParticipantStatus.AWAITING_FIRST_PAYMENT.value,
            channel=registration.channel.value,
            sender_hash=sender_hash,
            consent_record_id=consent_record_id,
            registered_by_agent_id=registered_by_agent_id,
            is_official=is_official,
            first_period=period,
            phone_verified_by=phone_proof(sender_id, registration.phone, proof, phone_verified_by),
            created_at=now,
        )
        session.add(participant)
        try:
            uow.flush()
        except IntegrityError as error:
            # Another conversation registered the same NIK a moment ago.
            if "nik_hash" in str(error.orig):
                raise DuplicateNik(registration.nik.value[:6]) from error
            raise
        session.add(
            ParticipantAddress(
                participant_id=participant.id,
                sender_hash=sender_hash,
                channel=channel_of(sender_id).value,
                proof=proof.value,
                preferred=True,
                verified_at=now,
            )
        )
        # Every address of a participant has its contact, the web chat's too (it writes none
        # otherwise): erasure finds each of their conversations through it.
        add_contact(session, cipher, sender_hash, sender_id)
        # Its hand-over to BPJS Ketenagakerjaan waits from the same moment (issue 29).
        open_submission(session, participant, now)
        if registered_by_agent_id is None:
            actor = f"{registration.channel.value}:{participant.sender_hash[:16]}"
            action = "registered"
        else:
            actor, action = f"agent:{registered_by_agent_id}", "registered_on_behalf"
        session.add(
            AuditEvent(
                participant_id=participant.id,
                actor=actor,
                action=action,
                fields="",
                created_at=now,
            )
        )
        uow.commit()
    log.info(
        "participant %s registered by %s (NIK %s)",
        reference,
        mask_sender(sender_id),
        mask_digits(registration.nik.value, 6, 0),
    )
    return RegisteredParticipant(
        reference=reference,
        status=ParticipantStatus.AWAITING_FIRST_PAYMENT,
        monthly_contribution=contribution.total,
        first_period=period,
        first_due_date=due_date(period),
    )


def phone_proof(sender_id: str, phone: str, proof: Proof, verified_by: Proof | None) -> str | None:
    """A registration whose address is the typed number itself proves that number."""
    if verified_by is not None:
        return verified_by.value
    return proof.value if sender_id == make_sender_id(Channel.WHATSAPP, phone) else None


def register_with_consent(
    uow: UnitOfWork,
    cipher: PiiCipher,
    hash_key: str,
    registration: Registration,
    sender_id: str,
    decision: ConsentDecision,
    now: datetime,
    registered_by_agent_id: int | None = None,
    is_official: bool = False,
    proof: Proof = Proof.REGISTERED_HERE,
) -> RegisteredParticipant:
    """Consent given and registration made at the same moment (an agent's walk-in, a
    village's paper forms): both stored, or neither. A NIK already registered is refused
    before anything is written, so a re-run records no stray consent."""
    with uow:
        if nik_is_registered(uow, hash_key, registration.nik.value):
            raise DuplicateNik(registration.nik.value[:6])
        consent_id = record_consent(uow, hash_key, sender_id, decision, now)
        registered = register_participant(
            uow,
            cipher,
            hash_key,
            registration,
            sender_id,
            now,
            consent_record_id=consent_id,
            registered_by_agent_id=registered_by_agent_id,
            is_official=is_official,
            proof=proof,
        )
        uow.commit()
    return registered


def _free_reference(uow: UnitOfWork) -> str:
    """A registration reference nobody holds yet."""
    for _ in range(REFERENCE_ATTEMPTS):
        reference = make_reference()
        taken = uow.session.scalar(select(Participant.id).where(Participant.reference == reference))
        if taken is None:
            return reference
    raise RuntimeError(f"no free registration reference after {REFERENCE_ATTEMPTS} attempts")


@dataclass(frozen=True)
class ParticipantView:
    """What the resident or an administrator is shown; identifiers masked unless asked."""

    reference: str
    full_name: str
    nik: str
    phone: str
    village: str
    district: str
    regency: str
    #: The village's Kemendagri code (None for registrations before the register).
    village_code: str | None
    occupation: str
    with_jht: bool
    monthly_contribution: int
    status: str
    channel: str
    first_period: date
    paid_through: date | None
    created_at: str
    #: Where the hand-over to BPJS Ketenagakerjaan stands (issue 29); read for the
    #: resident's own view only.
    handover: Stage | None = None

    @property
    def next_due_date(self) -> date:
        return due_date(next_unpaid_period(self.first_period, self.paid_through))

    def standing(self, today: date) -> Standing:
        return standing(self.first_period, self.paid_through, today, load_calendar())


def _view(participant: Participant, cipher: PiiCipher, masked: bool) -> ParticipantView:
    nik = cipher.decrypt(participant.nik_encrypted)
    phone = cipher.decrypt(participant.phone_encrypted)
    name = cipher.decrypt(participant.full_name_encrypted)
    if masked:
        nik, phone = mask_digits(nik, 6, 2), mask_digits(phone, 5, 2)
        name = " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())
    return ParticipantView(
        reference=participant.reference,
        full_name=name,
        nik=nik,
        phone=phone,
        village=participant.village,
        district=participant.district,
        regency=participant.regency,
        village_code=participant.village_code,
        occupation=participant.occupation,
        with_jht=participant.with_jht,
        monthly_contribution=participant.monthly_contribution,
        status=participant.status,
        channel=participant.channel,
        first_period=participant.first_period,
        paid_through=participant.paid_through,
        created_at=participant.created_at.isoformat() if participant.created_at else "",
    )


def participants_of_sender(hash_key: str, sender_id: str) -> Select[tuple[Participant]]:
    """The participants this conversation is a verified address of, newest first (a family
    may share one phone). The one way every "my data" request finds its participant."""
    return (
        select(Participant)
        .join(ParticipantAddress, ParticipantAddress.participant_id == Participant.id)
        .where(ParticipantAddress.sender_hash == keyed_hash(hash_key, sender_id))
        .order_by(Participant.id.desc())
    )


def participant_id_for_sender(uow: UnitOfWork, hash_key: str, sender_id: str) -> int | None:
    with uow:
        participant = uow.session.scalars(participants_of_sender(hash_key, sender_id)).first()
        return participant.id if participant else None


def participant_id_by(
    uow: UnitOfWork, hash_key: str, *, reference: str | None = None, nik: str | None = None
) -> int | None:
    """The participant with this Sadar reference (or, without one, this NIK)."""
    with uow:
        if reference:
            return uow.session.scalar(
                select(Participant.id).where(Participant.reference == reference.strip().upper())
            )
        if nik:
            return uow.session.scalar(
                select(Participant.id).where(Participant.nik_hash == nik_lookup_hash(hash_key, nik))
            )
    return None


def find_for_sender(
    uow: UnitOfWork, cipher: PiiCipher, hash_key: str, sender_id: str
) -> ParticipantView | None:
    """The participant this conversation is a verified address of."""
    with uow:
        participant = uow.session.scalars(participants_of_sender(hash_key, sender_id)).first()
        if participant is None:
            return None
        view = _view(participant, cipher, masked=True)
        return replace(view, handover=stage_of(uow.session, cipher, participant.id))


def find_participant(
    uow: UnitOfWork,
    cipher: PiiCipher,
    hash_key: str,
    *,
    nik: str | None = None,
    reference: str | None = None,
    masked: bool = True,
) -> ParticipantView | None:
    with uow:
        query = select(Participant)
        if nik is not None:
            query = query.where(Participant.nik_hash == nik_lookup_hash(hash_key, nik))
        elif reference is not None:
            query = query.where(Participant.reference == reference.strip().upper())
        else:
            raise ValueError("give a NIK or a reference")
        participant = uow.session.scalars(query).first()
        return _view(participant, cipher, masked) if participant else None


def all_participants(
    uow: UnitOfWork, cipher: PiiCipher, masked: bool = True
) -> list[ParticipantView]:
    with uow:
        return [
            _view(p, cipher, masked)
            for p in uow.session.scalars(select(Participant).order_by(Participant.id))
        ]
