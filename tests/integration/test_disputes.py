"""A NIK registered by someone else (issue 25, point 3): "sengketa NIK" changes nothing
until the agent says yes; a registration of another village waits for an administrator;
the holder (on the address reminders use) and the village's agents are told; every step
is audited with the reference, never the NIK."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import messages
from bot.app_context import AppContext
from bot.channels.factory import build_outbox
from bot.db.models import AuditEvent, Participant
from bot.infra.settings import Settings
from bot.services.agents import AgentRef, enrol_agent
from bot.services.disputes import (
    DisputeResult,
    approve_dispute,
    decide_dispute,
    pending_disputes,
    request_dispute,
    tell_release,
)
from tests.conftest import TEST_PII_KEY
from tests.support.clock import fixed_clock
from tests.support.fake_telegram import FakeTelegram
from tests.support.participants import make_participant

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
NIK = "3523031708800401"  # a KTP of Tuban (3523)


@pytest.fixture
def context(pg_url: str, fake: FakeTelegram) -> Iterator[AppContext]:
    settings = Settings(
        _env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY,
        telegram_bot_token="123456:TEST", telegram_api_base_url=fake.base_url,
    )  # fmt: skip
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    yield context
    context.engine.dispose()


def enrol(context: AppContext, name: str, village: str, tg: int) -> AgentRef:
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name=name,
        phone=f"+628130000{tg % 10_000:04d}", village=village, district="Kerek",
        regency="Tuban", telegram_user_id=tg,
    )  # fmt: skip
    return AgentRef(agent_id, name, village, "Kerek", "Tuban")


def request(context: AppContext, agent: AgentRef, nik: str = NIK) -> DisputeResult:
    return request_dispute(
        context.unit_of_work(), context.hash_key, agent, nik, "3523", context.clock.now()
    ).result


def decide(context: AppContext, agent: AgentRef, yes: bool) -> DisputeResult:
    return decide_dispute(
        context.unit_of_work(), context.cipher, agent, yes, context.clock.now()
    ).result


def exists(context: AppContext, participant_id: int) -> bool:
    with context.sessions() as session:
        return session.get(Participant, participant_id) is not None


def trail(context: AppContext) -> list[tuple[str, str, str]]:
    with context.sessions() as session:
        return [
            (e.actor, e.action, e.fields)
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.contains("disput"))
                .order_by(AuditEvent.id)
            )
        ]


async def test_only_a_yes_releases_and_the_holder_and_village_agent_are_told(
    context: AppContext, fake: FakeTelegram
) -> None:
    siti = enrol(context, "Siti Rahayu", "Karanglo", 700501)
    enrol(context, "Budi Santoso", "Karanglo", 700502)  # the village's other agent
    enrol(context, "Wulan Sari", "Sumberarum", 700503)  # another village: not told
    squatter = make_participant(context, "tg:8501", nik=NIK)
    with context.sessions() as session:
        reference = session.get(Participant, squatter).reference  # type: ignore[union-attr]

    assert request(context, siti) is DisputeResult.CONFIRM
    assert exists(context, squatter)  # nothing changes before the answer
    assert decide(context, siti, yes=False) is DisputeResult.CANCELLED
    assert decide(context, siti, yes=True) is DisputeResult.EXPIRED  # no question waits
    assert exists(context, squatter)

    assert request(context, siti) is DisputeResult.CONFIRM
    outcome = decide_dispute(context.unit_of_work(), context.cipher, siti, True, NOW)
    assert outcome.result is DisputeResult.RELEASED and not exists(context, squatter)
    assert outcome.notice is not None
    assert outcome.notice.resident_addresses == ("tg:8501",)
    assert outcome.notice.agent_addresses == ("tg:700502",)  # not the requester, not Wulan

    outbox = build_outbox(context.settings, context.channel_log)
    try:
        told = await tell_release(outbox, context.channel_log, outcome.notice, NOW)
    finally:
        await outbox.aclose()
    assert told == (True, 1)
    sent = {str(m["chat_id"]): m["text"] for m in fake.sent()}
    fill = {"reference": reference, "village": outcome.notice.village}
    assert sent == {
        "8501": messages.DISPUTE_RELEASED_FOR_RESIDENT.format(**fill),
        "700502": messages.DISPUTE_RELEASED_FOR_AGENT.format(**fill),
    }

    assert trail(context) == [
        (siti.actor, "dispute_requested", reference),
        (siti.actor, "dispute_cancelled", reference),
        (siti.actor, "dispute_requested", reference),
        (siti.actor, "dispute_confirmed", reference),
        (siti.actor, "registration_disputed", reference),
    ]
    with context.sessions() as session:
        fields = " ".join(session.scalars(select(AuditEvent.fields)))
    assert NIK not in fields


def test_another_village_s_registration_waits_for_an_administrator(context: AppContext) -> None:
    siti = enrol(context, "Siti Rahayu", "Karanglo", 700511)
    elsewhere = make_participant(
        context, "tg:8511", nik=NIK, village=("Sumberarum", "Kerek", "Tuban")
    )
    assert request(context, siti) is DisputeResult.CONFIRM
    assert decide(context, siti, yes=True) is DisputeResult.AWAITING_ADMIN
    assert exists(context, elsewhere)
    (waiting,) = pending_disputes(context.unit_of_work())
    assert (waiting.agent_id, waiting.agent_village) == (siti.id, "Karanglo")

    approved = approve_dispute(context.unit_of_work(), context.cipher, waiting.id, True, NOW)
    assert approved.result is DisputeResult.RELEASED and not exists(context, elsewhere)
    assert approved.requester_address == "tg:700511"
    assert approved.notice is not None and approved.notice.resident_addresses == ("tg:8511",)
    assert pending_disputes(context.unit_of_work()) == []
    again = approve_dispute(context.unit_of_work(), context.cipher, waiting.id, True, NOW)
    assert again.result is DisputeResult.EXPIRED
    actions = [action for _actor, action, _fields in trail(context)]
    assert actions[-3:] == [
        "dispute_awaiting_admin",
        f"dispute_approved_for_agent:{siti.id}",
        "registration_disputed",
    ]


def test_a_refused_or_late_dispute_keeps_the_registration(context: AppContext) -> None:
    siti = enrol(context, "Siti Rahayu", "Karanglo", 700521)
    elsewhere = make_participant(
        context, "tg:8521", nik=NIK, village=("Sumberarum", "Kerek", "Tuban")
    )
    request(context, siti)
    decide(context, siti, yes=True)
    (waiting,) = pending_disputes(context.unit_of_work())
    refused = approve_dispute(context.unit_of_work(), context.cipher, waiting.id, False, NOW)
    assert refused.result is DisputeResult.REFUSED and exists(context, elsewhere)
    assert refused.requester_address == "tg:700521"

    home = make_participant(context, "tg:8522", nik="3523031708800402")
    request(context, siti, "3523031708800402")
    late = decide_dispute(
        context.unit_of_work(), context.cipher, siti, True, NOW + timedelta(minutes=11)
    )
    assert late.result is DisputeResult.EXPIRED and exists(context, home)
    # A KTP of another regency is refused before anything is looked up, and audited.
    assert request(context, siti, "3571021708800403") is DisputeResult.OUTSIDE
    assert trail(context)[-1] == (siti.actor, "dispute_refused_outside", "")


def test_an_administrator_decides_from_the_command_line(context: AppContext, pg_url: str) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "SADAR_DATABASE_URL": pg_url, "SADAR_PII_HASH_KEY": TEST_PII_KEY}

    def sadar(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "agents", *args],
            env=env,
            capture_output=True,
            text=True,
        )

    siti = enrol(context, "Siti Rahayu", "Karanglo", 700531)
    elsewhere = make_participant(
        context, "tg:8531", nik=NIK, village=("Sumberarum", "Kerek", "Tuban")
    )
    request(context, siti)
    decide(context, siti, yes=True)
    (waiting,) = pending_disputes(context.unit_of_work())
    listed = sadar("disputes").stdout
    assert f"{waiting.id:>4}  {waiting.reference}  by agent {siti.id}" in listed
    assert NIK not in listed
    refused = sadar("decide-dispute", str(waiting.id), "--refuse")
    assert refused.returncode == 0 and "refused" in refused.stdout, refused.stderr
    assert exists(context, elsewhere)
    assert sadar("decide-dispute", str(waiting.id), "--approve").returncode != 0  # decided
    assert "no dispute waits" in sadar("disputes").stdout
