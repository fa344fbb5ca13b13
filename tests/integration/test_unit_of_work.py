"""Each use case is one transaction (issue 17): a failure injected between its steps leaves
nothing half-written. The failure is a real database write refused mid-flush (a mapper
event raising), on PostgreSQL, after the earlier steps have already been flushed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.app_context import AppContext
from bot.db.models import (
    AuditEvent,
    ChannelContact,
    ConsentRecord,
    ImportRowResult,
    Participant,
    Payment,
    PendingConsent,
)
from bot.domain.consent import ConsentDecision, ConsentMethod, ConsentPurpose, new_code
from bot.domain.nik import parse_nik
from bot.domain.registration import Registration
from bot.domain.senders import Channel
from bot.services.agent_payments import (
    AgentPaymentLimits,
    AgentPaymentResult,
    record_agent_payment,
)
from bot.services.agents import AgentRef, enrol_agent
from bot.services.imports import BulkContext, find_village, import_officials, import_villages
from bot.services.on_behalf import CodeResult
from bot.services.participants import register_participant, register_with_consent
from bot.services.unit_of_work import UnitOfWorkError
from tests.support.contexts import context_at

TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
RESIDENT = "+6281234500177"


class Injected(RuntimeError):
    """The failure a test injects between two steps of a use case."""


@contextmanager
def failing_insert(
    model: type[Any], when: Callable[[Any], bool] = lambda _row: True
) -> Iterator[None]:
    def refuse(_mapper: Any, _connection: Any, row: Any) -> None:
        if when(row):
            raise Injected(f"{model.__name__} insert refused by the test")

    event.listen(model, "before_insert", refuse)
    try:
        yield
    finally:
        event.remove(model, "before_insert", refuse)


@pytest.fixture
def context(pg_url: str) -> Iterator[AppContext]:
    with context_at(pg_url, NOW) as context:
        yield context


def count(context: AppContext, model: type[Any], *where: Any) -> int:
    with context.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def resident(nik: str = "3523031708800177", phone: str = RESIDENT) -> Registration:
    return Registration(
        full_name="Sumarni", nik=parse_nik(nik, TODAY), birth_date=date(1980, 8, 17), phone=phone,
        village="Karanglo", district="Kerek", regency="Tuban", occupation="petani",
        declared_income=1_000_000, with_jht=False, channel=Channel.WHATSAPP,
    )  # fmt: skip


def consent(method: ConsentMethod = ConsentMethod.VILLAGE_PAPER) -> ConsentDecision:
    return ConsentDecision(
        Channel.WHATSAPP, ConsentPurpose.REGISTRATION, True, "dibacakan", method=method
    )


def test_consent_and_registration_are_stored_together_or_not_at_all(context: AppContext) -> None:
    sender = f"wa:{RESIDENT}"
    with failing_insert(AuditEvent), pytest.raises(Injected):
        register_with_consent(
            context.unit_of_work(), context.cipher, context.hash_key, resident(), sender,
            consent(), NOW,
        )  # fmt: skip
    # The consent record and the participant had been flushed before the audit event.
    assert count(context, ConsentRecord) == 0
    assert count(context, Participant) == 0

    registered = register_with_consent(
        context.unit_of_work(), context.cipher, context.hash_key, resident(), sender,
        consent(), NOW,
    )  # fmt: skip
    assert registered.reference.startswith("SDR-")
    assert count(context, ConsentRecord) == 1
    assert count(context, AuditEvent, AuditEvent.action == "registered") == 1


def test_a_registration_names_a_granted_consent_of_its_own_sender(context: AppContext) -> None:
    from bot.services.consent import record_consent
    from bot.services.participants import ConsentMissing

    someone_else = record_consent(
        context.unit_of_work(), context.hash_key, "tg:5", consent(ConsentMethod.IN_CHAT), NOW
    )
    with pytest.raises(ConsentMissing):
        register_participant(
            context.unit_of_work(), context.cipher, context.hash_key, resident(), "tg:6", NOW,
            consent_record_id=someone_else,
        )  # fmt: skip
    assert count(context, Participant) == 0


def test_confirming_a_code_registers_and_removes_the_hold_in_one_transaction(
    context: AppContext,
) -> None:
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Perisai",
        phone="+6281300000101", village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    on_behalf = context.on_behalf
    code = new_code(on_behalf.policy)
    on_behalf.hold_for_code(agent_id, "tg:700101", resident(), code, "kode", NOW)

    with failing_insert(ChannelContact), pytest.raises(Injected):
        on_behalf.confirm(f"wa:{RESIDENT}", code, NOW)
    # Consent and participant were flushed before the address: all rolled back, and the
    # hold is still there with its tries untouched, so the same code still works.
    assert count(context, Participant) == 0
    assert count(context, ConsentRecord) == 0
    with context.sessions() as session:
        (held,) = session.scalars(select(PendingConsent)).all()
        assert held.attempts == 0
    assert count(context, AuditEvent, AuditEvent.action == "consent_code_accepted") == 0

    outcome = on_behalf.confirm(f"wa:{RESIDENT}", code, NOW)
    assert outcome.result is CodeResult.REGISTERED
    assert count(context, PendingConsent) == 0
    assert count(context, Participant) == 1


def test_an_agents_payment_and_its_audit_event_commit_together(context: AppContext) -> None:
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Perisai",
        phone="+6281300000102", village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    agent = AgentRef(agent_id, "Siti Perisai", "Karanglo", "Kerek", "Tuban")
    registered = register_with_consent(
        context.unit_of_work(), context.cipher, context.hash_key, resident(), f"wa:{RESIDENT}",
        consent(), NOW,
    )  # fmt: skip
    limits = AgentPaymentLimits(confirm_months_over=3, max_residents_per_day=10)

    def pay() -> AgentPaymentResult:
        return record_agent_payment(
            context.unit_of_work(), context.cipher, agent, [registered.reference], 1, False,
            limits, NOW, TODAY,
        ).result  # fmt: skip

    with (
        failing_insert(AuditEvent, lambda row: row.action == "payment_recorded"),
        pytest.raises(Injected),
    ):
        pay()
    assert count(context, Payment) == 0
    with context.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.paid_through is None
    # The request itself was not audited either: it never happened.
    assert count(context, AuditEvent, AuditEvent.action == "agent_record_payment") == 0

    assert pay() is AgentPaymentResult.RECORDED
    assert count(context, Payment) == 1
    assert count(context, AuditEvent, AuditEvent.action == "payment_recorded") == 1
    assert count(context, AuditEvent, AuditEvent.action == "agent_record_payment") == 1


def test_an_official_interrupted_mid_row_is_imported_whole_on_the_rerun(
    context: AppContext, tmp_path: Path
) -> None:
    villages = tmp_path / "villages.csv"
    villages.write_text(
        "name,district,regency,province,households,officials\n"
        "Karanglo,Kerek,Tuban,Jawa Timur,500,12\n",
        encoding="utf-8",
    )
    import_villages(context.unit_of_work, villages, context.clock)
    village = find_village(context.unit_of_work(), "Karanglo")
    assert village is not None
    officials = tmp_path / "officials.csv"
    officials.write_text(
        "nik,full_name,birth_date,phone,position,income\n"
        f"3523031708800177,Sumarni,17-08-1980,{RESIDENT},Kaur Umum,2000000\n",
        encoding="utf-8",
    )
    bulk = BulkContext(
        context.unit_of_work, context.cipher, context.hash_key, context.channel_log, 18, 65,
        context.clock,
    )  # fmt: skip
    with failing_insert(ImportRowResult), pytest.raises(Injected):
        import_officials(bulk, officials, village)
    # Consent, participant and address were flushed before the row's outcome.
    assert count(context, ConsentRecord) == 0
    assert count(context, Participant) == 0
    assert count(context, ChannelContact) == 0

    report = import_officials(bulk, officials, village)
    assert (report.created, report.errors) == (1, [])
    with context.sessions() as session:
        official = session.scalars(select(Participant)).one()
        assert official.is_official and official.consent_record_id is not None


def test_nested_use_cases_commit_once_at_the_outermost_block(context: AppContext) -> None:
    uow = context.unit_of_work()
    with pytest.raises(UnitOfWorkError):
        uow.commit()  # outside any block
    with uow:
        register_with_consent(
            uow, context.cipher, context.hash_key, resident(), f"wa:{RESIDENT}", consent(), NOW
        )
        # The inner use case "committed": only into this transaction, not yet visible.
        assert count(context, Participant) == 0
        # Leaving without the outer commit rolls back the inner one too.
    assert count(context, Participant) == 0


def test_an_erasure_is_done_whole_or_not_at_all(context: AppContext) -> None:
    """A failure at its last write, or while the conversation store deletes the other
    conversations, leaves the participant exactly as before: they can ask again."""
    from bot.services.erasure import delete_for_sender
    from bot.services.payments import PaymentSource, record_payment

    sender = f"wa:{RESIDENT}"
    register_with_consent(
        context.unit_of_work(), context.cipher, context.hash_key, resident(), sender,
        consent(), NOW,
    )  # fmt: skip
    with context.sessions() as session:
        participant_id = session.scalars(select(Participant.id)).one()
    record_payment(
        context.unit_of_work(), participant_id, source=PaymentSource.PROVIDER,
        recorded_by="provider", months=1, now=NOW,
    )  # fmt: skip

    def erase(eraser: Callable[[list[str]], object] | None = None) -> object:
        return delete_for_sender(
            context.unit_of_work(), context.cipher, context.hash_key, sender, NOW, eraser
        )

    def untouched() -> None:
        assert count(context, Participant) == 1
        assert count(context, ChannelContact) == 1
        assert count(context, Payment, Payment.participant_id == participant_id) == 1
        assert count(context, ConsentRecord, ConsentRecord.sender_hash != "erased") == 1
        # The audit trail was anonymised in the transaction, flushed, and rolled back.
        assert count(context, AuditEvent, AuditEvent.participant_id == participant_id) == 2
        assert count(context, AuditEvent, AuditEvent.action == "deleted_by_participant") == 0

    with (
        failing_insert(AuditEvent, lambda row: row.action == "deleted_by_participant"),
        pytest.raises(Injected),
    ):
        erase()
    untouched()

    def store_down(_others: list[str]) -> object:
        raise Injected("the conversation store refused the delete")

    with pytest.raises(Injected):
        erase(store_down)
    untouched()

    assert erase(lambda _others: 0) is not None
    assert count(context, Participant) == 0
    assert count(context, ChannelContact) == 0
    # The payment stays for the accounts, unlinked from the person.
    assert count(context, Payment, Payment.participant_id.is_(None)) == 1
    assert count(context, AuditEvent, AuditEvent.participant_id.is_not(None)) == 0
