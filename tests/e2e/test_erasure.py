"""Erasure is complete (issue 25): "hapus data saya" from a linked WhatsApp number leaves
no trace of the resident in any table of the application database or of the conversation
store: not their web chat conversation where they registered, not their ticket with an
agent, not a keyed hash that a lookup could map back to them. Only the fact that a
registration and an erasure happened stays in the audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.app_context import AppContext
from bot.db.engine import make_engine
from bot.db.models import Agent, AuditEvent, Ticket
from bot.infra.privacy import conversation_key, keyed_hash
from bot.services.agents import enrol_agent
from bot.services.code_quota import destination_hash
from bot.services.conversations import tracker_engine
from bot.services.handoff import ticket_label
from bot.services.participants import nik_lookup_hash, phone_lookup_hash
from tests.conftest import TEST_PII_KEY
from tests.e2e.conftest import Stack, participant_by_nik
from tests.support.traces import find_traces


@pytest.fixture
def context(stack: Stack) -> Iterator[AppContext]:
    context = AppContext.from_settings(stack.settings)
    yield context
    context.engine.dispose()


def texts(replies: list[dict]) -> list[str]:
    return [r.get("text") or "" for r in replies]


def letters(count: int) -> str:
    """Random letters: a name nobody else in the shared test database has."""
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:count])


def sender_needles(sender_id: str) -> dict[str, str]:
    """A conversation's id and every keyed hash that names it somewhere."""
    digest = keyed_hash(TEST_PII_KEY, sender_id)
    return {
        f"{sender_id[:3]} sender id": sender_id,
        f"{sender_id[:3]} sender hash": digest,
        f"{sender_id[:3]} sender hash prefix": digest[:16],
        f"{sender_id[:3]} conversation key": conversation_key(TEST_PII_KEY, sender_id),
    }


def test_erasure_from_whatsapp_leaves_no_trace_of_the_web_registration_or_the_ticket(
    stack: Stack, db, context: AppContext
) -> None:
    sender = f"erase-{uuid.uuid4().hex[:8]}"
    nik = f"3571021708809{uuid.uuid4().int % 10**3:03d}"
    phone = f"+62858{uuid.uuid4().int % 10**7:07d}"
    name = f"Sri {letters(8).capitalize()}"
    question = f"apakah iuran bisa dicicil {letters(6)}?"
    # An agent of the resident's village on Telegram, to talk to: a village no other test
    # enrols an agent in, so the ticket is routed to this one whatever ran before.
    agent_tg = 770_000 + uuid.uuid4().int % 10_000
    enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Rina Lestari",
        phone=f"+62813{uuid.uuid4().int % 10**7:07d}", village="Dlanggu", district="Dlanggu",
        regency="Mojokerto", telegram_user_id=agent_tg,
    )  # fmt: skip

    # 1. Registered on the web chat, WhatsApp linked by the code sent there.
    for message in ("mau daftar", "ya setuju", f"nama saya {name}", nik, "17 agustus 1980",
                    phone, "desa Dlanggu", "petani", "1 juta", "tidak"):  # fmt: skip
        stack.chat(sender, message)
    done = texts(stack.chat(sender, "ya, daftarkan"))
    assert "Nomor pendaftaran Sadar Anda: SDR-" in done[0]
    participant = participant_by_nik(db, nik)
    assert participant is not None
    reference = participant.reference
    linked = texts(stack.chat(sender, stack.twilio.last_code(phone)))[-1]
    assert linked.startswith("Berhasil! WhatsApp")
    assert reference in stack.whatsapp(phone, "cek status")[-1]

    # 2. On the web chat, asks for a person and writes a question that reaches the agent;
    # the ticket stays open.
    stack.chat(sender, "bisa ngobrol sama petugas?")
    stack.chat(sender, question)
    web_sender = stack.web_sender(sender)
    with db() as session:
        ticket = session.scalar(
            select(Ticket).where(
                Ticket.resident_sender_hash == keyed_hash(TEST_PII_KEY, web_sender)
            )
        )
        assert ticket is not None and ticket.state != "closed" and ticket.agent_id is not None
        agent = session.get(Agent, ticket.agent_id)
        assert agent is not None and agent.telegram_sender_encrypted is not None
        agent_chat = int(context.cipher.decrypt(agent.telegram_sender_encrypted).split(":")[1])
    label = ticket_label(ticket.number)
    assert any(question in m["text"] for m in stack.telegram_to(agent_chat))

    # 3. Erased from WhatsApp.
    assert "Hapus data pendaftaran Anda" in stack.whatsapp(phone, "hapus data saya")[0]
    stack.whatsapp(phone, "ya")
    assert participant_by_nik(db, nik) is None

    # 4. Nothing of the resident anywhere, in any table of either database.
    contained = {
        "NIK": nik,
        "NIK hash": nik_lookup_hash(TEST_PII_KEY, nik),
        "phone": phone[1:],
        "phone (local form)": "0" + phone[3:],
        "phone hash": phone_lookup_hash(TEST_PII_KEY, phone),
        "phone's code quota hash": destination_hash(TEST_PII_KEY, phone),
        "name": name,
        "ticket text": question,
        "reference": reference,
        "web chat id": web_sender.split(":", 1)[1],
        **sender_needles(web_sender),
        **sender_needles(f"wa:{phone}"),
    }
    app = make_engine(stack.settings.database_url)
    conversations = tracker_engine(stack.settings.tracker_store_url)
    try:
        left = find_traces(app, context.cipher, contained, {"ticket number": label})
        left += find_traces(conversations, context.cipher, contained, {"ticket number": label})
    finally:
        app.dispose()
        conversations.dispose()
    assert not left, "left behind:\n" + "\n".join(str(trace) for trace in left)

    # What the audit keeps: that a registration and an erasure happened, and when.
    with db() as session:
        erasure = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "deleted_by_participant")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert erasure is not None and erasure.participant_id is None and erasure.fields == ""
