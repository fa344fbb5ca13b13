"""Talking to a person (issue 18), through the whole stack: a resident on WhatsApp and the
village's agent on Telegram hold a conversation through Sadar; "selesai" gives the bot back;
nobody but the assigned agent can answer; the dashboard lists the ticket with its waiting
time."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.app_context import AppContext
from bot.channels.factory import build_outbox
from bot.db.models import Ticket, TicketMessage
from bot.domain.clock import FixedClock
from bot.services.agents import enrol_agent
from tests.e2e.conftest import ADMIN_PASSWORD, Stack, TelegramUser
from tests.support.html_tables import table_rows
from tests.support.participants import make_participant


@pytest.fixture
def context(stack: Stack) -> Iterator[AppContext]:
    context = AppContext.from_settings(stack.settings)
    yield context
    context.engine.dispose()


def ticket_in(text: str) -> str:
    match = re.search(r"\bT-\d+\b", text)
    assert match, text
    return match.group(0)


def test_a_whatsapp_resident_and_a_telegram_agent_talk_through_sadar(
    stack: Stack, context: AppContext
) -> None:
    agent_tg = 760_000 + uuid.uuid4().int % 10_000
    village = f"Karanglo {uuid.uuid4().hex[:6]}"  # other tests' agents serve Karanglo
    enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Rahayu",
        phone=f"+62813{uuid.uuid4().int % 10**7:07d}", village=village, district="Kerek",
        regency="Tuban", telegram_user_id=agent_tg,
    )  # fmt: skip
    agent = TelegramUser(stack, agent_tg, "Siti")
    resident = f"+62815{uuid.uuid4().int % 10**7:07d}"
    make_participant(context, f"wa:{resident}", village=(village, "Kerek", "Tuban"))

    handed_over = stack.whatsapp(resident, "bisa ngobrol sama petugas?")[-1]
    assert "Siti" in handed_over and village in handed_over and "selesai" in handed_over
    ticket = ticket_in(handed_over)
    notice = stack.telegram_to(agent_tg)[-1]["text"]
    assert notice.startswith(f"{ticket} · ") and "bisa ngobrol sama petugas?" in notice
    assert resident not in notice and resident[3:] not in notice  # the number is masked

    # 1. The resident's question reaches the agent, not Rasa.
    assert stack.whatsapp(resident, "kalau sakit karena kerja ditanggung?") == []
    assert stack.telegram_to(agent_tg)[-1]["text"] == (
        f"{ticket} · warga: kalau sakit karena kerja ditanggung?\nBalas: balas {ticket} <pesan>"
    )
    # 2. The agent answers from Telegram; it reaches the resident's WhatsApp.
    confirmed = agent.says(f"balas {ticket} Iya bu, JKK menanggung biaya berobatnya.")
    assert [m["text"] for m in confirmed] == [f"✓ Terkirim ke warga ({ticket})."]
    assert stack.twilio.bodies(resident)[-1] == (
        "Siti (agen Perisai): Iya bu, JKK menanggung biaya berobatnya."
    )
    # 3. The resident answers back, and the agent sees it.
    assert stack.whatsapp(resident, "baik terima kasih bu") == []
    forwarded = stack.telegram_to(agent_tg)[-1]["text"]
    assert "warga: baik terima kasih bu" in forwarded
    # The agent uses Telegram's "reply" on the forwarded message instead of typing "balas".
    quoted = {
        "message_id": 1, "date": 0, "chat": agent.chat, "text": forwarded,
        "from": {"id": 123456, "is_bot": True, "first_name": "Sadar"},
    }  # fmt: skip
    update = agent._message(text="Sama-sama bu, semoga lekas sembuh.", reply_to_message=quoted)
    assert [m["text"] for m in stack.telegram_update(update)] == [
        f"✓ Terkirim ke warga ({ticket})."
    ]
    assert (
        stack.twilio.bodies(resident)[-1]
        == "Siti (agen Perisai): Sama-sama bu, semoga lekas sembuh."
    )

    # Nobody else can answer the ticket: a resident typing the same words gets the bot.
    stranger = TelegramUser(stack, agent_tg + 1, "Joko")
    before = len(stack.twilio.to(resident))
    stranger.says(f"balas {ticket} ini penipuan, transfer ke rekening saya")
    assert len(stack.twilio.to(resident)) == before

    # "selesai": the bot is back, and the agent is told.
    back = stack.whatsapp(resident, "selesai")
    assert back == ["Percakapan dengan agen selesai. Anda kembali ke Sadar (bot): ketik "
                    'pertanyaan Anda, atau "daftar".']  # fmt: skip
    assert stack.telegram_to(agent_tg)[-1]["text"] == f"{ticket} ditutup oleh warga (selesai)."
    after = stack.whatsapp(resident, "iuran berapa?")
    assert any("16.800" in body for body in after)  # Rasa answers again
    late = agent.says(f"balas {ticket} masih ada pertanyaan?")
    assert late[-1]["text"] == f"{ticket} sudah ditutup. Pesan tidak dikirim."

    number = int(ticket.removeprefix("T-"))
    with context.sessions() as session:
        stored = session.scalar(select(Ticket).where(Ticket.number == number))
        assert stored is not None and stored.state == "closed"
        assert stored.closed_because == "resident_done" and stored.first_answer_at is not None
        bodies = session.scalars(
            select(TicketMessage.body_encrypted).where(TicketMessage.ticket_id == stored.id)
        ).all()
    # The request, the question, two answers and the reply; "selesai" only closed it.
    assert len(bodies) == 5 and not any("JKK" in body for body in bodies)  # encrypted

    # The dashboard lists the ticket and how long the resident waited for the first answer.
    with httpx.Client(base_url=stack.gateway_url) as admin:
        login = admin.post("/admin/login", data={"password": ADMIN_PASSWORD})
        assert login.status_code == 303
        page = admin.get("/admin/tiket").text
    [row] = [r for r in table_rows(page, "tickets") if r[0] == ticket]
    assert row[1] == "ditutup: warga selesai" and row[4] == "Siti Rahayu"
    assert re.fullmatch(r"\d+ menit", row[6])


def test_asking_about_agents_is_answered_by_the_bot(stack: Stack) -> None:
    resident = f"+62816{uuid.uuid4().int % 10**7:07d}"
    answered = stack.whatsapp(resident, "apa itu perisai")
    assert any("Penggerak Jaminan Sosial Indonesia" in body for body in answered)
    assert not any(re.search(r"\bT-\d+\b", body) for body in answered)


def test_a_web_resident_gets_the_answer_of_the_agent_an_administrator_assigned(
    stack: Stack, context: AppContext
) -> None:
    wulan_number = f"+62817{uuid.uuid4().int % 10**7:07d}"
    wulan = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Wulan Sari",
        phone=wulan_number, village="Sumberarum", district="Kerek", regency="Tuban",
    )  # fmt: skip
    page = f"page-{uuid.uuid4().hex[:12]}"
    handed_over = stack.chat(page, "tolong sambungkan ke petugas")
    ticket = ticket_in(" ".join(r.get("text", "") for r in handed_over))

    with httpx.Client(base_url=stack.gateway_url) as admin:
        assert admin.post("/admin/login", data={"password": ADMIN_PASSWORD}).status_code == 303
        moved = admin.post(
            "/admin/tickets/reassign", data={"number": ticket[2:], "agent_id": str(wulan)}
        )
        assert moved.status_code == 303
        refused = admin.post("/admin/tickets/reassign", data={"number": "x"})
        assert refused.status_code == 400
    assert stack.twilio.bodies(wulan_number)[-1].startswith(f"{ticket} sekarang untuk Anda")

    assert stack.chat(page, "saya mau tanya soal klaim kecelakaan") == []
    assert "warga: saya mau tanya soal klaim kecelakaan" in stack.twilio.bodies(wulan_number)[-1]
    sent = stack.whatsapp(wulan_number, f"balas {ticket} Bisa bu, bawa KTP ke kantor desa.")
    assert sent == [f"✓ Terkirim ke warga ({ticket})."]

    def news() -> list[str]:
        session = stack.web_session(page)
        response = httpx.post(f"{stack.gateway_url}/api/chat/news", json={"sender": session})
        assert response.status_code == 200
        return [reply["text"] for reply in response.json()["replies"]]

    assert news() == [
        "Mulai sekarang yang membalas Anda: Wulan (agen Perisai).",  # who answers now
        "Wulan (agen Perisai): Bisa bu, bawa KTP ke kantor desa.",
    ]
    assert news() == []  # handed over once

    # An administrator answers from the dashboard too.
    with httpx.Client(base_url=stack.gateway_url) as admin:
        assert admin.post("/admin/login", data={"password": ADMIN_PASSWORD}).status_code == 303
        answered = admin.post(
            "/admin/tickets/answer", data={"number": ticket[2:], "text": "Kantor buka jam 8."}
        )
        assert answered.status_code == 303
    assert news() == ["Petugas Sadar: Kantor buka jam 8."]


async def test_nobody_answers_in_time_the_resident_is_told_and_gets_the_bot_back(
    stack: Stack, context: AppContext
) -> None:
    """The worker's sweep (its code, run here with the stack's settings and a clock 16
    minutes on, since the stack's own clock runs at the real pace) over the Twilio
    stand-in; the resident's next message is the bot's again."""
    village = f"Karanglo {uuid.uuid4().hex[:6]}"
    agent_number = f"+62818{uuid.uuid4().int % 10**7:07d}"
    enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Dewi Lestari",
        phone=agent_number, village=village, district="Kerek", regency="Tuban",
    )  # fmt: skip
    resident = f"+62819{uuid.uuid4().int % 10**7:07d}"
    make_participant(context, f"wa:{resident}", village=(village, "Kerek", "Tuban"))
    ticket = ticket_in(stack.whatsapp(resident, "mau bicara dengan agen")[-1])

    later = FixedClock(context.clock.now() + timedelta(minutes=16))
    sweeper = AppContext.from_settings(stack.settings, later)
    outbox = build_outbox(stack.settings, sweeper.channel_log)
    try:
        closed = await sweeper.handoff_relay(outbox).close_overdue(
            stack.settings.village_office_hours
        )
    finally:
        await outbox.aclose()
        sweeper.engine.dispose()
    assert closed >= 1
    apology = stack.twilio.bodies(resident)[-1]
    assert apology.startswith("Maaf, agen Perisai belum sempat membalas")
    assert stack.settings.village_office_hours in apology
    assert stack.twilio.bodies(agent_number)[-1].startswith(f"{ticket} ditutup: belum dibalas")
    after = stack.whatsapp(resident, "iuran berapa?")
    assert any("16.800" in body for body in after)
