"""Correcting a registration in chat ("perbaiki data", issue 29), on both databases: open
while BPJS Ketenagakerjaan has not taken it; a refused one goes back to pending only when
something changed; the NIK never changes in place; every change is audited by field name."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import select

from bot.app_context import AppContext
from bot.db.models import AuditEvent, Participant, Submission, SubmissionEvent
from bot.domain.nik import parse_nik
from bot.domain.registration import Registration
from bot.domain.senders import Channel
from bot.domain.submissions import RejectionReason, SubmissionState
from bot.infra.settings import Settings
from bot.services.corrections import (
    CorrectionClosed,
    correct_registration,
    registration_to_correct,
)
from bot.services.registry.submissions import move
from tests.conftest import TEST_PII_KEY
from tests.support.clock import WIB, fixed_clock
from tests.support.participants import make_participant

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=WIB)


@pytest.fixture
def context(database_url: str) -> Iterator[AppContext]:
    settings = Settings(_env_file=None, database_url=database_url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    yield context
    context.engine.dispose()


def _registered(context: AppContext) -> tuple[str, int]:
    sender = f"wa:+62812{uuid.uuid4().int % 10**8:08d}"
    return sender, make_participant(context, sender, accepted=False)


def _as_stored(context: AppContext, sender: str) -> Registration:
    found = registration_to_correct(
        context.unit_of_work(), context.cipher, context.hash_key, sender
    )
    assert found is not None
    answers = found.answers
    return Registration(
        full_name=answers["full_name"],
        nik=parse_nik(answers["nik"], NOW.date()),
        birth_date=datetime.fromisoformat(answers["birth_date"]).date(),
        phone=answers["phone"],
        village=answers["village"],
        district=answers["district"],
        regency=answers["regency"],
        occupation=answers["occupation"],
        declared_income=answers["declared_income"],
        with_jht=answers["with_jht"],
        channel=Channel.WHATSAPP,
        village_code=answers["village_code"],
    )


def _refuse(context: AppContext, participant_id: int, reason: RejectionReason) -> None:
    with context.sessions.begin() as session:
        submission = session.scalar(
            select(Submission).where(Submission.participant_id == participant_id)
        )
        assert submission is not None
        move(session, submission, SubmissionState.SUBMITTED, NOW, "t", "BATCH-1")
        submission.batch_id = "BATCH-1"
        move(session, submission, SubmissionState.REJECTED, NOW, "t", reason.value)
        submission.reason_code = reason.value


def _submission(context: AppContext, participant_id: int) -> Submission:
    with context.sessions() as session:
        found = session.scalar(
            select(Submission).where(Submission.participant_id == participant_id)
        )
        assert found is not None
        session.expunge(found)
        return found


def test_a_name_refused_by_bpjs_is_corrected_and_handed_over_again(context: AppContext) -> None:
    sender, participant_id = _registered(context)
    _refuse(context, participant_id, RejectionReason.IDENTITY_MISMATCH)
    found = registration_to_correct(
        context.unit_of_work(), context.cipher, context.hash_key, sender
    )
    assert (
        found is not None and found.open and found.stage.reason is RejectionReason.IDENTITY_MISMATCH
    )
    stored = _as_stored(context, sender)

    corrected = correct_registration(
        context.unit_of_work(), context.cipher, context.hash_key,
        replace(stored, full_name="Warga Uji Lengkap", declared_income=2_000_000), sender, NOW,
    )  # fmt: skip
    assert corrected.changed == ("full_name", "declared_income") and corrected.sent_again
    submission = _submission(context, participant_id)
    assert (submission.state, submission.reason_code, submission.batch_id) == (
        "pending", None, None,
    )  # fmt: skip
    with context.sessions() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        assert context.cipher.decrypt(participant.full_name_encrypted) == "Warga Uji Lengkap"
        assert participant.monthly_contribution > 16_800  # follows the new income
        audit = session.scalars(
            select(AuditEvent.fields).where(
                AuditEvent.participant_id == participant_id,
                AuditEvent.action == "registration_corrected",
            )
        ).all()
        moves = session.scalars(
            select(SubmissionEvent.detail).where(SubmissionEvent.submission_id == submission.id)
        ).all()
    assert audit == ["full_name,declared_income"]  # field names, never the values
    assert moves[-1] == "corrected in chat"


def test_nothing_changed_keeps_it_refused_and_a_pending_one_stays_pending(
    context: AppContext,
) -> None:
    sender, participant_id = _registered(context)
    _refuse(context, participant_id, RejectionReason.INCOMPLETE_DATA)
    unchanged = correct_registration(
        context.unit_of_work(), context.cipher, context.hash_key,
        _as_stored(context, sender), sender, NOW,
    )  # fmt: skip
    assert (unchanged.changed, unchanged.sent_again) == ((), False)
    assert _submission(context, participant_id).state == "rejected"

    other, other_id = _registered(context)
    moved = correct_registration(
        context.unit_of_work(), context.cipher, context.hash_key,
        replace(_as_stored(context, other), village="Kedungrejo"), other, NOW,
    )  # fmt: skip
    assert moved.changed == ("village",) and not moved.sent_again
    assert (_submission(context, other_id).state, _submission(context, other_id).village) == (
        "pending", "Kedungrejo",
    )  # fmt: skip


@pytest.mark.parametrize(
    "reason", [RejectionReason.NIK_NOT_FOUND, RejectionReason.ALREADY_PARTICIPANT]
)
def test_what_a_correction_in_place_cannot_change_is_refused(
    context: AppContext, reason: RejectionReason
) -> None:
    sender, participant_id = _registered(context)
    stored = _as_stored(context, sender)
    _refuse(context, participant_id, reason)
    found = registration_to_correct(
        context.unit_of_work(), context.cipher, context.hash_key, sender
    )
    assert found is not None and not found.open
    with pytest.raises(CorrectionClosed):
        correct_registration(
            context.unit_of_work(), context.cipher, context.hash_key,
            replace(stored, full_name="Nama Lain"), sender, NOW,
        )  # fmt: skip
    assert _submission(context, participant_id).state == "rejected"


def test_a_handed_over_registration_or_another_nik_is_never_changed(context: AppContext) -> None:
    sender, participant_id = _registered(context)
    stored = _as_stored(context, sender)
    another = parse_nik(f"352316170880{uuid.uuid4().int % 9000 + 1000:04d}", NOW.date())
    with pytest.raises(CorrectionClosed, match="NIK"):
        correct_registration(
            context.unit_of_work(), context.cipher, context.hash_key,
            replace(stored, nik=another), sender, NOW,
        )  # fmt: skip
    with context.sessions.begin() as session:
        submission = session.scalar(
            select(Submission).where(Submission.participant_id == participant_id)
        )
        assert submission is not None
        move(session, submission, SubmissionState.SUBMITTED, NOW, "t", "BATCH-2")
    with pytest.raises(CorrectionClosed):
        correct_registration(
            context.unit_of_work(), context.cipher, context.hash_key,
            replace(stored, full_name="Nama Lain"), sender, NOW,
        )  # fmt: skip
    with context.sessions() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        assert context.cipher.decrypt(participant.full_name_encrypted) == "Warga Uji"
    assert (
        registration_to_correct(
            context.unit_of_work(), context.cipher, context.hash_key, "wa:+6281299999999"
        )
        is None
    )
