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


def test_an_agent_records_cash_for_one_resident_and_for_a_jimpitan_group(
    stack: Stack, context: AppContext
) -> None:
    agent_number = f"+62816{uuid.uuid4().int % 10**7:07d}"
    enrol_agent(
        context.sessions, context.cipher, context.hash_key, name="Joko Perisai",
        phone=agent_number, village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    ids = [
        make_participant(context, f"tg:{7800 + i + uuid.uuid4().int % 10**5 * 10}")
        for i in range(3)
    ]
    with context.sessions() as session:
        refs = dict(session.execute(select(Participant.id, Participant.reference)).all())
    one = stack.whatsapp(agent_number, f"bayar {refs[ids[0]]} 3 bulan")[-1]
    assert one.startswith("Tercatat: 3 bulan untuk Warga Uji") and "Kuitansi: KWT-" in one
    group = stack.whatsapp(agent_number, f"jimpitan {refs[ids[1]]} {refs[ids[2]]} 2 bulan")[-1]
    assert group.startswith("Jimpitan tercatat: 2 anggota, 2 bulan") and "JMP-" in group
    # Without the number of months nothing is recorded (checked below: still 3 months).
    assert "Tercatat" not in "\n".join(stack.whatsapp(agent_number, f"bayar {refs[ids[0]]}"))
    with context.sessions() as session:
        paid = dict(
            session.execute(
                select(Participant.id, Participant.paid_through).where(Participant.id.in_(ids))
            ).all()
        )
    assert paid[ids[0]] == date(2027, 1, 1)
    assert paid[ids[1]] == paid[ids[2]] == date(2026, 12, 1)


def test_a_non_agent_naming_a_reference_only_reports_their_own_payment(
    stack: Stack, context: AppContext
) -> None:
    someone = make_participant(context, f"tg:{8800 + uuid.uuid4().int % 10**5}")
    with context.sessions() as session:
        reference = session.scalar(select(Participant.reference).where(Participant.id == someone))
    stranger = f"+62817{uuid.uuid4().int % 10**7:07d}"
    reply = "\n".join(stack.whatsapp(stranger, f"bayar {reference} 3 bulan"))
    assert "Tercatat" not in reply and "belum terdaftar" in reply
    with context.sessions() as session:
        assert (
            session.scalar(select(Participant.paid_through).where(Participant.id == someone))
            is None
        )
