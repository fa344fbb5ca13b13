"""Tickets stay in their village (issue 25, point 3): only the village's agents take or
are passed a ticket (an administrator may give it to anyone), another village's agent
hears what an unknown ticket gets, the resident is told who answers now, relayed text is
masked, and every step is audited without personal data."""

from __future__ import annotations

from sqlalchemy import select

from bot.app_context import AppContext
from bot.channels.factory import build_outbox
from bot.db.models import AuditEvent
from bot.infra.settings import Settings
from bot.services.handoff import (
    Handover,
    TicketReason,
    open_ticket,
    open_ticket_of,
    pass_ticket,
    reassign,
    take_ticket,
)
from tests.conftest import TEST_PII_KEY
from tests.integration.test_handoff import NOW, RESIDENT, agent, context, opened, register_in
from tests.support.clock import fixed_clock
from tests.support.fake_telegram import FakeTelegram
from tests.support.participants import make_participant

__all__ = ["context"]  # the fixture, shared with test_handoff


def audit_rows(context: AppContext) -> list[tuple[str, str, str]]:
    """The audit trail's ticket events."""
    with context.sessions() as session:
        return [
            (row.actor, row.action, row.fields)
            for row in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.startswith("ticket_"))
                .order_by(AuditEvent.id)
            )
        ]


def test_another_village_s_agent_cannot_take_a_ticket_and_learns_nothing(
    context: AppContext,
) -> None:
    siti = agent(context, "Siti Rahayu", "Karanglo", "+6281300000401", None)
    budi = agent(context, "Budi Santoso", "Sumberarum", "+6281300000402", None)
    register_in(context, RESIDENT, "Karanglo")
    number = opened(context)

    refused = take_ticket(context.unit_of_work(), context.cipher, budi, number, NOW)
    unknown = take_ticket(context.unit_of_work(), context.cipher, budi, 99_999, NOW)
    assert refused == unknown == Handover(refused="unknown")  # no oracle
    found = open_ticket_of(context.unit_of_work(), context.cipher, context.hash_key, RESIDENT)
    assert found is not None and found.agent_address == "wa:+6281300000401"  # still Siti's

    # Passing it on never reaches another village: with no colleague, the administrators.
    passed = pass_ticket(context.unit_of_work(), context.cipher, siti, number, NOW)
    assert (passed.refused, passed.agent_first_name, passed.agent_address) == (None, None, None)
    assert passed.resident_address == RESIDENT
    assert take_ticket(context.unit_of_work(), context.cipher, budi, number, NOW).refused == (
        "unknown"
    )
    # An administrator may give it to anyone.
    moved = reassign(context.unit_of_work(), context.cipher, number, budi.id, NOW)
    assert moved is not None and (moved.agent_first_name, moved.resident_address) == (
        "Budi",
        RESIDENT,
    )

    label = f"T-{number}"
    assert audit_rows(context) == [
        (budi.actor, "ticket_take_refused", label),
        (budi.actor, "ticket_take_refused", "T-99999"),
        (siti.actor, "ticket_passed_to_admin", label),
        (budi.actor, "ticket_take_refused", label),
        ("admin", f"ticket_reassigned_to_agent:{budi.id}", label),
    ]


def test_the_named_or_registered_village_comes_before_the_least_busy_agent(
    context: AppContext,
) -> None:
    siti = agent(context, "Siti Rahayu", "Karanglo", "+6281300000411", None)
    agent(context, "Budi Santoso", "Sumberarum", "+6281300000412", None)

    def ticket_for(sender: str, named: str | None = None) -> tuple[str | None, str | None]:
        opened_for = open_ticket(
            context.unit_of_work(), context.cipher, context.hash_key, sender,
            TicketReason.ASKED, [], NOW, asked_village=named,
        )  # fmt: skip
        return opened_for.agent_first_name, opened_for.village

    # Siti gets busy with residents who named her village ("desa karanglo" as typed).
    assert ticket_for("tg:4101", "desa karanglo") == ("Siti", "Karanglo")
    assert ticket_for("tg:4102", "Karanglo") == ("Siti", "Karanglo")
    # Nobody named, not registered: the least busy agent, and the ticket is that agent's
    # village's (every notice names a village, never "desa -").
    assert ticket_for("tg:4103") == ("Budi", "Sumberarum")
    # Registered in Karanglo: Siti, busier or not.
    register_in(context, RESIDENT, "Karanglo")
    assert ticket_for(RESIDENT) == ("Siti", "Karanglo")
    # Registered in Karanglo but asking for the agent of Sumberarum: the one they named.
    make_participant(context, "tg:4104", village=("Karanglo", "Kerek", "Tuban"))
    assert ticket_for("tg:4104", "Sumberarum") == ("Budi", "Sumberarum")
    # Registered in a village without an agent: the least busy agent, and the ticket
    # stays that village's (its agents, when enrolled, may take it).
    make_participant(context, "tg:4105", village=("Bendosari", "Ngantru", "Tulungagung"))
    assert ticket_for("tg:4105") == ("Budi", "Bendosari")
    assert siti.village == "Karanglo"


async def test_the_resident_hears_who_answers_now_and_the_agent_sees_masked_text(
    pg_url: str, fake: FakeTelegram
) -> None:
    """Through the relay and the real Outbox to a local Telegram Bot API."""
    settings = Settings(
        _env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY,
        telegram_bot_token="123456:TEST", telegram_api_base_url=fake.base_url,
    )  # fmt: skip
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    siti = agent(context, "Siti Rahayu", "Karanglo", "+6281300000421", 700421)
    budi = agent(context, "Budi Santoso", "Karanglo", "+6281300000422", 700422)
    wulan = agent(context, "Wulan Sari", "Sumberarum", "+6281300000423", 700423)
    resident = "tg:8201"
    number = open_ticket(
        context.unit_of_work(), context.cipher, context.hash_key, resident,
        TicketReason.ASKED, [], NOW, asked_village="Karanglo",
    ).number  # fmt: skip
    label = f"T-{number}"
    outbox = build_outbox(settings, context.channel_log)
    relay = context.handoff_relay(outbox)

    def last_to(chat: int) -> str:
        return str([m for m in fake.sent() if str(m["chat_id"]) == str(chat)][-1]["text"])

    try:
        said = "NIK saya 3523031708800301, kodenya SETUJU 482 913 ya bu"
        assert await relay.intercept(resident, said) == []
        relayed = last_to(700421)
        assert relayed.startswith(f"{label} · warga: NIK saya 3523")
        assert "3523031708800301" not in relayed and "482 913" not in relayed
        assert "482913" not in relayed and "ya bu" in relayed

        # Another village's agent: the same words as for a ticket that does not exist.
        refused = await relay.intercept("tg:700423", f"ambil {label}")
        assert refused is not None
        assert [r.text for r in refused] == [f"Tiket {label} tidak ada. Periksa nomornya."]
        assert last_to(700421).startswith(f"{label} · warga:")  # Siti heard of nothing
        sent_before = len(fake.sent())

        taken = await relay.intercept("tg:700422", f"ambil {label}")
        assert taken is not None and taken[0].text.startswith(f"{label} sekarang untuk Anda")
        assert last_to(700421) == f"{label} diambil alih oleh Budi Santoso."
        assert last_to(8201) == "Mulai sekarang yang membalas Anda: Budi (agen Perisai)."
        assert len(fake.sent()) == sent_before + 2

        await relay.intercept("tg:700422", f"oper {label}")
        assert last_to(8201) == "Mulai sekarang yang membalas Anda: Siti (agen Perisai)."
        assert await relay.reassign(number, wulan.id)
        assert last_to(8201) == "Mulai sekarang yang membalas Anda: Wulan (agen Perisai)."
        # The new agent gets the ticket's village and its last messages, masked; the agent
        # it was taken from is told they need not answer it.
        brief = last_to(700423)
        assert brief.startswith(f"{label} sekarang untuk Anda (warga desa Karanglo)")
        assert "• warga: NIK saya 3523" in brief and "ya bu" in brief
        assert "3523031708800301" not in brief and "482 913" not in brief
        assert last_to(700421) == (
            f"{label} dialihkan petugas Sadar ke Wulan. Anda tidak perlu membalasnya lagi."
        )
        await relay.intercept("tg:700423", f"oper {label}")  # nobody else in Sumberarum...
        # ...but the ticket is Karanglo's: it goes to Karanglo's agents, or the admins.
        assert last_to(8201) == "Mulai sekarang yang membalas Anda: Siti (agen Perisai)."
    finally:
        await outbox.aclose()
    actions = [(actor, action) for actor, action, _ in audit_rows(context)]
    assert (wulan.actor, "ticket_take_refused") in actions
    assert (budi.actor, "ticket_taken") in actions
    assert (budi.actor, f"ticket_passed_to_agent:{siti.id}") in actions
    assert ("admin", f"ticket_reassigned_to_agent:{wulan.id}") in actions
    for _actor, _action, fields in audit_rows(context):
        assert fields.startswith("T-")  # a ticket reference, never personal data
    context.engine.dispose()
