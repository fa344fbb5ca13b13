"""The date-sensitive use cases, run at the instants that break date handling (the 1st,
the 15th at 23:30 and 00:30 WIB, New Year's Eve, 29 February, a holiday that moves the
due date, an 18th birthday), on both databases Sadar supports. The clock is passed in:
these tests give the same result whatever day the suite runs on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app_context import AppContext
from bot.db.models import Participant, Payment
from bot.db.timestamps import as_utc
from bot.domain.clock import FixedClock
from bot.domain.consent import ConsentDecision, ConsentPurpose
from bot.domain.nik import parse_nik
from bot.domain.payments import period_of
from bot.domain.registration import Registration
from bot.domain.senders import Channel
from bot.infra.settings import Settings
from bot.services.activity import monthly_activity
from bot.services.agents import AgentRef, arrears_in_village, enrol_agent, month_summary
from bot.services.consent import record_consent
from bot.services.coverage import coverage_report
from bot.services.imports import BulkContext, find_village, import_officials, import_villages
from bot.services.participants import register_participant
from bot.services.payments import PaymentSource, record_payment
from tests.conftest import TEST_PII_KEY
from tests.support.clock import CRITICAL_MOMENTS, WIB, Moment, eighteenth_birthday_moments
from tests.support.participants import accept_hand_over

VILLAGES = """name,district,regency,province,households,officials
Karanglo,Kerek,Tuban,Jawa Timur,1524,12
"""


@pytest.fixture
def context(database_url: str) -> Iterator[AppContext]:
    settings = Settings(_env_file=None, database_url=database_url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, FixedClock(CRITICAL_MOMENTS[0].at))
    yield context
    context.engine.dispose()


def at(context: AppContext, instant: datetime) -> FixedClock:
    clock = context.clock
    assert isinstance(clock, FixedClock)
    clock.set(instant)
    return clock


def resident(serial: int) -> Registration:
    nik = f"35230317088{serial % 10}{serial:04d}"
    return Registration(
        full_name="Warga Tanggal",
        nik=parse_nik(nik, date(2026, 1, 1)),
        birth_date=parse_nik(nik, date(2026, 1, 1)).birth_date,
        phone=f"+62812345{serial:05d}",
        village="Karanglo",
        district="Kerek",
        regency="Tuban",
        occupation="petani",
        declared_income=1_000_000,
        with_jht=False,
        channel=Channel.WHATSAPP,
    )


def register_at(context: AppContext, instant: datetime, serial: int) -> int:
    """Consent and registration at ``instant``, as the chat does them, accepted by BPJS
    Ketenagakerjaan at once (arrears start only then); the participant id."""
    now = at(context, instant).now()
    sender = f"wa:+62812345{serial:05d}"
    decision = ConsentDecision(
        channel=Channel.WHATSAPP, purpose=ConsentPurpose.REGISTRATION, granted=True, wording="ya"
    )
    consent_id = record_consent(context.unit_of_work(), context.hash_key, sender, decision, now)
    result = register_participant(
        context.unit_of_work(), context.cipher, context.hash_key, resident(serial), sender, now,
        consent_id,
    )  # fmt: skip
    with context.sessions() as session:
        found = session.scalar(
            select(Participant.id).where(Participant.reference == result.reference)
        )
    assert found is not None
    accept_hand_over(context, found, f"2601{serial:07d}")
    return found


def karanglo_agent(context: AppContext) -> AgentRef:
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti",
        phone="+6281299900001", village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    return AgentRef(agent_id, "Siti", "Karanglo", "Kerek", "Tuban")


@pytest.mark.parametrize("moment", CRITICAL_MOMENTS, ids=str)
def test_registration_payment_and_reports_follow_jakartas_calendar(
    context: AppContext, moment: Moment, tmp_path: Path
) -> None:
    """Registered and paid at ``moment``: first month, due date, stored time, "new this
    month" on the coverage report and the dashboard chart, the agent's month summary."""
    import_villages(context.unit_of_work, _write_villages(tmp_path), context.clock)
    agent = karanglo_agent(context)
    participant_id = register_at(context, moment.at, 1)
    accept_hand_over(context, participant_id, "26110000001")  # BPJS knows them: they may pay
    with context.sessions() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        assert participant.first_period == moment.first_period
        stored = participant.created_at
    assert as_utc(stored) == moment.at  # the same instant, stored in UTC

    payment = record_payment(
        context.unit_of_work(), participant_id, source=PaymentSource.AGENT_CASH,
        recorded_by=f"agent:{agent.id}", months=1, now=context.clock.now(),
    )  # fmt: skip
    assert payment.period_from == moment.first_period

    today = context.clock.today()
    assert today == moment.jakarta_day
    (row,) = coverage_report(context.unit_of_work(), today, "village")
    assert (row.participants, row.new_this_month, row.paid_this_month) == (1, 1, 1)
    summary = month_summary(context.unit_of_work(), agent, today)
    assert (summary.payments, summary.amount) == (1, payment.amount)
    this_month = monthly_activity(context.unit_of_work(), today)[-1]
    assert this_month.month == period_of(moment.jakarta_day)
    assert (this_month.registrations, this_month.payments) == (1, 1)


@pytest.mark.parametrize(
    ("instant", "owes"),
    [
        (datetime(2027, 1, 15, 23, 30, tzinfo=WIB), 0),  # the due date itself
        (datetime(2027, 1, 16, 0, 30, tzinfo=WIB), 1),  # = 17:30 UTC on the 15th
        (datetime(2026, 8, 18, 23, 30, tzinfo=WIB), 0),  # due date moved by the holiday
        (datetime(2026, 8, 19, 0, 30, tzinfo=WIB), 1),  # = 17:30 UTC on the 18th
    ],
    ids=["15th 23:30 WIB", "16th 00:30 WIB", "18 Aug 23:30 WIB", "19 Aug 00:30 WIB"],
)
def test_arrears_begin_after_the_due_date_in_jakarta(
    context: AppContext, instant: datetime, owes: int
) -> None:
    """An agent's arrears list at either side of midnight WIB on the due date (17 August
    2026 is a holiday in the calendar file, so August's is due the 18th, not the 17th)."""
    participant_id = register_at(context, instant.replace(day=1, hour=9, minute=0), 2)
    agent = karanglo_agent(context)
    today = at(context, instant).today()
    owing = arrears_in_village(context.unit_of_work(), context.cipher, agent, today)
    assert [line.months_owed for line in owing] == ([owes] if owes else [])

    # Paying the month then: the payment carries that instant, and the status is active.
    record_payment(
        context.unit_of_work(), participant_id, source=PaymentSource.AGENT_CASH,
        recorded_by="cli:t", months=1, now=context.clock.now(),
    )  # fmt: skip
    with context.sessions() as session:
        status = session.scalar(select(Participant.status).where(Participant.id == participant_id))
        (paid_at,) = session.scalars(select(Payment.paid_at)).all()
    assert status == "active"
    assert as_utc(paid_at) == instant


def test_an_official_is_refused_the_evening_before_turning_18_and_accepted_after_midnight_wib(
    context: AppContext, tmp_path: Path
) -> None:
    birthday = date(2008, 12, 1)  # 18 on 1 December 2026
    eve, after_midnight = eighteenth_birthday_moments(date(2026, 12, 1))
    # The same UTC day: a server reading its own date would decide both alike.
    assert eve.astimezone(UTC).date() == after_midnight.astimezone(UTC).date()
    import_villages(context.unit_of_work, _write_villages(tmp_path), context.clock)
    village = find_village(context.unit_of_work(), "Karanglo")
    assert village is not None
    officials = tmp_path / f"officials-{birthday}.csv"
    officials.write_text(
        "nik,full_name,birth_date,phone,position,income\n"
        "3523030112080001,Dewi Muda,01-12-2008,081234500001,Kaur Umum,1500000\n",
        encoding="utf-8",
    )
    bulk = BulkContext(
        context.unit_of_work, context.cipher, context.hash_key, context.channel_log, 18, 65,
        context.clock,
    )  # fmt: skip

    at(context, eve)
    refused = import_officials(bulk, officials, village)
    assert (refused.created, [message for _, message in refused.errors]) == (
        0,
        ["age outside 18-65"],
    )

    at(context, after_midnight)
    second = tmp_path / "officials-again.csv"  # a new file: a new import run
    second.write_text(officials.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    accepted = import_officials(bulk, second, village)
    assert (accepted.created, accepted.errors) == (1, [])


def test_29_february_birthdays_and_leap_day_registrations(context: AppContext) -> None:
    leap = datetime(2028, 2, 29, 20, 0, tzinfo=WIB)
    participant_id = register_at(context, leap, 3)
    with context.sessions() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        # February's due date (the 15th) has passed: March is the first month to pay.
        assert participant.first_period == date(2028, 3, 1)
    nik = parse_nik("3523032902800001", context.clock.today())
    assert nik.birth_date == date(1980, 2, 29)


def _write_villages(folder: Path) -> Path:
    path = folder / "villages.csv"
    path.write_text(VILLAGES, encoding="utf-8")
    return path
