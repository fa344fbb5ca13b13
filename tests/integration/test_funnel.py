"""The funnel's records and figures on SQLite and PostgreSQL: journeys opened, advanced,
ended and abandoned as a resident's registration goes, counted per step, channel and
village in WIB days, narrowed to an operator's scope, and gone with an erasure."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app_context import AppContext
from bot.db.models import FunnelJourney, FunnelMark
from bot.domain.access import Scope
from bot.domain.funnel import FUNNEL, ActionCall, Outcome, Step, observe
from bot.infra.settings import Settings
from bot.services.funnel import RETIRED, funnel_key, funnel_report, record, retire_before
from tests.conftest import TEST_PII_KEY
from tests.support.clock import WIB, fixed_clock

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=WIB)


@pytest.fixture
def context(database_url: str) -> Iterator[AppContext]:
    settings = Settings(_env_file=None, database_url=database_url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    yield context
    context.engine.dispose()


@pytest.fixture
def regency() -> str:
    """A regency of this test alone (PostgreSQL keeps other tests' rows)."""
    return f"Uji {uuid.uuid4().hex[:8]}"


def slot(name: str, value: object) -> dict[str, object]:
    return {"event": "slot", "name": name, "value": value}


#: A value for each of the form's questions (what the validator would set).
ANSWERS = {
    "full_name": "Sutini", "nik": "3523011201800001", "birth_date": "1980-01-12",
    "phone": "+6281234567890", "occupation": "petani", "declared_income": 1_000_000,
    "with_jht": False,
}  # fmt: skip
FORM = ["full_name", "nik", "birth_date", "phone", "village", "occupation",
        "declared_income", "with_jht"]  # fmt: skip


class Resident:
    """One conversation, driven through the calls the action server would see: its slots
    carried from call to call as Rasa's tracker carries them."""

    def __init__(self, context: AppContext, sender_id: str, regency: str) -> None:
        self.context, self.sender_id, self.regency = context, sender_id, regency
        self.at = NOW
        self.slots: dict[str, object] = {}

    def sees(self, action: str, events: list | None = None, responses: tuple[str, ...] = (),
             loop: str | None = None, **slots: object) -> None:  # fmt: skip
        self.slots.update(slots)
        events = events or []
        seen = observe(ActionCall(action, dict(self.slots), loop, events, responses))
        record(
            self.context.unit_of_work(),
            funnel_key(self.context.hash_key, self.sender_id),
            self.sender_id.split(":")[0],
            seen,
            self.at,
        )
        self.slots.update({e["name"]: e["value"] for e in events if e["event"] == "slot"})
        self.at += timedelta(minutes=1)

    def starts(self) -> None:
        self.sees("action_start_registration", [slot("early_fields", None)])

    def consents(self) -> None:
        self.sees("action_record_consent", [slot("consent_given", None)], consent_given=True)

    def answers(self, step: str, refused: bool = False, village: str = "Karanglo") -> None:
        if refused:
            failures = dict(self.slots.get("registration_failures") or {})  # type: ignore[call-overload]
            failures[step] = failures.get(step, 0) + 1
            events = [slot("registration_failures", failures), slot(step, None)]
        elif step == "village":
            area = {"village": village, "district": "Kerek", "regency": self.regency}
            events = [slot(k, v) for k, v in area.items()]
        else:
            events = [slot(step, ANSWERS[step])]
        self.sees("validate_registration_form", events, loop="registration_form",
                  requested_slot=step)  # fmt: skip

    def fills_the_form(self, village: str = "Karanglo") -> None:
        for step in FORM:
            if self.slots.get(step) is None:
                self.answers(step, village=village)
        self.sees("action_ask_registration_confirmed", loop="registration_form")

    def confirms(self) -> None:
        self.sees("action_submit_registration", responses=("utter_registration_done",))


def test_a_registration_from_start_to_done(context: AppContext, regency: str) -> None:
    sutini = Resident(context, f"wa:+62812{uuid.uuid4().int % 10**7:07d}", regency)
    sutini.starts()
    sutini.consents()
    sutini.answers("full_name")
    sutini.answers("nik", refused=True)  # a NIK of 15 digits, asked again
    sutini.answers("nik")
    sutini.fills_the_form()
    sutini.confirms()

    report = funnel_report(
        context.unit_of_work(), NOW.date(), NOW.date(), NOW + timedelta(hours=1),
        scope=Scope(regency=regency),
    )  # fmt: skip
    assert [row.reached for row in report.steps] == [1] * len(report.steps)
    assert report.outcomes == {Outcome.CONFIRMED: 1}
    assert [(row.step, row.retries) for row in report.most_retried()] == [(Step.NIK, 1)]
    # Started at 09:00, confirmed 12 calls later, a minute apart.
    assert report.median_minutes_to_complete == pytest.approx(12.0)
    assert [(b.label, b.started, b.confirmed) for b in report.by_channel] == [("wa", 1, 1)]
    village = report.by_village[0]
    assert village.label == f"Karanglo / Kerek / {regency}" and village.confirmed == 1


def test_drop_off_abandonment_and_outcomes(context: AppContext, regency: str) -> None:
    def resident() -> Resident:
        return Resident(context, f"tg:{uuid.uuid4().int % 10**9}", regency)

    silent = resident()  # asked for consent, never answered
    silent.starts()
    declined = resident()
    declined.starts()
    declined.sees("action_record_consent", [slot("consent_given", None)], consent_given=False)
    gone = resident()  # stopped at the NIK, then silence
    gone.starts()
    gone.consents()
    gone.answers("full_name")
    done = resident()
    done.starts()
    done.consents()
    done.fills_the_form()
    done.confirms()

    # The day after: the silent ones have had no message for over 24 hours.
    later = NOW + timedelta(hours=25)
    report = funnel_report(
        context.unit_of_work(), NOW.date(), NOW.date(), later, scope=Scope(regency=regency)
    )
    rows = {row.step: row for row in report.steps}
    # Only the completed journey told its village: the others are outside a regency scope.
    assert rows[Step.STARTED].reached == 1

    everyone = funnel_report(context.unit_of_work(), NOW.date(), NOW.date(), later)
    mine = [b for b in everyone.by_village if b.label.endswith(regency)]
    assert [(b.started, b.confirmed) for b in mine] == [(1, 1)]
    # The same four, counted through the channel they used, within this test's conversations.
    with context.sessions() as session:
        keys = [funnel_key(context.hash_key, r.sender_id) for r in (silent, declined, gone, done)]
        stored = dict(
            session.execute(
                select(FunnelJourney.conversation_hash, FunnelJourney.outcome).where(
                    FunnelJourney.conversation_hash.in_(keys)
                )
            ).all()
        )
    assert stored == {keys[0]: None, keys[1]: Outcome.DECLINED, keys[2]: None,
                      keys[3]: Outcome.CONFIRMED}  # fmt: skip


def test_the_abandoned_and_the_lost_at_each_step(context: AppContext, regency: str) -> None:
    """Journeys that told their village (an agent's walk-ins, the village given first), so
    the regency scope sees every one of them."""

    def walk_in(furthest: str) -> Resident:
        agent = Resident(context, f"wa:+62813{uuid.uuid4().int % 10**7:07d}", regency)
        agent.sees(
            "action_agent_start_registration",
            events=[
                slot("registering_for_resident", True),
                slot("village", "Sumberejo"),
                slot("district", "Kerek"),
                slot("regency", regency),
            ],
        )
        for step in FORM[: FORM.index(furthest)]:
            agent.answers(step)
        return agent

    walk_in("full_name")
    walk_in("nik")
    walk_in("nik")
    finished = walk_in("birth_date")
    finished.sees("action_cancel_registration", requested_slot="birth_date")

    report = funnel_report(
        context.unit_of_work(), NOW.date(), NOW.date(), NOW + timedelta(days=2),
        scope=Scope(regency=regency),
    )  # fmt: skip
    rows = {row.step: row for row in report.steps}
    assert rows[Step.STARTED].reached == 4
    assert rows[Step.FULL_NAME].reached == 4  # every walk-in starts at the name
    assert rows[Step.NIK].reached == 3 and rows[Step.NIK].lost == 1
    assert rows[Step.BIRTH_DATE].reached == 1 and rows[Step.BIRTH_DATE].lost == 2
    assert report.outcomes == {Outcome.ABANDONED: 3, Outcome.CANCELLED: 1}
    assert report.by_village[0].abandoned == 3 and report.by_village[0].cancelled == 1
    # The same day seen from elsewhere: nothing of this regency.
    other = funnel_report(
        context.unit_of_work(), NOW.date(), NOW.date(), NOW, scope=Scope(regency="Lain Sekali")
    )
    assert all(b.label.split(" / ")[-1] != regency for b in other.by_village)


def test_a_day_is_a_day_in_wib(context: AppContext, regency: str) -> None:
    late = Resident(context, f"tg:{uuid.uuid4().int % 10**9}", regency)
    late.at = datetime(2026, 12, 4, 23, 30, tzinfo=WIB)  # 16:30 UTC on the 4th
    late.sees(
        "action_agent_start_registration",
        events=[slot("registering_for_resident", True), slot("village", "Karanglo"),
                slot("district", "Kerek"), slot("regency", regency)],
    )  # fmt: skip
    scope = Scope(regency=regency)
    on_the_4th = funnel_report(
        context.unit_of_work(), late.at.date(), late.at.date(), NOW, scope=scope
    )
    on_the_5th = funnel_report(context.unit_of_work(), NOW.date(), NOW.date(), NOW, scope=scope)
    assert on_the_4th.started == 1 and on_the_5th.started == 0


def test_daftar_twice_is_one_journey_and_a_day_later_a_new_one(
    context: AppContext, regency: str
) -> None:
    sender = f"wa:+62814{uuid.uuid4().int % 10**7:07d}"
    resident = Resident(context, sender, regency)
    resident.starts()
    resident.starts()
    resident.at += timedelta(hours=30)
    resident.starts()
    with context.sessions() as session:
        journeys = session.scalar(
            select(func.count())
            .select_from(FunnelJourney)
            .where(FunnelJourney.conversation_hash == funnel_key(context.hash_key, sender))
        )
        marks = session.scalar(
            select(func.count())
            .select_from(FunnelMark)
            .join(FunnelJourney, FunnelJourney.id == FunnelMark.journey_id)
            .where(FunnelJourney.conversation_hash == funnel_key(context.hash_key, sender))
        )
    assert journeys == 2
    assert marks == 4  # started and consent asked, once in each journey


def test_sadar_report_funnel_prints_and_writes_the_figures(
    pg_url: str, regency: str, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    for finished in (True, False):
        resident = Resident(context, f"tg:{uuid.uuid4().int % 10**9}", regency)
        resident.starts()
        resident.consents()
        resident.fills_the_form()
        if finished:
            resident.confirms()
    context.engine.dispose()
    env = {
        **os.environ,
        "SADAR_DATABASE_URL": pg_url,
        "SADAR_PII_HASH_KEY": TEST_PII_KEY,
        "SADAR_CLOCK_STARTS_AT": (NOW + timedelta(hours=2)).isoformat(),
    }
    csv_path = tmp_path / "funnel.csv"
    printed = subprocess.run(
        [sys.executable, "-m", "bot.cli", "report", "funnel", "--from", "2026-12-05",
         "--to", "2026-12-05", "--regency", regency, "--csv", str(csv_path)],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"Kabupaten {regency}" in printed and "started 2, in progress 1; terdaftar 1" in printed
    rows = list(csv.reader(csv_path.open(encoding="utf-8")))
    assert rows[0][:3] == ["Langkah", "Sampai di langkah", "Berhenti sebelum langkah"]
    by_step = {row[0]: row[1:] for row in rows[1:]}
    assert by_step["Mulai daftar"][:2] == ["2", "0"]
    assert by_step["Ringkasan"][:2] == ["2", "0"]
    assert by_step["Terdaftar"][:3] == ["1", "1", "50%"]
    village = subprocess.run(
        [sys.executable, "-m", "bot.cli", "report", "funnel", "--from", "2026-12-05",
         "--to", "2026-12-05", "--regency", regency, "--table", "village", "--csv",
         str(tmp_path / "desa.csv")],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert village.returncode == 0
    (header, line) = list(csv.reader((tmp_path / "desa.csv").open(encoding="utf-8")))
    assert header[0] == "Kanal / desa" and line[:6] == [
        f"Karanglo / Kerek / {regency}", "2", "2", "2", "1", "50%",
    ]  # fmt: skip


def test_past_the_retention_period_a_journey_keeps_its_figures_and_loses_its_key(
    context: AppContext, regency: str
) -> None:
    """Days no other test of this file uses: what is retired and counted is this test's."""
    old = Resident(context, f"tg:{uuid.uuid4().int % 10**9}", regency)
    old.at = NOW - timedelta(days=10)
    old.starts()
    recent = Resident(context, f"tg:{uuid.uuid4().int % 10**9}", regency)
    recent.at = NOW - timedelta(days=8)
    recent.starts()
    assert retire_before(context.unit_of_work(), NOW - timedelta(days=9)) == 1
    with context.sessions() as session:
        keys = dict(
            session.execute(
                select(FunnelJourney.started_at, FunnelJourney.conversation_hash).where(
                    FunnelJourney.started_at >= NOW - timedelta(days=11),
                    FunnelJourney.started_at < NOW - timedelta(days=7),
                )
            ).all()
        )
    assert sorted(keys.values()) == sorted(
        [RETIRED, funnel_key(context.hash_key, recent.sender_id)]
    )
    # Its figures stay: the old day still counts one registration started.
    day = (NOW - timedelta(days=10)).date()
    assert funnel_report(context.unit_of_work(), day, day, NOW).started == 1
    # Retiring again finds nothing left to retire.
    assert retire_before(context.unit_of_work(), NOW - timedelta(days=9)) == 0


def test_a_stop_in_the_form_is_one_journey_ended_where_it_stopped(
    context: AppContext, regency: str
) -> None:
    old = Resident(context, f"tg:{uuid.uuid4().int % 10**9}", regency)
    old.starts()
    old.consents()
    old.answers("full_name")
    old.sees(  # a NIK past the age limit: the form stops the registration
        "validate_registration_form",
        [slot("registration_stopped", "not_eligible")],
        ("utter_not_eligible_age",),
        loop="registration_form",
        requested_slot="nik",
    )
    old.sees("action_submit_registration")  # tidies up: the rule after the form
    with context.sessions() as session:
        journeys = session.execute(
            select(FunnelJourney.furthest, FunnelJourney.outcome).where(
                FunnelJourney.conversation_hash == funnel_key(context.hash_key, old.sender_id)
            )
        ).all()
    assert [(f, o) for f, o in journeys] == [(FUNNEL.index(Step.NIK), Outcome.NOT_ELIGIBLE)]


def test_each_walk_in_is_its_own_journey_and_a_returning_resident_goes_on(
    context: AppContext, regency: str
) -> None:
    agent = Resident(context, f"wa:+62815{uuid.uuid4().int % 10**7:07d}", regency)
    for village in ("Mulyo", "Sari"):
        agent.slots = {}
        agent.sees(
            "action_agent_start_registration",
            [slot("registering_for_resident", True), slot("village", village),
             slot("district", "Kerek"), slot("regency", regency)],
        )  # fmt: skip
        agent.sees("action_submit_registration", responses=("utter_agent_code_sent",))
    resident = Resident(context, f"tg:{uuid.uuid4().int % 10**9}", regency)
    resident.starts()
    resident.consents()
    resident.at += timedelta(hours=25)  # back the next day, answers the name
    resident.answers("full_name")
    with context.sessions() as session:
        walk_ins = session.execute(
            select(FunnelJourney.village, FunnelJourney.outcome)
            .where(FunnelJourney.conversation_hash == funnel_key(context.hash_key, agent.sender_id))
            .order_by(FunnelJourney.id)
        ).all()
        own = session.execute(
            select(FunnelJourney.furthest).where(
                FunnelJourney.conversation_hash == funnel_key(context.hash_key, resident.sender_id)
            )
        ).all()
    assert [(v, o) for v, o in walk_ins] == [
        ("Mulyo", Outcome.AWAITING_CODE), ("Sari", Outcome.AWAITING_CODE),
    ]  # fmt: skip
    assert [f for (f,) in own] == [FUNNEL.index(Step.NIK)]  # one journey, further on
