"""Participants for reminder and payment tests, made through the real registration service
and then placed at a chosen point of their payment history."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from sqlalchemy import update

from bot.app_context import AppContext
from bot.db.models import Participant, Submission
from bot.domain.consent import ConsentDecision, ConsentPurpose
from bot.domain.nik import parse_nik
from bot.domain.registration import Registration
from bot.domain.senders import channel_of
from bot.domain.submissions import SubmissionState
from bot.services.consent import record_consent
from bot.services.participants import register_participant
from bot.services.reminder_preferences import set_reminders

_SERIALS = itertools.count(1)
TODAY = date(2026, 11, 1)


def make_participant(
    context: AppContext,
    sender_id: str,
    *,
    first_period: date = date(2026, 11, 1),
    paid_through: date | None = None,
    consent: bool = True,
    opted_out: bool = False,
    last_inbound_at: datetime | None = None,
    province: str = "35",
    income: int = 1_000_000,
    with_jht: bool = False,
    village: tuple[str, str, str] = ("Karanglo", "Kerek", "Tuban"),
    nik: str | None = None,
    accepted: bool = True,
) -> int:
    """A registered participant reachable at ``sender_id``; returns its id. ``accepted``:
    BPJS Ketenagakerjaan has given its KPJ number (and it was told), so reminders and
    arrears apply; False leaves the hand-over pending, as a registration starts."""
    serial = next(_SERIALS)
    # District 98 is used by no other test, so these NIKs never collide with theirs.
    nik = nik or f"{province}719817088{0 if serial % 2 else 1}{serial:04d}"
    channel = channel_of(sender_id)
    consent_id = None
    if consent:
        decision = ConsentDecision(
            channel=channel, purpose=ConsentPurpose.REGISTRATION, granted=True, wording="setuju"
        )
        consent_id = record_consent(
            context.unit_of_work(), context.hash_key, sender_id, decision, context.clock.now()
        )
    registration = Registration(
        full_name="Warga Uji",
        nik=parse_nik(nik, TODAY),
        birth_date=parse_nik(nik, TODAY).birth_date,
        phone=sender_id[3:] if sender_id.startswith("wa:") else "+6281200000000",
        village=village[0],
        district=village[1],
        regency=village[2],
        occupation="petani",
        declared_income=income,
        with_jht=with_jht,
        channel=channel,
    )
    result = register_participant(
        context.unit_of_work(),
        context.cipher,
        context.hash_key,
        registration,
        sender_id,
        context.clock.now(),
        consent_id,
    )
    with context.sessions.begin() as session:
        participant_id = session.scalar(
            update(Participant)
            .where(Participant.reference == result.reference)
            .values(first_period=first_period, paid_through=paid_through)
            .returning(Participant.id)
        )

    assert participant_id is not None
    if accepted:
        accept_hand_over(context, participant_id, f"2601{serial:07d}")
    if channel.value in ("tg", "wa"):
        context.channel_log.record_inbound(
            sender_id, last_inbound_at or context.clock.now() - timedelta(hours=1)
        )
        if opted_out:
            set_reminders(context.channel_log, sender_id, True, None, context.clock.now())
    assert participant_id is not None
    return participant_id


def accept_hand_over(context: AppContext, participant_id: int, kpj: str) -> None:
    """BPJS Ketenagakerjaan accepted the registration now, and the resident was told (the
    batch and its answer are tests/integration/test_submissions.py's subject)."""
    with context.sessions.begin() as session:
        session.execute(
            update(Submission)
            .where(Submission.participant_id == participant_id)
            .values(
                state=SubmissionState.ACCEPTED.value,
                kpj_encrypted=context.cipher.encrypt(kpj),
                state_at=context.clock.now(),
                accepted_notice_at=context.clock.now(),
            )
        )
