"""Tickets (issue 18) on PostgreSQL: routing to the village's agent, only the assigned agent
answers, time limits, encryption at rest and retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app_context import AppContext
from bot.channels.factory import build_outbox
from bot.db.models import Ticket, TicketMessage
from bot.domain.consent import ConsentDecision, ConsentMethod, ConsentPurpose
from bot.domain.nik import parse_nik
from bot.domain.registration import Registration
from bot.domain.senders import Channel
from bot.infra.settings import Settings
from bot.services.agents import AgentRef, enrol_agent, suspend_agent
from bot.services.handoff import (
    ClosedBecause,
    HandoffPolicy,
    TicketReason,
    TicketState,
    answer,
    close_overdue,
    close_ticket,
    list_tickets,
    open_ticket,
    open_ticket_of,
    pass_ticket,
    purge_closed_before,
    reassign,
    take_ticket,
    undelivered_for_web,
)
from bot.services.participants import register_with_consent
from tests.conftest import TEST_PII_KEY
from tests.support.clock import fixed_clock
from tests.support.contexts import context_at
from tests.support.fake_telegram import FakeTelegram

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
POLICY = HandoffPolicy(answer_within=timedelta(minutes=15), close_after_idle=timedelta(hours=2))
RESIDENT = "wa:+6281234500301"


@pytest.fixture
def context(pg_url: str) -> Iterator[AppContext]:
    with context_at(pg_url, NOW) as context:
        yield context


def agent(context: AppContext, name: str, village: str, phone: str, tg: int | None) -> AgentRef:
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name=name, phone=phone,
        village=village, district="Kerek", regency="Tuban", telegram_user_id=tg,
    )  # fmt: skip
    return AgentRef(agent_id, name, village, "Kerek", "Tuban")


def register_in(context: AppContext, sender: str, village: str) -> None:
    registration = Registration(
        full_name="Sumarni Wati", nik=parse_nik("3523031708800301", date(2026, 11, 21)),
        birth_date=date(1980, 8, 17), phone=sender.removeprefix("wa:"), village=village,
        district="Kerek", regency="Tuban", occupation="petani", declared_income=1_000_000,
        with_jht=False, channel=Channel.WHATSAPP,
    )  # fmt: skip
    decision = ConsentDecision(
        Channel.WHATSAPP, ConsentPurpose.REGISTRATION, True, "setuju", ConsentMethod.IN_CHAT
    )
    register_with_consent(
        context.unit_of_work(), context.cipher, context.hash_key, registration, sender,
        decision, NOW,
    )  # fmt: skip


def opened(context: AppContext, sender: str = RESIDENT, at: datetime = NOW) -> int:
    return open_ticket(
        context.unit_of_work(), context.cipher, context.hash_key, sender, TicketReason.ASKED,
        ["iuran berapa", "NIK saya 3523031708800301"], at,
    ).number  # fmt: skip


def test_a_registered_resident_reaches_the_agent_of_their_village(context: AppContext) -> None:
    agent(context, "Budi Santoso", "Sumberarum", "+6281300000301", None)
    agent(context, "Siti Rahayu", "Karanglo", "+6281300000302", 700302)
    register_in(context, RESIDENT, "Karanglo")

    ticket = open_ticket(
        context.unit_of_work(), context.cipher, context.hash_key, RESIDENT, TicketReason.ASKED,
        ["mau ngobrol sama petugas"], NOW,
    )  # fmt: skip
    assert (ticket.agent_first_name, ticket.village) == ("Siti", "Karanglo")
    assert ticket.agent_address == "tg:700302"  # enrolled with Telegram: reached there
    assert ticket.number == 1001 and not ticket.already_open
    again = open_ticket(
        context.unit_of_work(), context.cipher, context.hash_key, RESIDENT, TicketReason.ASKED,
        [], NOW,
    )  # fmt: skip
    assert again.already_open and again.number == 1001
    found = open_ticket_of(context.unit_of_work(), context.cipher, context.hash_key, RESIDENT)
    assert found is not None and found.agent_address == "tg:700302"


def test_without_a_village_agent_the_least_busy_agent_then_the_administrators(
    context: AppContext,
) -> None:
    budi = agent(context, "Budi Santoso", "Sumberarum", "+6281300000311", None)
    first = open_ticket(
        context.unit_of_work(), context.cipher, context.hash_key, "tg:5001", TicketReason.ASKED,
        [], NOW,
    )  # fmt: skip
    assert first.agent_first_name == "Budi"
    assert first.agent_address == "wa:+6281300000311"  # no Telegram: WhatsApp
    suspend_agent(context.unit_of_work(), budi.id, NOW)
    nobody = open_ticket(
        context.unit_of_work(), context.cipher, context.hash_key, "tg:5002", TicketReason.ASKED,
        [], NOW,
    )  # fmt: skip
    assert nobody.agent_first_name is None and nobody.agent_address is None


def test_only_the_assigned_agent_answers_and_never_a_closed_ticket(context: AppContext) -> None:
    siti = agent(context, "Siti Rahayu", "Karanglo", "+6281300000321", 700321)
    budi = agent(context, "Budi Santoso", "Sumberarum", "+6281300000322", 700322)
    register_in(context, RESIDENT, "Karanglo")
    number = opened(context)

    assert answer(context.unit_of_work(), context.cipher, budi, number, "x", NOW).refused == (
        "not_yours"
    )
    assert answer(context.unit_of_work(), context.cipher, None, number, "x", NOW).refused == (
        "not_yours"
    )
    assert answer(context.unit_of_work(), context.cipher, siti, 9999, "x", NOW).refused == "unknown"
    later = NOW + timedelta(minutes=4)
    done = answer(context.unit_of_work(), context.cipher, siti, number, "Iya bu", later)
    assert done.refused is None and done.delivered_to == RESIDENT and not done.queued_for_web
    close_ticket(context.unit_of_work(), context.cipher, number, ClosedBecause.RESIDENT_DONE, later)
    assert answer(context.unit_of_work(), context.cipher, siti, number, "x", later).refused == (
        "closed"
    )
    (line,) = list_tickets(context.unit_of_work(), later)
    assert line.waited == timedelta(minutes=4) and line.closed_because == "resident_done"


def test_messages_are_stored_encrypted(context: AppContext) -> None:
    agent(context, "Siti Rahayu", "Karanglo", "+6281300000331", None)
    opened(context)
    with context.sessions() as session:
        bodies = session.scalars(select(TicketMessage.body_encrypted)).all()
        ticket = session.scalars(select(Ticket)).one()
    assert len(bodies) == 2
    assert not any("3523031708800301" in body or "iuran" in body for body in bodies)
    assert "6281234500301" not in ticket.resident_sender_encrypted + ticket.resident_sender_hash


def test_unanswered_and_quiet_tickets_close(context: AppContext) -> None:
    siti = agent(context, "Siti Rahayu", "Karanglo", "+6281300000341", 700341)
    unanswered = opened(context, "tg:6001")
    answered = opened(context, "tg:6002")
    answer(context.unit_of_work(), context.cipher, siti, answered, "halo", NOW)

    early = NOW + timedelta(minutes=14)
    assert close_overdue(context.unit_of_work(), context.cipher, POLICY, early) == []
    closed = close_overdue(
        context.unit_of_work(), context.cipher, POLICY, NOW + timedelta(minutes=16)
    )
    assert [(c.number, c.because) for c in closed] == [(unanswered, ClosedBecause.NO_ANSWER)]
    assert closed[0].resident_address == "tg:6001"
    quiet = close_overdue(context.unit_of_work(), context.cipher, POLICY, NOW + timedelta(hours=2))
    assert [(c.number, c.because) for c in quiet] == [(answered, ClosedBecause.INACTIVE)]
    with context.sessions() as session:
        assert set(session.scalars(select(Ticket.state))) == {TicketState.CLOSED.value}


def test_a_web_resident_picks_up_answers_once(context: AppContext) -> None:
    siti = agent(context, "Siti Rahayu", "Karanglo", "+6281300000351", None)
    number = opened(context, "web:page-1")
    outcome = answer(context.unit_of_work(), context.cipher, siti, number, "Saya bantu", NOW)
    assert outcome.queued_for_web
    news = undelivered_for_web(
        context.unit_of_work(), context.cipher, context.hash_key, "web:page-1"
    )
    assert [(n.author.value, n.agent_first_name, n.text) for n in news] == [
        ("agent", "Siti", "Saya bantu")
    ]
    assert (
        undelivered_for_web(context.unit_of_work(), context.cipher, context.hash_key, "web:page-1")
        == []
    )


def test_closed_tickets_are_kept_as_long_as_conversations(context: AppContext) -> None:
    agent(context, "Siti Rahayu", "Karanglo", "+6281300000361", None)
    old, recent = opened(context, "tg:7001"), opened(context, "tg:7002")
    close_ticket(context.unit_of_work(), context.cipher, old, ClosedBecause.RESIDENT_DONE, NOW)
    close_ticket(
        context.unit_of_work(), context.cipher, recent, ClosedBecause.RESIDENT_DONE,
        NOW + timedelta(days=40),
    )  # fmt: skip
    assert purge_closed_before(context.unit_of_work(), NOW + timedelta(days=30)) == 1
    with context.sessions() as session:
        assert session.scalars(select(Ticket.number)).all() == [recent]
        assert len(session.scalars(select(TicketMessage.id)).all()) == 2


def test_tickets_are_taken_passed_on_and_reassigned(context: AppContext) -> None:
    siti = agent(context, "Siti Rahayu", "Karanglo", "+6281300000371", 700371)
    budi = agent(context, "Budi Santoso", "Karanglo", "+6281300000372", None)
    register_in(context, RESIDENT, "Karanglo")
    number = opened(context)

    assert pass_ticket(context.unit_of_work(), context.cipher, budi, number, NOW).refused == (
        "not_yours"
    )
    passed = pass_ticket(context.unit_of_work(), context.cipher, siti, number, NOW)
    assert (passed.agent_first_name, passed.agent_address) == ("Budi", "wa:+6281300000372")
    assert passed.resident_address == RESIDENT  # the resident is told who answers now
    # Budi passes it on too: Siti is the village's only other agent, so it goes back to her.
    again = pass_ticket(context.unit_of_work(), context.cipher, budi, number, NOW)
    assert again.agent_first_name == "Siti"
    taken = take_ticket(context.unit_of_work(), context.cipher, budi, number, NOW)
    assert (taken.refused, taken.agent_first_name) == (None, "Siti")  # Siti is told
    assert answer(context.unit_of_work(), context.cipher, siti, number, "x", NOW).refused == (
        "not_yours"
    )
    moved = reassign(context.unit_of_work(), context.cipher, number, siti.id, NOW)
    assert moved is not None and moved.agent_address == "tg:700371"
    suspend_agent(context.unit_of_work(), budi.id, NOW)
    assert reassign(context.unit_of_work(), context.cipher, number, budi.id, NOW) is None
    close_ticket(context.unit_of_work(), context.cipher, number, ClosedBecause.RESIDENT_DONE, NOW)
    assert take_ticket(context.unit_of_work(), context.cipher, siti, number, NOW).refused == (
        "closed"
    )


async def test_the_relay_says_sorry_and_hands_back_the_bot_when_nobody_answers(
    pg_url: str, fake: FakeTelegram
) -> None:
    """The worker's sweep through the real Outbox to a local Telegram Bot API: the resident
    gets the apology with the office hours, the agent a note; then the resident's next
    message is the bot's again."""
    clock = fixed_clock(NOW)
    settings = Settings(
        _env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY,
        telegram_bot_token="123456:TEST", telegram_api_base_url=fake.base_url,
        village_office_hours="Senin–Kamis 08.00–14.00",
    )  # fmt: skip
    context = AppContext.from_settings(settings, clock)
    agent(context, "Siti Rahayu", "Karanglo", "+6281300000381", 700381)
    number = opened(context, "tg:8001")
    outbox = build_outbox(settings, context.channel_log)
    relay = context.handoff_relay(outbox)
    try:
        assert await relay.intercept("tg:8001", "halo, ada orang?") == []
        assert fake.sent()[-1]["chat_id"] in (700381, "700381")
        clock.advance(timedelta(minutes=16))
        assert await relay.close_overdue(settings.village_office_hours) == 1
        to_resident, to_agent = fake.sent()[-2:]
        assert str(to_resident["chat_id"]) == "8001"
        assert "Senin–Kamis 08.00–14.00" in to_resident["text"]
        assert str(to_agent["chat_id"]) == "700381"
        assert to_agent["text"].startswith(f"T-{number} ditutup: belum dibalas dalam 15 menit")
        assert await relay.intercept("tg:8001", "iuran berapa") is None  # the bot again
    finally:
        await outbox.aclose()
        context.engine.dispose()


def test_an_unregistered_resident_reaches_the_agent_of_the_village_they_name(
    context: AppContext,
) -> None:
    agent(context, "Siti Rahayu", "Karanglo", "+6281300000391", None)
    agent(context, "Budi Santoso", "Sumberarum", "+6281300000392", None)
    opened_for = open_ticket(
        context.unit_of_work(), context.cipher, context.hash_key, "tg:9001", TicketReason.ASKED,
        ["mau bicara dengan agen desa sumberarum"], NOW, asked_village="Sumberarum",
    )  # fmt: skip
    assert (opened_for.agent_first_name, opened_for.village) == ("Budi", "Sumberarum")
