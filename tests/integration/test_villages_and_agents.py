"""Agents enrolled by an administrator, village and officials CSV imports (good rows, bad
rows, a re-run, an interrupted run resumed) and coverage figures, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.app_context import AppContext
from bot.db.models import ChannelContact, ConsentRecord, Participant, Village
from bot.services.agents import (
    AgentProblem,
    agent_for_sender,
    enrol_agent,
    list_agents,
    suspend_agent,
)
from bot.services.coverage import coverage_report
from bot.services.imports import (
    BulkContext,
    find_village,
    import_errors,
    import_officials,
    import_villages,
)
from bot.services.payments import PaymentSource, record_payment
from tests.conftest import TEST_PII_KEY
from tests.support.clock import WIB, fixed_clock
from tests.support.contexts import context_at
from tests.support.participants import accept_hand_over, make_participant

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)
VILLAGES = """name,district,regency,province,households,officials
Karanglo,Kerek,Tuban,Jawa Timur,1524,12
Bendosari,Ngantru,Tulungagung,Jawa Timur,900,10
Tanpa Angka,Kerek,Tuban,Jawa Timur,banyak,3
,Kerek,Tuban,Jawa Timur,10,2
Terbalik,Kerek,Tuban,Jawa Timur,5,9
"""
OFFICIALS = """nik,full_name,birth_date,phone,position,income,with_jht
3523031708800001,Sutrisno,17-08-1980,0812 3400 0001,Kepala Desa,3500000,ya
3523035708820002,Sri Wahyuni,17-08-1982,081234000002,Sekretaris Desa,2500000,
3523031708800003,Budi,17-08-1981,081234000003,Kaur Keuangan,2000000,
3523031708800004,Agus Salim,17-08-1980,0212345,Kasun,2000000,
3523031708800005,Joko Susilo,17-08-1980,081234000005,Kasun,2 juta,tidak
3523031708800001,Sutrisno Lagi,17-08-1980,081234000099,Kepala Desa,3500000,
"""


@pytest.fixture
def context(pg_url: str) -> Iterator[AppContext]:
    with context_at(pg_url, NOW) as context:
        yield context


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_agents_are_recognised_only_by_their_enrolled_identities(context: AppContext) -> None:
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Perisai",
        phone="+6281234567000", village="Karanglo", district="Kerek", regency="Tuban",
        telegram_user_id=424242,
    )  # fmt: skip
    assert (
        agent_for_sender(context.unit_of_work(), context.hash_key, "wa:+6281234567000").id
        == agent_id
    )
    assert agent_for_sender(context.unit_of_work(), context.hash_key, "tg:424242").id == agent_id
    for stranger in (
        "wa:+6281234567001",
        "tg:424243",
        "web:wa:+6281234567000",
        "tg:+6281234567000",
    ):
        assert agent_for_sender(context.unit_of_work(), context.hash_key, stranger) is None
    (view,) = list_agents(context.unit_of_work(), context.cipher)
    assert view.phone == "+6281*******00" and view.telegram
    with pytest.raises(AgentProblem, match="already enrolled"):
        enrol_agent(
            context.unit_of_work(), context.cipher, context.hash_key, name="Dobel",
            phone="+6281234567000", village="Karanglo", district="Kerek", regency="Tuban",
        )  # fmt: skip
    suspend_agent(context.unit_of_work(), agent_id, NOW)
    assert agent_for_sender(context.unit_of_work(), context.hash_key, "wa:+6281234567000") is None


def test_village_import_reports_bad_rows_and_a_rerun_updates_without_duplicates(
    context: AppContext, tmp_path: Path
) -> None:
    path = write(tmp_path, "villages.csv", VILLAGES)
    report = import_villages(context.unit_of_work, path, fixed_clock(NOW))
    assert (report.created, report.existing, report.total) == (2, 0, 5)
    assert report.errors == [
        (4, "households must be a whole number, got 'banyak'"),
        (5, "missing name"),
        (6, "officials (9) exceed households (5)"),
    ]
    assert list(import_errors(context.unit_of_work(), report.run_id)) == report.errors
    corrected = write(tmp_path, "villages-2.csv", VILLAGES.replace("1524,12", "1530,12"))
    again = import_villages(context.unit_of_work, corrected, fixed_clock(NOW))
    assert (again.created, again.existing) == (0, 2)
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Village)) == 2
    karanglo = find_village(context.unit_of_work(), "desa karanglo")
    assert karanglo is not None and karanglo.households == 1530


def bulk(context: AppContext) -> BulkContext:
    return BulkContext(
        context.unit_of_work,
        context.cipher,
        context.hash_key,
        context.channel_log,
        18,
        65,
        context.clock,
    )


def test_officials_import_validates_each_row_resumes_and_never_duplicates(
    context: AppContext, tmp_path: Path
) -> None:
    import_villages(
        context.unit_of_work, write(tmp_path, "villages.csv", VILLAGES), fixed_clock(NOW)
    )
    karanglo = find_village(context.unit_of_work(), "Karanglo")
    assert karanglo is not None
    path = write(tmp_path, "officials.csv", OFFICIALS)

    interrupted = import_officials(bulk(context), path, karanglo, stop_after=2)
    assert interrupted.created == 2
    resumed = import_officials(bulk(context), path, karanglo)
    assert resumed.skipped_done == 2 and resumed.run_id == interrupted.run_id
    assert resumed.created == 1  # Joko; Budi's birth date does not match his NIK
    assert resumed.existing == 1  # the same NIK twice in the file
    assert [row for row, _ in resumed.errors] == [4, 5]
    assert "differs from the NIK" in resumed.errors[0][1]
    assert "not an Indonesian mobile number" in resumed.errors[1][1]

    rerun = import_officials(bulk(context), path, karanglo)  # a finished file again
    assert rerun.created == 0 and rerun.existing == 4
    with context.sessions() as session:
        officials = session.scalars(select(Participant).where(Participant.is_official)).all()
        contacts = session.scalar(select(func.count()).select_from(ChannelContact))
        consents = session.scalars(select(ConsentRecord.method)).all()
    assert len(officials) == 3 and contacts == 3
    # One consent record per official, whatever the re-runs and the duplicate row.
    assert consents == ["village_paper"] * 3
    assert len({p.consent_record_id for p in officials}) == 3
    assert {p.occupation for p in officials} == {"perangkat_desa"}
    assert {(p.village, p.district, p.regency) for p in officials} == {
        ("Karanglo", "Kerek", "Tuban")
    }
    sutrisno = next(p for p in officials if p.with_jht)
    assert context.cipher.decrypt(sutrisno.phone_encrypted) == "+6281234000001"


def test_coverage_figures_on_a_generated_village(context: AppContext, tmp_path: Path) -> None:
    import_villages(
        context.unit_of_work, write(tmp_path, "villages.csv", VILLAGES), fixed_clock(NOW)
    )
    karanglo = find_village(context.unit_of_work(), "Karanglo")
    assert karanglo is not None
    import_officials(bulk(context), write(tmp_path, "officials.csv", OFFICIALS), karanglo)
    with context.sessions.begin() as session:
        ids = session.scalars(select(Participant.id).order_by(Participant.id)).all()
    for serial, participant_id in enumerate(ids):  # BPJS knows them: contributions are due
        accept_hand_over(context, participant_id, f"2611000000{serial}")
    with context.sessions.begin() as session:
        # Three officials: one paid November, one owes since August (non-active), one new.
        session.execute(
            update(Participant)
            .where(Participant.id == ids[1])
            .values(first_period=date(2026, 8, 1))
        )
        session.execute(
            update(Participant)
            .where(Participant.id == ids[2])
            .values(created_at=date(2026, 10, 2), first_period=date(2026, 10, 1))
        )
    record_payment(
        context.unit_of_work(), ids[0], source=PaymentSource.AGENT_CASH, recorded_by="agent:1",
        months=1, now=NOW,
    )  # fmt: skip
    village_rows = coverage_report(context.unit_of_work(), TODAY, "village")
    row = next(r for r in village_rows if r.area == ("Tuban", "Kerek", "Karanglo"))
    figures = (row.households, row.officials, row.participants, row.officials_enrolled)
    assert figures == (1524, 12, 3, 3)
    assert row.paid_this_month == 1
    assert row.in_arrears == 2  # August's starter and October's starter
    assert row.non_active == 1
    assert row.new_this_month == 2  # registered in November
    assert row.officials_share == pytest.approx(3 / 12)
    assert not row.meets(0.5)
    regency = coverage_report(context.unit_of_work(), TODAY, "regency")
    tuban = next(r for r in regency if r.area == ("Tuban",))
    assert tuban.participants == 3 and tuban.households == 1524
    tulungagung = next(r for r in regency if r.area == ("Tulungagung",))
    assert (tulungagung.participants, tulungagung.households) == (0, 900)


def test_imported_villages_carry_their_code_in_the_national_register(
    context: AppContext, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from bot.db.models import Village
    from bot.infra.region_register import place_register
    from bot.understanding.places import register_code

    register = place_register()
    path = write(
        tmp_path,
        "v.csv",
        "name,district,regency,province,households,officials\n"
        "Karanglo,Kerek,Tuban,Jawa Timur,1524,12\n"
        "Khayalan Jaya,Kerek,Tuban,Jawa Timur,10,1\n",
    )
    report = import_villages(
        context.unit_of_work,
        path,
        fixed_clock(NOW),
        locate=lambda r: register_code(register, r.name, r.district, r.regency),
    )
    assert report.created == 2
    assert report.not_in_register == [(3, "Khayalan Jaya")]
    with context.unit_of_work() as uow:
        rows = uow.session.execute(select(Village.name, Village.code)).all()
    codes = {name: code for name, code in rows}
    assert codes["Khayalan Jaya"] is None
    assert codes["Karanglo"] == register_code(register, "Karanglo", "Kerek", "Tuban")
    assert str(codes["Karanglo"]).startswith("35.23.08.")  # Kec. Kerek, Kab. Tuban


def test_the_admin_cli_enrols_agents_imports_and_reports(pg_url: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "SADAR_DATABASE_URL": pg_url, "SADAR_PII_HASH_KEY": TEST_PII_KEY}

    def sadar(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert "2 created" in sadar("villages", "import", str(write(tmp_path, "v.csv", VILLAGES)))
    officials = write(tmp_path, "o.csv", OFFICIALS)
    out = sadar("villages", "import-officials", str(officials), "--village", "Karanglo")
    assert "3 created" in out and "row 4:" in out
    added = sadar("agents", "add", "--name", "Siti", "--phone", "0812 3456 7000",
                  "--village", "karanglo", "--telegram-id", "4242")  # fmt: skip
    assert "agent 1 enrolled" in added
    assert "+6281*******00" in sadar("agents", "list") and "7000" not in sadar("agents", "list")
    csv_path = tmp_path / "coverage.csv"
    table = sadar("report", "coverage", "--level", "district", "--csv", str(csv_path))
    assert "Tuban / Kerek" in table
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("area,households,officials,participants")
    assert any(line.startswith("Tuban / Kerek,1524,12,3,0%,3,25%") for line in lines)
    assert "suspended" in sadar("agents", "suspend", "1")


def test_coverage_counts_participants_no_reminder_can_reach(context: AppContext) -> None:
    """A web-chat registration has no address a reminder can use; a WhatsApp one has."""
    make_participant(context, "wa:+6281234099001")
    make_participant(context, "web:kiosk-balai-desa-1")
    (row,) = [
        r
        for r in coverage_report(context.unit_of_work(), TODAY, "village")
        if r.area == ("Tuban", "Kerek", "Karanglo")
    ]
    assert (row.participants, row.unreachable) == (2, 1)
