"""What the operations console shows an operator limited to a regency or to villages
(issue 32, point 4), on SQLite and PostgreSQL: every service the console reads narrows its
rows to the scope in SQL, and the default (EVERYTHING) is the administrator's whole view.

Two regencies: Tuban (Karanglo and Sumberejo in Kerek, and another Sumberejo in Montong)
and Lamongan (Sendangharjo). An operator of Tuban must see nothing of Lamongan, and one of
Kerek's Sumberejo nothing of Montong's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.app_context import AppContext
from bot.db.models import Payment, Submission, Ticket
from bot.domain.access import EVERYTHING, OutsideScope, Scope
from bot.domain.submissions import RejectionReason, SubmissionState
from bot.services.activity import monthly_activity
from bot.services.agents import enrol_agent
from bot.services.coverage import coverage_report
from bot.services.handoff import list_tickets, ticket_in_scope
from bot.services.imports import import_villages
from bot.services.payments import (
    PaymentSource,
    cash_book,
    cash_by_village,
    count_payments,
    list_payments,
    record_payment,
)
from bot.services.registry.submissions import pipeline, rejected_registrations
from tests.support.clock import WIB
from tests.support.contexts import context_at
from tests.support.participants import make_participant

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)
NOVEMBER = date(2026, 11, 1)
KARANGLO = ("Karanglo", "Kerek", "Tuban")
SUMBEREJO_KEREK = ("Sumberejo", "Kerek", "Tuban")
SUMBEREJO_MONTONG = ("Sumberejo", "Montong", "Tuban")
SENDANGHARJO = ("Sendangharjo", "Brondong", "Lamongan")
VILLAGES = """name,district,regency,province,households,officials
Karanglo,Kerek,Tuban,Jawa Timur,1524,12
Sumberejo,Kerek,Tuban,Jawa Timur,40,4
Sumberejo,Montong,Tuban,Jawa Timur,300,6
Sendangharjo,Brondong,Lamongan,Jawa Timur,900,9
"""
TUBAN = Scope(regency="Tuban")
LAMONGAN = Scope(regency="Kabupaten Lamongan")
KEREK_SUMBEREJO = Scope(villages=frozenset({SUMBEREJO_KEREK}))
KARANGLO_ONLY = Scope(villages=frozenset({KARANGLO}))


@dataclass(frozen=True)
class Areas:
    context: AppContext
    receipts: dict[str, str]


def _participant(context: AppContext, serial: int, village: tuple[str, str, str]) -> int:
    return make_participant(context, f"wa:+628129900{serial:04d}", village=village)


def _agent(context: AppContext, phone: str, village: tuple[str, str, str]) -> int:
    return enrol_agent(
        context.unit_of_work(),
        context.cipher,
        context.hash_key,
        name=f"Agen {village[0]}",
        phone=phone,
        village=village[0],
        district=village[1],
        regency=village[2],
    )


def _cash(context: AppContext, participant_id: int, agent_id: int) -> str:
    return record_payment(
        context.unit_of_work(),
        participant_id,
        source=PaymentSource.AGENT_CASH,
        recorded_by=f"agent:{agent_id}",
        months=1,
        now=context.clock.now(),
    ).receipt


def _ticket(context: AppContext, number: int, village: str | None, district: str | None,
            regency: str | None) -> None:  # fmt: skip
    with context.sessions.begin() as session:
        session.add(
            Ticket(
                number=number,
                resident_sender_hash=f"{number:064d}",
                resident_sender_encrypted=context.cipher.encrypt(f"wa:+6281300{number:05d}"),
                village=village,
                district=district,
                regency=regency,
                reason="asked",
                state="waiting",
                created_at=context.clock.now(),
                last_activity_at=context.clock.now(),
            )
        )


def _reject(context: AppContext, participant_id: int) -> None:
    with context.sessions.begin() as session:
        session.execute(
            update(Submission)
            .where(Submission.participant_id == participant_id)
            .values(
                state=SubmissionState.REJECTED.value,
                reason_code=RejectionReason.IDENTITY_MISMATCH.value,
                state_at=context.clock.now(),
            )
        )


@pytest.fixture
def areas(database_url: str, tmp_path: Path) -> Iterator[Areas]:
    with context_at(database_url, NOW) as context:
        path = tmp_path / "villages.csv"
        path.write_text(VILLAGES, encoding="utf-8")
        import_villages(context.unit_of_work, path, context.clock)
        tuban_agent = _agent(context, "+6281300000001", KARANGLO)
        lamongan_agent = _agent(context, "+6281300000002", SENDANGHARJO)
        karanglo = _participant(context, 1, KARANGLO)
        montong = _participant(context, 2, SUMBEREJO_MONTONG)
        lamongan = _participant(context, 3, SENDANGHARJO)
        refused = _participant(context, 4, SENDANGHARJO)
        gone = _participant(context, 5, SENDANGHARJO)
        _reject(context, montong)
        _reject(context, refused)
        receipts = {
            "karanglo": _cash(context, karanglo, tuban_agent),
            "lamongan": _cash(context, lamongan, lamongan_agent),
            "gone": _cash(context, gone, lamongan_agent),
        }
        # The resident erased their data: the payment stays, its village is its agent's.
        with context.sessions.begin() as session:
            session.execute(
                update(Payment).where(Payment.participant_id == gone).values(participant_id=None)
            )
        _ticket(context, 1, *KARANGLO)
        _ticket(context, 2, *SENDANGHARJO)
        _ticket(context, 3, "Karanglo", None, "Tuban")  # named in chat: no kecamatan known
        _ticket(context, 4, None, None, None)  # nobody knows where: the administrator's
        _ticket(context, 5, *SUMBEREJO_MONTONG)
        yield Areas(context, receipts)


def test_coverage_shows_only_the_scope_s_villages_and_residents(areas: Areas) -> None:
    context = areas.context
    today = context.clock.today()
    everything = coverage_report(context.unit_of_work(), today, "village")
    tuban = coverage_report(context.unit_of_work(), today, "village", scope=TUBAN)
    lamongan = coverage_report(context.unit_of_work(), today, "village", scope=LAMONGAN)
    assert sum(row.participants for row in everything) == 5
    assert sum(row.participants for row in tuban) == 2
    assert sum(row.participants for row in lamongan) == 3
    assert not any("Lamongan" in row.area for row in tuban)
    assert all("Lamongan" in row.area for row in lamongan) and len(lamongan) == 1
    assert len(tuban) == 3  # every Tuban village, residents or not
    kerek = coverage_report(context.unit_of_work(), today, "village", scope=KEREK_SUMBEREJO)
    assert len(kerek) == 1 and "Kerek" in kerek[0].area and kerek[0].participants == 0


def test_monthly_activity_counts_only_the_scope_s_registrations_and_payments(
    areas: Areas,
) -> None:
    context = areas.context
    today = context.clock.today()

    def november(scope: Scope) -> tuple[int, int]:
        month = monthly_activity(context.unit_of_work(), today, scope=scope)[-1]
        assert month.month == NOVEMBER
        return month.registrations, month.payments

    assert november(EVERYTHING) == (5, 3)
    assert november(TUBAN) == (2, 1)
    # The erased resident's payment counts in the collecting agent's regency.
    assert november(LAMONGAN) == (3, 2)
    assert november(KEREK_SUMBEREJO) == (0, 0)


def test_tickets_of_other_areas_and_of_no_known_area_are_not_listed(areas: Areas) -> None:
    context = areas.context
    now = context.clock.now()

    def numbers(scope: Scope) -> set[int]:
        return {line.number for line in list_tickets(context.unit_of_work(), now, scope=scope)}

    assert numbers(EVERYTHING) == {1, 2, 3, 4, 5}
    assert numbers(TUBAN) == {1, 3, 5}
    assert numbers(LAMONGAN) == {2}
    assert numbers(KARANGLO_ONLY) == {1, 3}
    assert numbers(KEREK_SUMBEREJO) == set()
    assert ticket_in_scope(context.unit_of_work(), 3, KARANGLO_ONLY)
    assert not ticket_in_scope(context.unit_of_work(), 2, TUBAN)
    assert not ticket_in_scope(context.unit_of_work(), 4, TUBAN)
    assert ticket_in_scope(context.unit_of_work(), 4, EVERYTHING)
    assert not ticket_in_scope(context.unit_of_work(), 99, EVERYTHING)


def test_the_pipeline_counts_only_the_scope_s_registrations(areas: Areas) -> None:
    context = areas.context

    def states(scope: Scope) -> dict[tuple[str, str], dict[str, int]]:
        view = pipeline(context.unit_of_work(), scope=scope)
        return {area: dict(counts) for area, counts in view.by_area.items()}

    assert states(TUBAN) == {
        ("Tuban", "Karanglo"): {"accepted": 1},
        ("Tuban", "Sumberejo"): {"rejected": 1},
    }
    assert states(LAMONGAN) == {("Lamongan", "Sendangharjo"): {"accepted": 2, "rejected": 1}}
    assert len(states(EVERYTHING)) == 3
    # Montong's Sumberejo is not Kerek's, though the submission names no kecamatan.
    assert states(KEREK_SUMBEREJO) == {}
    assert pipeline(context.unit_of_work(), scope=TUBAN).rejections == {"identity_mismatch": 1}
    assert pipeline(context.unit_of_work(), scope=KEREK_SUMBEREJO).rejections == {}


def test_rejections_are_listed_only_within_the_scope(areas: Areas) -> None:
    context = areas.context

    def places(scope: Scope) -> list[tuple[str, str]]:
        return [
            (line.village, line.regency)
            for line in rejected_registrations(context.unit_of_work(), scope=scope)
        ]

    assert sorted(places(EVERYTHING)) == [("Sendangharjo", "Lamongan"), ("Sumberejo", "Tuban")]
    assert places(TUBAN) == [("Sumberejo", "Tuban")]
    assert places(LAMONGAN) == [("Sendangharjo", "Lamongan")]
    assert places(KEREK_SUMBEREJO) == []


def test_payments_are_listed_counted_and_summed_only_within_the_scope(areas: Areas) -> None:
    context, receipts = areas.context, areas.receipts

    def listed(scope: Scope) -> set[str]:
        lines = list_payments(context.unit_of_work(), context.cipher, month=NOVEMBER, scope=scope)
        return {line.receipt for line in lines}

    assert listed(EVERYTHING) == set(receipts.values())
    assert listed(TUBAN) == {receipts["karanglo"]}
    assert listed(LAMONGAN) == {receipts["lamongan"], receipts["gone"]}
    assert listed(KEREK_SUMBEREJO) == set()
    limited = list_payments(context.unit_of_work(), context.cipher, limit=1, scope=TUBAN)
    assert [line.receipt for line in limited] == [receipts["karanglo"]]

    assert count_payments(context.unit_of_work(), NOVEMBER) == 3
    assert count_payments(context.unit_of_work(), NOVEMBER, scope=TUBAN) == 1
    assert count_payments(context.unit_of_work(), NOVEMBER, scope=LAMONGAN) == 2

    def cash(scope: Scope) -> dict[tuple[str, str, str], int]:
        rows = cash_by_village(context.unit_of_work(), NOVEMBER, scope=scope)
        return {row.area: row.receipts for row in rows}

    assert cash(EVERYTHING) == {KARANGLO: 1, SENDANGHARJO: 2}
    assert cash(TUBAN) == {KARANGLO: 1}
    assert cash(LAMONGAN) == {SENDANGHARJO: 2}


def test_a_cash_book_outside_the_scope_is_refused(areas: Areas) -> None:
    context, receipts = areas.context, areas.receipts
    book = cash_book(context.unit_of_work(), context.cipher, KARANGLO, NOVEMBER, scope=TUBAN)
    assert [line.receipt for line in book.lines] == [receipts["karanglo"]]
    with pytest.raises(OutsideScope):
        cash_book(context.unit_of_work(), context.cipher, SENDANGHARJO, NOVEMBER, scope=TUBAN)
    with pytest.raises(OutsideScope):
        cash_book(context.unit_of_work(), context.cipher, KARANGLO, NOVEMBER, scope=KEREK_SUMBEREJO)
    lamongan = cash_book(
        context.unit_of_work(), context.cipher, SENDANGHARJO, NOVEMBER, scope=LAMONGAN
    )
    assert {line.receipt for line in lamongan.lines} == {receipts["lamongan"], receipts["gone"]}
