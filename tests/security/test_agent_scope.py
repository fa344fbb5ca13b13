"""Agents act within their village (issue 15, point 6): cash only for residents of their own
village (or those they registered), answered like an unknown reference otherwise; names
masked; large payments need KONFIRMASI; a daily cap per agent."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.app_context import AppContext
from bot.db.models import Participant, Payment
from bot.services.agents import AgentRef, enrol_agent
from tests.support.participants import make_participant
from tests.support.stack import Stack


@pytest.fixture
def context(stack: Stack) -> Iterator[AppContext]:
    context = AppContext.from_settings(stack.settings)
    yield context
    context.engine.dispose()


def _agent(context: AppContext) -> str:
    number = f"+62819{uuid.uuid4().int % 10**7:07d}"
    enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Dewi Perisai",
        phone=number, village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    return number


def _reference(context: AppContext, participant_id: int) -> str:
    with context.sessions() as session:
        return str(
            session.scalar(select(Participant.reference).where(Participant.id == participant_id))
        )


def _payments(context: AppContext, participant_id: int) -> int:
    with context.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Payment)
                .where(Payment.participant_id == participant_id)
            )
            or 0
        )


def _resident(context: AppContext, village: tuple[str, str, str]) -> int:
    return make_participant(context, f"tg:{uuid.uuid4().int % 10**9}", village=village)


def test_an_agent_cannot_pay_for_a_resident_of_another_village(
    stack: Stack, context: AppContext
) -> None:
    agent = _agent(context)
    elsewhere = _resident(context, ("Bendosari", "Ngantru", "Tulungagung"))
    reply = stack.whatsapp(agent, f"bayar {_reference(context, elsewhere)} 1 bulan")[-1]
    assert "tidak ditemukan di antara warga desa Anda" in reply
    assert _payments(context, elsewhere) == 0

    home = _resident(context, ("Karanglo", "Kerek", "Tuban"))
    paid, told = stack.whatsapp(agent, f"bayar {_reference(context, home)} 1 bulan")[-2:]
    assert paid.startswith("Tercatat: 1 bulan untuk War*** U.")  # masked name
    assert told.startswith("Warga sudah diberi tahu")  # the resident's own notice
    assert _payments(context, home) == 1


def test_a_large_payment_needs_konfirmasi(stack: Stack, context: AppContext) -> None:
    agent = _agent(context)
    home = _resident(context, ("Karanglo", "Kerek", "Tuban"))
    reference = _reference(context, home)
    asked = stack.whatsapp(agent, f"bayar {reference} 12 bulan")[-1]
    assert "perlu konfirmasi" in asked and _payments(context, home) == 0
    done = stack.whatsapp(agent, f"bayar {reference} 12 bulan KONFIRMASI")[-2]
    assert done.startswith("Tercatat: 12 bulan") and _payments(context, home) == 1


def test_the_daily_cap_counts_distinct_residents_since_midnight_wib(pg_url: str) -> None:
    from datetime import date, datetime

    from bot.infra.settings import Settings
    from bot.services.agents import residents_paid_for_today
    from bot.services.payments import PaymentSource, record_payment
    from tests.conftest import TEST_PII_KEY
    from tests.support.clock import WIB, fixed_clock

    clock = fixed_clock(datetime(2026, 11, 19, 23, 30, tzinfo=WIB))
    context = AppContext.from_settings(
        Settings(_env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY), clock
    )
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Dewi Perisai",
        phone="+6281900000001", village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    agent = AgentRef(agent_id, "Dewi Perisai", "Karanglo", "Kerek", "Tuban")
    residents = [make_participant(context, f"tg:{9100 + i}") for i in range(3)]

    def pay(participant_id: int) -> None:
        record_payment(
            context.unit_of_work(), participant_id, source=PaymentSource.AGENT_CASH,
            recorded_by=f"agent:{agent_id}", months=1, now=clock.now(),
        )  # fmt: skip

    pay(residents[0])  # 23:30 WIB on the 19th: yesterday by the time of the next ones
    clock.set(datetime(2026, 11, 20, 0, 30, tzinfo=WIB))
    pay(residents[1])
    pay(residents[1])
    pay(residents[2])
    assert residents_paid_for_today(context.unit_of_work(), agent, date(2026, 11, 20)) == 2
    context.engine.dispose()


def test_an_agent_releases_a_nik_someone_else_registered_and_it_is_audited(
    stack: Stack, context: AppContext
) -> None:
    from bot.db.models import AuditEvent

    agent = _agent(context)
    owner_nik = f"352303170880{uuid.uuid4().int % 10**4:04d}"  # a KTP of Tuban (3523)
    squatter = make_participant(context, f"tg:{uuid.uuid4().int % 10**9}", nik=owner_nik)
    reference = _reference(context, squatter)

    stranger = f"+62818{uuid.uuid4().int % 10**7:07d}"
    assert "khusus agen" in stack.whatsapp(stranger, f"sengketa NIK {owner_nik}")[-1]

    far = f"357102170880{uuid.uuid4().int % 10**4:04d}"  # a KTP of another regency
    assert "bukan dari kabupaten desa Anda" in stack.whatsapp(agent, f"sengketa NIK {far}")[-1]

    asked = stack.whatsapp(agent, f"sengketa NIK {owner_nik}")[-1]
    assert reference in asked and asked.endswith("1. Ya, batalkan\n2. Tidak")
    with context.sessions() as session:
        assert session.get(Participant, squatter) is not None  # nothing before the yes
    done = stack.whatsapp(agent, "ya")[-1]
    assert "dibatalkan karena sengketa" in done and reference in done
    with context.sessions() as session:
        assert session.get(Participant, squatter) is None
        audit = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "registration_disputed")
            .where(AuditEvent.fields == reference)
        )  # fmt: skip
        assert audit is not None and audit.actor.startswith("agent:")


def _audit_actions(context: AppContext, agent_number: str) -> list[tuple[str, str]]:
    from bot.db.models import AuditEvent
    from bot.services.agents import agent_for_sender

    agent = agent_for_sender(context.unit_of_work(), context.hash_key, f"wa:{agent_number}")
    assert agent is not None
    with context.sessions() as session:
        return [
            (event.action, event.fields)
            for event in session.scalars(
                select(AuditEvent).where(AuditEvent.actor == agent.actor).order_by(AuditEvent.id)
            )
        ]


def test_a_dispute_is_cancelled_by_a_no_or_anything_else(stack: Stack, context: AppContext) -> None:
    agent = _agent(context)
    owner_nik = f"352303170880{uuid.uuid4().int % 10**4:04d}"
    squatter = make_participant(context, f"tg:{uuid.uuid4().int % 10**9}", nik=owner_nik)
    reference = _reference(context, squatter)

    assert reference in stack.whatsapp(agent, f"sengketa NIK {owner_nik}")[-1]
    assert stack.whatsapp(agent, "tidak")[-1].startswith(f"Tidak jadi. Pendaftaran {reference}")
    assert reference in stack.whatsapp(agent, f"sengketa NIK {owner_nik}")[-1]
    assert stack.whatsapp(agent, "iuran berapa sih?")[-1].startswith("Tidak jadi.")
    with context.sessions() as session:
        assert session.get(Participant, squatter) is not None
    actions = [action for action, _fields in _audit_actions(context, agent)]
    assert actions.count("dispute_requested") == 2 and actions.count("dispute_cancelled") == 2


def test_a_dispute_of_another_village_waits_for_an_administrator(
    stack: Stack, context: AppContext
) -> None:
    agent = _agent(context)
    owner_nik = f"352303170880{uuid.uuid4().int % 10**4:04d}"
    elsewhere = make_participant(
        context, f"tg:{uuid.uuid4().int % 10**9}", nik=owner_nik,
        village=("Sumberarum", "Kerek", "Tuban"),
    )  # fmt: skip
    reference = _reference(context, elsewhere)
    stack.whatsapp(agent, f"sengketa NIK {owner_nik}")
    waiting = stack.whatsapp(agent, "ya")[-1]
    assert waiting.startswith(f"{reference} bukan warga desa Anda") and "admin" in waiting
    with context.sessions() as session:
        assert session.get(Participant, elsewhere) is not None
    assert ("dispute_awaiting_admin", reference) in _audit_actions(context, agent)


def test_a_walk_in_cannot_be_given_an_agent_s_number(stack: Stack, context: AppContext) -> None:
    agent, colleague = _agent(context), _agent(context)
    assert "4. Daftarkan warga" in stack.whatsapp(agent, "menu agen")[-1]
    assert "Nama lengkap warga" in stack.whatsapp(agent, "4")[-1]
    assert "NIK warga" in stack.whatsapp(agent, "Sumarni")[-1]
    nik = f"352303170880{uuid.uuid4().int % 10**4:04d}"
    assert "Tanggal lahir warga" in stack.whatsapp(agent, nik)[-1]
    assert "Nomor WhatsApp warga" in stack.whatsapp(agent, "17-08-1980")[-1]
    for number in (agent, colleague):  # their own, and any other agent's
        refused = stack.whatsapp(agent, "0" + number.removeprefix("+62"))
        assert any(
            r.startswith("Itu nomor WhatsApp agen Perisai, bukan nomor warga") for r in refused
        )
    resident = "0" + f"819{uuid.uuid4().int % 10**7:07d}"
    assert "desa" in stack.whatsapp(agent, resident)[-1]  # the resident's own number is taken
    actions = [action for action, _fields in _audit_actions(context, agent)]
    assert actions.count("walk_in_agent_number_refused") == 2


def test_a_number_change_outside_the_village_is_refused_and_audited(
    stack: Stack, context: AppContext
) -> None:
    agent = _agent(context)
    elsewhere = _resident(context, ("Bendosari", "Ngantru", "Tulungagung"))
    reference = _reference(context, elsewhere)
    stack.whatsapp(agent, f"ganti nomor {reference} 081234509876")
    assert ("number_change_refused_not_in_village", reference) in _audit_actions(context, agent)
