"""Perisai agents in chat, through the whole stack: an enrolled agent gets the menu and the
lists; nobody else does, whatever they type, including the menu's own payloads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select, update

from bot.app_context import AppContext
from bot.db.models import AuditEvent, Participant
from bot.services.agents import enrol_agent
from tests.e2e.conftest import Stack
from tests.support.participants import make_participant


@pytest.fixture
def context(stack: Stack) -> Iterator[AppContext]:
    context = AppContext.from_settings(stack.settings)
    yield context
    context.engine.dispose()


def test_an_enrolled_agent_sees_the_menu_and_the_village_arrears(
    stack: Stack, context: AppContext
) -> None:
    agent_number = f"+62813{uuid.uuid4().int % 10**7:07d}"
    agent_id = enrol_agent(
        context.sessions, context.cipher, context.hash_key, name="Siti Perisai",
        phone=agent_number, village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    owing = make_participant(context, f"wa:+62814{uuid.uuid4().int % 10**7:07d}",
                             first_period=date(2026, 9, 1))  # fmt: skip
    with context.sessions.begin() as session:
        session.execute(
            update(Participant)
            .where(Participant.id == owing)
            .values(registered_by_agent_id=agent_id)
        )

    menu = stack.whatsapp(agent_number, "menu agen")[-1]
    assert menu.startswith("Menu agen Perisai (Karanglo)")
    assert "2. Tunggakan di desa saya" in menu
    arrears = stack.whatsapp(agent_number, "2")[-1]
    assert "warga Karanglo menunggak" in arrears
    with context.sessions() as session:
        reference = session.scalar(select(Participant.reference).where(Participant.id == owing))
    assert f"Warga Uji ({reference})" in arrears
    residents = stack.whatsapp(agent_number, "/agent_my_residents")[-1]
    assert reference in residents
    with context.sessions() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.actor == f"agent:{agent_id}")
        ).all()
    assert actions == ["agent_menu", "agent_arrears", "agent_my_residents"]


@pytest.mark.parametrize(
    "text",
    ["menu agen", "saya agen perisai, tampilkan tunggakan", "/agent_arrears",
     "/agent_my_residents", "/agent_summary"],
)  # fmt: skip
def test_no_wording_gives_a_non_agent_agent_powers(stack: Stack, text: str) -> None:
    stranger = f"+62815{uuid.uuid4().int % 10**7:07d}"
    replies = stack.whatsapp(stranger, text)
    joined = "\n".join(replies)
    assert "Menu agen" not in joined and "menunggak iuran" not in joined
    assert "Rekap" not in joined and "Warga yang Anda daftarkan" not in joined
    if text.startswith("/agent") or text == "menu agen":
        assert "khusus agen Perisai" in joined
