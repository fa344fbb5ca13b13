"""Payments on PostgreSQL: cash, paying ahead, unverified reports, idempotent provider
notifications (also concurrent), and the signed payment webhook."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app_context import AppContext
from bot.db.models import AuditEvent, Participant, Payment
from bot.gateway.app import create_app
from bot.gateway.payments import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_for
from bot.infra.settings import Settings
from bot.services.payments import (
    PaymentRejected,
    PaymentSource,
    confirm_payment,
    record_payment,
)
from tests.conftest import TEST_PII_KEY
from tests.support.clock import WIB, fixed_clock
from tests.support.participants import make_participant

SECRET = "payment-webhook-secret-for-tests"
TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)


@pytest.fixture
def context(pg_url: str) -> Iterator[AppContext]:
    settings = Settings(
        _env_file=None,
        database_url=pg_url,
        pii_hash_key=TEST_PII_KEY,
        payment_webhook_secret=SECRET,
    )
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    yield context
    context.engine.dispose()


def participant(context: AppContext, participant_id: int) -> Participant:
    with context.sessions() as session:
        found = session.get(Participant, participant_id)
        assert found is not None
        return found


def cash(context: AppContext, participant_id: int, **kwargs):
    return record_payment(
        context.unit_of_work(),
        participant_id,
        source=PaymentSource.AGENT_CASH,
        recorded_by="agent:test",
        now=NOW,
        **kwargs,
    )


def test_cash_covers_the_oldest_unpaid_month_and_gives_a_receipt(context: AppContext) -> None:
    pid = make_participant(context, "tg:1", first_period=date(2026, 10, 1))
    result = cash(context, pid, months=1)
    assert re.fullmatch(r"KWT-[0-9A-Z]{4}-[0-9A-Z]{4}", result.receipt)
    assert (result.period_from, result.period_to, result.amount) == (
        date(2026, 10, 1),
        date(2026, 10, 1),
        16_800,
    )
    # November (due the 16th) is overdue on the 20th: one month owed, still active.
    assert participant(context, pid).paid_through == date(2026, 10, 1)
    assert participant(context, pid).status == "active"
    with context.sessions() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.participant_id == pid)
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["registered", "payment_recorded"]


def test_paying_ahead_covers_later_months(context: AppContext) -> None:
    pid = make_participant(context, "tg:2")
    result = cash(context, pid, amount=3 * 16_800)
    assert (result.months, result.period_from, result.period_to) == (
        3,
        date(2026, 11, 1),
        date(2027, 1, 1),
    )
    assert cash(context, pid, months=1).period_from == date(2027, 2, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount": 20_000}, "whole number"),
        ({"amount": 33_600, "months": 3}, "pays 2 month"),
        ({"months": 13}, "1 to 12"),
        ({}, "months paid, the amount"),
    ],
)
def test_amounts_that_do_not_add_up_are_refused(
    context: AppContext, kwargs: dict, message: str
) -> None:
    pid = make_participant(context, "tg:3")
    with pytest.raises(PaymentRejected, match=message):
        cash(context, pid, **kwargs)
    assert participant(context, pid).paid_through is None


def test_a_participants_own_report_waits_for_confirmation(context: AppContext) -> None:
    pid = make_participant(context, "wa:+6281300000004", first_period=date(2026, 9, 1))
    report = record_payment(
        context.unit_of_work(),
        pid,
        source=PaymentSource.PARTICIPANT_REPORT,
        recorded_by="participant:wa",
        months=2,
        now=NOW,
    )
    assert not report.verified and report.period_from is None
    assert participant(context, pid).paid_through is None
    assert participant(context, pid).status == "awaiting_first_payment"
    confirmed = confirm_payment(context.unit_of_work(), report.payment_id, "admin", now=NOW)
    assert (confirmed.period_from, confirmed.period_to) == (date(2026, 9, 1), date(2026, 10, 1))
    assert participant(context, pid).status == "active"
    # Confirming twice changes nothing.
    again = confirm_payment(context.unit_of_work(), report.payment_id, "admin", now=NOW)
    assert again.period_to == date(2026, 10, 1)
    assert participant(context, pid).paid_through == date(2026, 10, 1)


def test_a_provider_reference_is_recorded_once_even_when_delivered_concurrently(
    context: AppContext,
) -> None:
    pid = make_participant(context, "tg:5")
    results = []

    def deliver() -> None:
        results.append(
            record_payment(
                context.unit_of_work(),
                pid,
                source=PaymentSource.PROVIDER,
                recorded_by="provider",
                amount=16_800,
                provider_reference="PAY-123",
                now=NOW,
            )
        )

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.duplicate for r in results) == [False] + [True] * 5
    assert len({r.receipt for r in results}) == 1
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1
    assert participant(context, pid).paid_through == date(2026, 11, 1)


def signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(NOW.timestamp()))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature_for(secret, stamp, body),
    }


@pytest.fixture
def gateway(context: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context.settings, clock=context.clock)) as client:
        yield client


def test_payment_webhook_good_bad_and_replayed(context: AppContext, gateway: TestClient) -> None:
    pid = make_participant(context, "tg:6")
    reference = participant(context, pid).reference
    body = json.dumps(
        {"provider_reference": "TRX-77", "participant_reference": reference, "amount": 33_600}
    ).encode()
    headers = signed(body)
    first = gateway.post("/webhooks/payments", content=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["months"] == 2 and first.json()["duplicate"] is False
    replay = gateway.post("/webhooks/payments", content=body, headers=headers)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert replay.json()["receipt"] == first.json()["receipt"]

    tampered = body.replace(b"33600", b"67200")
    assert gateway.post("/webhooks/payments", content=tampered, headers=headers).status_code == 401
    wrong_key = signed(body, secret="not-the-secret")
    assert gateway.post("/webhooks/payments", content=body, headers=wrong_key).status_code == 401
    stale = signed(body, timestamp=int(NOW.timestamp()) - 3600)
    assert gateway.post("/webhooks/payments", content=body, headers=stale).status_code == 401
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1
    assert participant(context, pid).paid_through == date(2026, 12, 1)


def test_payment_webhook_finds_the_participant_by_nik_and_refuses_bad_data(
    context: AppContext, gateway: TestClient
) -> None:
    pid = make_participant(context, "tg:7")
    nik = context.cipher.decrypt(participant(context, pid).nik_encrypted)
    good = json.dumps({"provider_reference": "TRX-88", "nik": nik, "amount": 16_800}).encode()
    assert gateway.post("/webhooks/payments", content=good, headers=signed(good)).status_code == 201
    unknown = json.dumps(
        {"provider_reference": "TRX-89", "nik": "3571021708809999", "amount": 16_800}
    ).encode()
    response = gateway.post("/webhooks/payments", content=unknown, headers=signed(unknown))
    assert response.status_code == 404
    odd = json.dumps({"provider_reference": "TRX-90", "nik": nik, "amount": 10_000}).encode()
    response = gateway.post("/webhooks/payments", content=odd, headers=signed(odd))
    assert response.status_code == 422 and "whole number" in response.text


def test_a_jimpitan_group_pays_for_every_member_under_one_receipt(context: AppContext) -> None:
    from bot.services.payments import record_group_payment

    leader = make_participant(context, "tg:20")
    members = [make_participant(context, f"tg:{21 + i}", with_jht=i == 0) for i in range(3)]
    paid = record_group_payment(context.unit_of_work(), leader, members, 2, "agent:7", now=NOW)
    assert paid.group_receipt.startswith("JMP-")
    assert len(paid.members) == 4
    assert {m.period_to for m in paid.members} == {date(2026, 12, 1)}
    # Each member pays their own contribution (one chose JHT).
    assert paid.total == 3 * 2 * 16_800 + 2 * participant(context, members[0]).monthly_contribution
    with context.sessions() as session:
        rows = session.scalars(select(Payment).where(Payment.group_receipt == paid.group_receipt))
        assert {r.participant_id for r in rows} == {leader, *members}
    with pytest.raises(PaymentRejected, match="unknown participant"):
        record_group_payment(context.unit_of_work(), leader, [999_999], 1, "agent:7", now=NOW)
    # All or nothing: the failed group recorded nobody.
    assert participant(context, leader).paid_through == date(2026, 12, 1)
