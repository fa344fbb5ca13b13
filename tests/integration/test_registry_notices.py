"""The registry's answer reaches people without their asking (issue 29): a refusal is told
once to the resident, with what to do, and to the agent who registered the walk-in; a
corrected registration refused again is told again. A resident BPJS already knew
("already a participant") owes contributions on that membership: arrears count and
reminders go, while a registration BPJS does not know yet waits for its KPJ number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot import messages
from bot.app_context import AppContext
from bot.db.models import Participant, Submission
from bot.domain.submissions import Rejected, RejectionReason, SubmissionState
from bot.services.agents import enrol_agent
from bot.services.coverage import coverage_report
from bot.services.registry.notices import tell_answers
from bot.services.registry.submissions import apply_answer, move
from bot.services.reminders.planning import _candidates, skip_reason
from bot.services.resident_notices import ResidentNotices
from tests.integration.test_on_behalf import RecordingCourier
from tests.support.contexts import context_at
from tests.support.participants import make_participant

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
AGENT_PHONE = "+6281300000091"


@pytest.fixture
def context(pg_url: str) -> Iterator[AppContext]:
    with context_at(pg_url, NOW) as context:
        yield context


def _refuse(context: AppContext, participant_id: int, reason: RejectionReason) -> None:
    """The registration goes to the branch and comes back refused (the real moves)."""
    with context.unit_of_work() as uow:
        submission = uow.session.scalar(
            select(Submission).where(Submission.participant_id == participant_id)
        )
        assert submission is not None
        if submission.state == SubmissionState.REJECTED.value:  # corrected, sent again
            move(uow.session, submission, SubmissionState.PENDING, NOW, "test", "corrected")
        move(uow.session, submission, SubmissionState.SUBMITTED, NOW, "test", "BATCH-T")
        apply_answer(
            uow.session, context.cipher, submission, Rejected(reason, "catatan cabang"), NOW, "t"
        )
        uow.commit()


async def _tell(context: AppContext, courier: RecordingCourier) -> str:
    notices = ResidentNotices(context.channel_log, None)
    told = await tell_answers(context.unit_of_work(), context.cipher, notices, courier, NOW)
    return told.summary()


async def test_a_refusal_is_told_once_to_the_resident_and_to_the_walk_ins_agent(
    context: AppContext,
) -> None:
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Perisai",
        phone=AGENT_PHONE, village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    context.channel_log.record_inbound(f"wa:{AGENT_PHONE}", NOW - timedelta(hours=3))
    resident = "wa:+6281234509101"
    participant_id = make_participant(context, resident, accepted=False)
    with context.sessions.begin() as session:
        session.execute(
            update(Participant)
            .where(Participant.id == participant_id)
            .values(registered_by_agent_id=agent_id)
        )
    _refuse(context, participant_id, RejectionReason.IDENTITY_MISMATCH)
    courier = RecordingCourier()

    summary = await _tell(context, courier)

    assert "refusals told: 1" in summary and "to agents: 1" in summary
    told = {to: reply.text for to, reply in courier.sent}
    assert set(told) == {resident, f"wa:{AGENT_PHONE}"}
    assert messages.REJECTION_FOR_RESIDENT["identity_mismatch"] in told[resident]
    assert "catatan cabang" not in told[resident]  # the branch's remark is for operators
    to_agent = told[f"wa:{AGENT_PHONE}"]
    assert messages.REJECTION_FOR_AGENT["identity_mismatch"] in to_agent
    assert "War*** U." in to_agent and "Warga Uji" not in to_agent  # masked, as in lists

    assert "refusals told: 0" in await _tell(context, courier)
    assert len(courier.sent) == 2  # never twice

    _refuse(context, participant_id, RejectionReason.INCOMPLETE_DATA)  # fixed, refused anew
    await _tell(context, courier)
    assert [to for to, _ in courier.sent[2:]] == [resident, f"wa:{AGENT_PHONE}"]
    assert messages.REJECTION_FOR_RESIDENT["incomplete_data"] in courier.sent[2][1].text


async def test_a_refusal_no_address_takes_is_counted_not_told(context: AppContext) -> None:
    participant_id = make_participant(context, "web:kiosk-balai-desa-9", accepted=False)
    _refuse(context, participant_id, RejectionReason.NIK_NOT_FOUND)
    courier = RecordingCourier()
    summary = await _tell(context, courier)
    assert "refusals told: 0, not delivered: 1" in summary and courier.sent == []


def test_a_resident_bpjs_already_knew_owes_contributions_and_is_reminded(
    context: AppContext,
) -> None:
    member = make_participant(context, "wa:+6281234509201", accepted=False,
                              first_period=date(2026, 9, 1))  # fmt: skip
    mismatch = make_participant(context, "wa:+6281234509202", accepted=False,
                                first_period=date(2026, 9, 1))  # fmt: skip
    waiting = make_participant(context, "wa:+6281234509203", accepted=False,
                               first_period=date(2026, 9, 1))  # fmt: skip
    _refuse(context, member, RejectionReason.ALREADY_PARTICIPANT)
    _refuse(context, mismatch, RejectionReason.IDENTITY_MISMATCH)

    with context.unit_of_work() as uow:
        reasons = {
            row.id: skip_reason(row) for row in _candidates(uow.session, date(2026, 12, 1), 50)
        }
    assert reasons[member] is None  # reminded
    assert reasons[mismatch] and "not yet accepted" in reasons[mismatch]
    assert reasons[waiting] and "not yet accepted" in reasons[waiting]

    (karanglo,) = [
        row
        for row in coverage_report(context.unit_of_work(), NOW.date())
        if row.area == ("Tuban", "Kerek", "Karanglo")
    ]
    # Only the member owes anything; the other two wait for their KPJ number.
    assert karanglo.awaiting_kpj == 2
    with context.sessions.begin() as session:
        first = session.scalar(select(Participant.first_period).where(Participant.id == member))
    # Contributions start with the answer's month, as on acceptance: no arrears for the
    # weeks the hand-over took.
    assert first == date(2026, 12, 1)
