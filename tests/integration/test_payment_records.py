"""Records an office and a village's Wadah ask for (issue 28), on PostgreSQL and SQLite:
every receipt listed with its jimpitan group receipt, village, collecting agent, amount and
months; one village's cash of one month as CSV whose total is the cash collected; and the
jimpitan reply naming each member (masked) with the month they are now paid through."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from actions.payments import jimpitan_members
from bot.app_context import AppContext
from bot.db.migrate import upgrade
from bot.db.models import Participant
from bot.domain.clock import local_date
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.infra.spreadsheets import write_rows
from bot.services.agent_payments import (
    AgentPaymentLimits,
    AgentPaymentOutcome,
    AgentPaymentResult,
    PaidMember,
    record_agent_payment,
)
from bot.services.agents import AgentRef, enrol_agent
from bot.services.erasure import delete_for_sender
from bot.services.imports import import_villages
from bot.services.payments import (
    CASH_BOOK_HEADER,
    PaymentSource,
    VillageCash,
    cash_book,
    cash_book_rows,
    cash_by_village,
    count_payments,
    find_area,
    list_payments,
    record_payment,
)
from tests.conftest import TEST_PII_KEY
from tests.support.clock import WIB, fixed_clock
from tests.support.participants import make_participant

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)
LAST_MONTH = datetime(2026, 10, 30, 16, 0, tzinfo=WIB)
NOVEMBER = date(2026, 11, 1)
KARANGLO = ("Karanglo", "Kerek", "Tuban")
SUMBEREJO = ("Sumberejo", "Kerek", "Tuban")
LIMITS = AgentPaymentLimits(confirm_months_over=3, max_residents_per_day=40)
VILLAGES = """name,district,regency,province,households,officials
Karanglo,Kerek,Tuban,Jawa Timur,1524,12
Sumberejo,Kerek,Tuban,Jawa Timur,40,4
"""
CODES = {"Karanglo": "35.23.08.2001", "Sumberejo": "35.23.08.2002"}


@pytest.fixture(params=["postgresql", "sqlite"])
def context(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AppContext]:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = f"sqlite:///{tmp_path / 'sadar.db'}"
        upgrade(url)
    settings = Settings(_env_file=None, database_url=url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    yield context
    context.engine.dispose()


def _agent(context: AppContext, name: str = "Siti Perisai", phone: str = "+6281300000001"):
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name=name, phone=phone,
        village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    return AgentRef(agent_id, name, *KARANGLO)


def _resident(context: AppContext, sender: str, name: str, **kwargs) -> tuple[int, str]:
    """A participant with a name of their own; (id, reference)."""
    pid = make_participant(context, sender, **kwargs)
    with context.sessions.begin() as session:
        reference = session.execute(
            update(Participant)
            .where(Participant.id == pid)
            .values(full_name_encrypted=context.cipher.encrypt(name))
            .returning(Participant.reference)
        ).scalar_one()
    return pid, reference


def _pay(
    context: AppContext, agent: AgentRef, references: list[str], months: int, now: datetime = NOW
) -> AgentPaymentOutcome:
    outcome = record_agent_payment(
        context.unit_of_work(), context.cipher, agent, references, months, False, LIMITS, now,
        local_date(now),
    )  # fmt: skip
    assert outcome.result in (AgentPaymentResult.RECORDED, AgentPaymentResult.GROUP_RECORDED)
    return outcome


def _csv(context: AppContext, area: tuple[str, str, str], month: date) -> list[dict[str, str]]:
    stream = io.StringIO()
    write_rows(stream, CASH_BOOK_HEADER, cash_book_rows(cash_book(
        context.unit_of_work(), context.cipher, area, month
    )))  # fmt: skip
    return list(csv.DictReader(io.StringIO(stream.getvalue())))


def test_the_jimpitan_reply_names_each_member_with_the_month_now_paid_through(
    context: AppContext,
) -> None:
    agent = _agent(context)
    _, leader = _resident(context, "tg:101", "Ahmad Dahlan", paid_through=date(2026, 12, 1))
    _, first = _resident(context, "tg:102", "Sutini Wahyuningsih", first_period=date(2026, 10, 1))
    _, second = _resident(context, "tg:103", "Bambang Prasetyo")
    outcome = _pay(context, agent, [leader, first, second], 2)
    # In the order written, the leader first; each from where they stood.
    assert outcome.members == (
        PaidMember("Ahm*** D.", leader, date(2027, 2, 1)),
        PaidMember("Sut*** W.", first, date(2026, 11, 1)),
        PaidMember("Bam*** P.", second, date(2026, 12, 1)),
    )
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text("utf-8"))
    (response,) = domain["responses"]["utter_agent_group_payment_recorded"]
    assert outcome.group is not None
    reply = response["text"].format(
        count=3, months=2, amount="Rp100.800", receipt=outcome.group.group_receipt,
        members=jimpitan_members(outcome.members),
    )  # fmt: skip
    assert reply.startswith("Jimpitan tercatat: 3 anggota, 2 bulan, total Rp100.800.")
    assert reply.endswith(
        f"- Ahm*** D. ({leader}): Februari 2027\n"
        f"- Sut*** W. ({first}): November 2026\n"
        f"- Bam*** P. ({second}): Desember 2026"
    )
    assert "Ahmad" not in reply and "Sutini" not in reply


def test_every_receipt_is_listed_with_its_group_village_agent_amount_and_months(
    context: AppContext,
) -> None:
    agent = _agent(context)
    _, alone = _resident(context, "tg:201", "Sutini Wahyuningsih")
    group = [_resident(context, f"tg:{202 + i}", f"Warga Jimpitan{i}")[1] for i in range(3)]
    far, elsewhere = _resident(context, "tg:205", "Dewi Lestari", village=SUMBEREJO)
    single = _pay(context, agent, [alone], 3).payment
    jimpitan = _pay(context, agent, group, 2).group
    assert single is not None and jimpitan is not None
    record_payment(
        context.unit_of_work(), far, source=PaymentSource.PROVIDER, recorded_by="provider",
        months=1, provider_reference="TRX-1", now=NOW,
    )  # fmt: skip
    reported = record_payment(
        context.unit_of_work(), far, source=PaymentSource.PARTICIPANT_REPORT,
        recorded_by="participant:tg", months=1, now=NOW,
    )  # fmt: skip

    lines = list_payments(context.unit_of_work(), context.cipher)
    assert len(lines) == 6
    by_receipt = {line.receipt: line for line in lines}
    one = by_receipt[single.receipt]
    assert (one.participant_reference, one.member, one.area, one.collected_by) == (
        alone, "Sut*** W.", KARANGLO, "Siti Perisai",
    )  # fmt: skip
    assert (one.months, one.amount, one.group_receipt) == (3, 3 * 16_800, None)
    assert (one.period_from, one.period_to) == (date(2026, 11, 1), date(2027, 1, 1))
    members = [line for line in lines if line.group_receipt == jimpitan.group_receipt]
    assert sorted(line.participant_reference or "" for line in members) == sorted(group)
    assert {(line.months, line.amount, line.collected_by) for line in members} == {
        (2, 2 * 16_800, "Siti Perisai")
    }
    assert sum(line.amount for line in members) == jimpitan.total
    provider = next(line for line in lines if line.source == "provider")
    assert (provider.area, provider.collected_by, provider.member) == (
        SUMBEREJO, "provider", "Dew*** L.",
    )  # fmt: skip
    assert provider.participant_reference == elsewhere
    # Filters: waiting reports, one village, one month.
    waiting = list_payments(context.unit_of_work(), context.cipher, unverified_only=True)
    assert [line.receipt for line in waiting] == [reported.receipt]
    sumberejo = list_payments(context.unit_of_work(), context.cipher, area=SUMBEREJO)
    assert {line.participant_reference for line in sumberejo} == {elsewhere}
    assert list_payments(context.unit_of_work(), context.cipher, month=date(2026, 12, 1)) == []
    assert len(list_payments(context.unit_of_work(), context.cipher, month=NOVEMBER)) == 6
    newest = list_payments(context.unit_of_work(), context.cipher, month=NOVEMBER, limit=2)
    assert [line.receipt for line in newest] == [line.receipt for line in lines[:2]]
    assert count_payments(context.unit_of_work(), NOVEMBER) == 6
    assert count_payments(context.unit_of_work(), date(2026, 10, 1)) == 0


def test_the_village_cash_csv_of_a_month_totals_the_jimpitan_collected(
    context: AppContext,
) -> None:
    agent = _agent(context)
    other = _agent(context, "Joko Perisai", "+6281300000002")
    members = [
        _resident(context, f"tg:{301 + i}", name, with_jht=i == 1)[1]
        for i, name in enumerate(["Sutini Wahyuningsih", "Bambang Prasetyo", "Ahmad Dahlan",
                                  "Dewi Lestari"])
    ]  # fmt: skip
    pid_alone, alone = _resident(context, "tg:305", "Rina Marlina")
    jimpitan = _pay(context, agent, members, 2).group
    single = _pay(context, other, [alone], 1).payment
    assert jimpitan is not None and single is not None
    # Not in Karanglo's November cash box: October's cash, a bank payment, another village.
    _, early = _resident(context, "tg:306", "Budi Santoso")
    _pay(context, agent, [early], 1, now=LAST_MONTH)
    record_payment(
        context.unit_of_work(), pid_alone, source=PaymentSource.PROVIDER, recorded_by="provider",
        months=1, provider_reference="TRX-2", now=NOW,
    )  # fmt: skip
    far, _ = _resident(context, "tg:307", "Dewi Sartika", village=SUMBEREJO)
    record_payment(
        context.unit_of_work(), far, source=PaymentSource.AGENT_CASH, recorded_by="cli:admin",
        months=1, now=NOW,
    )  # fmt: skip

    rows = _csv(context, KARANGLO, NOVEMBER)
    *receipts, total = rows
    assert list(rows[0]) == CASH_BOOK_HEADER
    assert {r["receipt"] for r in receipts} == {
        *(m.receipt for m in jimpitan.members),
        single.receipt,
    }
    in_group = [r for r in receipts if r["group_receipt"] == jimpitan.group_receipt]
    assert len(in_group) == 4
    # The CSV's jimpitan rows add up to the group receipt's total, and the total row to
    # the cash collected in Karanglo in November.
    assert sum(int(r["amount"]) for r in in_group) == jimpitan.total
    assert total["receipt"] == "total"
    assert int(total["amount"]) == jimpitan.total + single.amount
    assert int(total["amount"]) == sum(int(r["amount"]) for r in receipts)
    assert {r["agent"] for r in receipts} == {"Siti Perisai", "Joko Perisai"}
    first = next(r for r in receipts if r["participant_reference"] == members[0])
    assert (first["member"], first["months"], first["period_from"], first["period_to"]) == (
        "Sut*** W.", "2", "2026-11", "2026-12",
    )  # fmt: skip
    assert first["paid_on"] == "2026-11-20"
    # Only what a village coordinator needs: no full name, NIK or phone.
    text = "\n".join(",".join(r.values()) for r in rows)
    assert "Sutini" not in text and "Wahyuningsih" not in text
    assert "+62" not in text and "35719817" not in text
    # Another month and another village have their own books.
    (october,) = _csv(context, KARANGLO, date(2026, 10, 1))[:-1]
    assert october["participant_reference"] == early
    assert int(_csv(context, SUMBEREJO, NOVEMBER)[-1]["amount"]) == 16_800
    # The dashboard's cash per village agrees with each book.
    assert cash_by_village(context.unit_of_work(), NOVEMBER) == [
        VillageCash(KARANGLO, 5, int(total["amount"])),
        VillageCash(SUMBEREJO, 1, 16_800),
    ]


def test_cash_of_a_member_who_erased_their_data_stays_in_the_village_book(
    context: AppContext,
) -> None:
    agent = _agent(context)
    staying = _resident(context, "wa:+6281300000401", "Sutini Wahyuningsih")[1]
    leaving = _resident(context, "wa:+6281300000402", "Bambang Prasetyo")[1]
    jimpitan = _pay(context, agent, [staying, leaving], 1).group
    assert jimpitan is not None
    erased = delete_for_sender(
        context.unit_of_work(), context.cipher, context.hash_key, "wa:+6281300000402", NOW
    )
    assert erased is not None
    *receipts, total = _csv(context, KARANGLO, NOVEMBER)
    assert int(total["amount"]) == jimpitan.total
    gone = next(r for r in receipts if r["participant_reference"] == "")
    assert (gone["member"], gone["group_receipt"]) == ("", jimpitan.group_receipt)
    assert "Bam" not in ",".join(gone.values())
    assert cash_by_village(context.unit_of_work(), NOVEMBER) == [
        VillageCash(KARANGLO, 2, jimpitan.total)
    ]


def test_a_village_is_found_by_its_code_or_its_name(context: AppContext, tmp_path: Path) -> None:
    path = tmp_path / "villages.csv"
    path.write_text(VILLAGES)
    import_villages(context.unit_of_work, path, fixed_clock(NOW), locate=lambda r: CODES[r.name])
    for given in ("35.23.08.2001", "3523082001", "karanglo", "Desa Karanglo"):
        assert find_area(context.unit_of_work(), given) == [KARANGLO]
    assert find_area(context.unit_of_work(), "Sumberejo", "kerek") == [SUMBEREJO]
    assert find_area(context.unit_of_work(), "Sumberejo", "Montong") == []
    assert find_area(context.unit_of_work(), "35.23.08.9999") == []


def test_the_cli_lists_receipts_and_exports_a_village_s_month(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    path = tmp_path / "villages.csv"
    path.write_text(VILLAGES)
    import_villages(context.unit_of_work, path, fixed_clock(NOW), locate=lambda r: CODES[r.name])
    agent = _agent(context)
    members = [_resident(context, f"tg:{501 + i}", "Sutini Wahyuningsih")[1] for i in range(3)]
    jimpitan = _pay(context, agent, members, 2).group
    assert jimpitan is not None
    context.engine.dispose()
    env = {**os.environ, "SADAR_DATABASE_URL": pg_url, "SADAR_PII_HASH_KEY": TEST_PII_KEY}

    def sadar(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "payments", *args],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip

    listed = sadar("list", "--village", "Karanglo", "--month", "2026-11").stdout.splitlines()
    assert len(listed) == 3
    for line in listed:
        assert jimpitan.group_receipt in line and "Siti Perisai" in line and "Karanglo" in line
        assert "Sut*** W." in line and " 2 mo" in line and "Rp    33600" in line
    out = tmp_path / "kas.csv"
    done = sadar("export", "--village", "35.23.08.2001", "--month", "2026-11", "--output", str(out))
    assert "3 receipt(s), Rp100.800" in done.stderr and jimpitan.group_receipt in done.stderr
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert int(rows[-1]["amount"]) == jimpitan.total == 100_800
    assert {r["group_receipt"] for r in rows[:-1]} == {jimpitan.group_receipt}
    refused = subprocess.run(
        [sys.executable, "-m", "bot.cli", "payments", "export", "--village", "Atlantis",
         "--month", "2026-11"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode != 0 and "not in the village table" in refused.stderr
