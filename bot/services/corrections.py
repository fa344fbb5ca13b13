"""A resident correcting their own registration in chat ("perbaiki data", issue 29): while
BPJS Ketenagakerjaan has not taken it (not yet handed over, or refused for a reason put
right in place), its answers are shown again and the corrected registration replaces them;
a refused one goes back to pending and is handed over again under the same reference."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import AuditEvent, Participant, Submission
from bot.domain.addresses import Proof
from bot.domain.registration import Registration, answers_of
from bot.domain.submissions import RejectionReason, SubmissionState, correctable_in_chat
from bot.domain.tariff import monthly_contribution
from bot.infra.crypto import PiiCipher
from bot.services.participants import participants_of_sender, phone_lookup_hash, phone_proof
from bot.services.registry.submissions import Stage, move, stage_of
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
ACTOR = "resident"


class CorrectionClosed(Exception):
    """The registration can no longer be corrected in chat (handed over meanwhile, or its
    NIK is not the one being corrected): nothing changed."""

    def __init__(self, why: str, reference: str | None = None) -> None:
        super().__init__(why)
        #: The registration's Sadar reference, when there is one (the reply names it).
        self.reference = reference


@dataclass(frozen=True)
class RegistrationToCorrect:
    reference: str
    #: Where its hand-over stands (with the reason, when refused).
    stage: Stage
    #: The stored answers, by the registration form's slot names.
    answers: dict[str, Any]

    @property
    def open(self) -> bool:
        return correctable_in_chat(self.stage.state, self.stage.reason)


@dataclass(frozen=True)
class Correction:
    reference: str
    #: The form's slot names whose value changed (never the values).
    changed: tuple[str, ...]
    #: A refused registration went back to pending, to be handed over again.
    sent_again: bool


def registration_to_correct(
    uow: UnitOfWork, cipher: PiiCipher, hash_key: str, sender_id: str
) -> RegistrationToCorrect | None:
    """This conversation's registration (the newest, as "cek status" shows) with its
    answers, or None when it has none."""
    with uow:
        session = uow.session
        participant = session.scalars(participants_of_sender(hash_key, sender_id)).first()
        if participant is None:
            return None
        stage = stage_of(session, cipher, participant.id)
        if stage is None:
            return None
        return RegistrationToCorrect(participant.reference, stage, _answers(participant, cipher))


def correct_registration(
    uow: UnitOfWork,
    cipher: PiiCipher,
    hash_key: str,
    registration: Registration,
    sender_id: str,
    now: datetime,
    phone_verified_by: Proof | None = None,
) -> Correction:
    """Replace this conversation's registration with ``registration`` (same NIK) in one
    transaction, with an audit line naming the fields changed. A refused registration with
    a change goes back to pending; one without a change stays refused (sent again as it
    was, it would be refused again). Raises CorrectionClosed, changing nothing."""
    with uow:
        session = uow.session
        participant = session.scalars(participants_of_sender(hash_key, sender_id)).first()
        submission = _submission_of(session, participant.id, lock=True) if participant else None
        if participant is None or submission is None:
            raise CorrectionClosed("no registration of this conversation")
        state = SubmissionState(submission.state)
        reason = RejectionReason(submission.reason_code) if submission.reason_code else None
        if not correctable_in_chat(state, reason):
            raise CorrectionClosed(f"it is {submission.state}", participant.reference)
        if cipher.decrypt(participant.nik_encrypted) != registration.nik.value:
            raise CorrectionClosed("the NIK is not changed in place", participant.reference)
        before = _answers(participant, cipher)
        after = answers_of(registration)
        changed = tuple(name for name, value in before.items() if after[name] != value)
        _store(participant, cipher, hash_key, registration, sender_id, phone_verified_by, changed)
        sent_again = bool(changed) and state is SubmissionState.REJECTED
        submission.regency, submission.village = participant.regency, participant.village
        if sent_again:
            move(session, submission, SubmissionState.PENDING, now, ACTOR, "corrected in chat")
            submission.reason_code = None
            submission.reason_detail_encrypted = None
            submission.batch_id = None
            submission.request_id = None
            submission.attempts = 0
            submission.next_attempt_at = None
            submission.claimed_at = None
        if changed:
            session.add(
                AuditEvent(
                    participant_id=participant.id,
                    actor=ACTOR,
                    action="registration_corrected",
                    fields=",".join(changed),
                    created_at=now,
                )
            )
        reference = participant.reference
        uow.commit()
    log.info("participant %s corrected %s", reference, ",".join(changed) or "nothing")
    return Correction(reference, changed, sent_again)


def _submission_of(session: Session, participant_id: int, lock: bool) -> Submission | None:
    query = select(Submission).where(Submission.participant_id == participant_id)
    return session.scalar(query.with_for_update() if lock else query)


def _answers(participant: Participant, cipher: PiiCipher) -> dict[str, Any]:
    """The registration form's answers, as its slots hold them."""
    return {
        "full_name": cipher.decrypt(participant.full_name_encrypted),
        "nik": cipher.decrypt(participant.nik_encrypted),
        "birth_date": cipher.decrypt(participant.birth_date_encrypted),
        "phone": cipher.decrypt(participant.phone_encrypted),
        "village": participant.village,
        "district": participant.district,
        "regency": participant.regency,
        "village_code": participant.village_code,
        "occupation": participant.occupation,
        "declared_income": int(cipher.decrypt(participant.income_encrypted)),
        "with_jht": participant.with_jht,
    }


def _store(
    participant: Participant,
    cipher: PiiCipher,
    hash_key: str,
    registration: Registration,
    sender_id: str,
    phone_verified_by: Proof | None,
    changed: tuple[str, ...],
) -> None:
    participant.full_name_encrypted = cipher.encrypt(registration.full_name)
    participant.birth_date_encrypted = cipher.encrypt(registration.birth_date.isoformat())
    if "phone" in changed:
        participant.phone_encrypted = cipher.encrypt(registration.phone)
        participant.phone_hash = phone_lookup_hash(hash_key, registration.phone)
        # A new number is proven as at registration (a code, or this WhatsApp chat's own).
        participant.phone_verified_by = phone_proof(
            sender_id, registration.phone, Proof.REGISTERED_HERE, phone_verified_by
        )
    participant.income_encrypted = cipher.encrypt(str(registration.declared_income))
    participant.village = registration.village
    participant.village_code = registration.village_code
    participant.district = registration.district
    participant.regency = registration.regency
    participant.occupation = registration.occupation
    participant.with_jht = registration.with_jht
    participant.monthly_contribution = monthly_contribution(
        registration.declared_income, registration.with_jht
    ).total
