"""The branch batch file (issue 29), on PostgreSQL and on the embedded SQLite default:
every registration opens a pending submission; an export writes them to a private .xlsx
and marks them submitted in the same transaction (never twice, even two exports at once);
the branch's answer file is applied all or nothing and idempotently; acceptances are told
once; erasure cancels or owes a withdrawal."""

from __future__ import annotations

import csv
import hashlib
import stat
import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.app_context import AppContext
from bot.db.models import AuditEvent, Participant, Submission, SubmissionEvent
from bot.domain.submissions import Accepted, Rejected, RejectionReason, SubmissionState
from bot.infra.settings import Settings
from bot.services.erasure import delete_for_sender
from bot.services.registry.batch import (
    BATCH_COLUMNS,
    WITHDRAWAL_COLUMNS,
    ImportRefused,
    NothingToExport,
    UnknownBatch,
    answer_file_rows,
    export_batch,
    export_withdrawals,
    import_answers,
    write_batch_file,
)
from bot.services.registry.submissions import claim_acceptance_notices, pipeline, stage_of
from tests.conftest import TEST_PII_KEY
from tests.support.clock import WIB, fixed_clock
from tests.support.html_tables import table_rows
from tests.support.participants import make_participant

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=WIB)


@pytest.fixture
def context(database_url: str) -> Iterator[AppContext]:
    settings = Settings(_env_file=None, database_url=database_url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    yield context
    context.engine.dispose()


@pytest.fixture
def regency() -> str:
    """A regency of this test alone: exports see only its registrations."""
    return f"Kabupaten Uji {uuid.uuid4().hex[:8]}"


def _register(context: AppContext, regency: str, village: str = "Karanglo") -> tuple[int, str]:
    participant_id = make_participant(
        context,
        f"wa:+62812{uuid.uuid4().int % 10**8:08d}",
        village=(village, "Kerek", regency),
        accepted=False,
    )
    with context.sessions() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        return participant_id, participant.reference


def _submission(context: AppContext, reference: str) -> Submission:
    with context.sessions() as session:
        found = session.scalar(select(Submission).where(Submission.reference == reference))
        assert found is not None
        session.expunge(found)
        return found


def _answers(path: Path, rows: list[tuple[str, Accepted | Rejected]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(answer_file_rows(rows))
    return path


def test_a_registration_waits_to_be_handed_over(context: AppContext, regency: str) -> None:
    _, reference = _register(context, regency)
    submission = _submission(context, reference)
    assert submission.state == SubmissionState.PENDING.value
    assert submission.regency == regency
    with context.sessions() as session:
        events = session.scalars(
            select(SubmissionEvent.to_state).where(SubmissionEvent.submission_id == submission.id)
        ).all()
    assert events == ["pending"]


def test_the_export_is_private_complete_and_never_repeats_a_row(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    first = [_register(context, regency)[1] for _ in range(3)]
    other_village = _register(context, regency, village="Sumberejo")[1]
    output = tmp_path / "batch.xlsx"
    batch = export_batch(
        context.unit_of_work(), context.cipher, output, regency, NOW, "cli:test", "Karanglo"
    )
    assert batch.rows == 3
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    workbook = load_workbook(output, read_only=True)
    header = dict(workbook["Batch"].values)
    rows = list(workbook["Pendaftaran"].values)
    assert rows[0] == BATCH_COLUMNS
    assert [row[0] for row in rows[1:]] == first
    assert header["rows"] == 3 and header["batch_id"] == batch.batch_id
    digest = hashlib.sha256()
    for row in rows[1:]:
        digest.update(("\t".join("" if c is None else str(c) for c in row) + "\n").encode())
    assert header["checksum_sha256"] == batch.checksum == digest.hexdigest()
    nik, name, phone = rows[1][1], rows[1][2], rows[1][13]
    assert len(str(nik)) == 16 and name == "Warga Uji" and str(phone).startswith("+62812")
    assert rows[1][12] == "JKK,JKM" and rows[1][11] == 1_000_000
    for reference in first:
        submission = _submission(context, reference)
        assert (submission.state, submission.batch_id) == ("submitted", batch.batch_id)
    assert _submission(context, other_village).state == "pending"
    with pytest.raises(NothingToExport):
        export_batch(
            context.unit_of_work(), context.cipher, tmp_path / "again.xlsx", regency, NOW,
            "cli:test", "Karanglo",
        )  # fmt: skip
    assert not (tmp_path / "again.xlsx").exists()
    with context.sessions() as session:
        audit = session.scalars(
            select(AuditEvent.fields).where(AuditEvent.action == "batch_exported")
        ).all()
    assert f"{batch.batch_id} rows=3" in audit


def test_two_exports_at_once_share_no_registration(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    references = {_register(context, regency)[1] for _ in range(40)}
    results: dict[str, set[str]] = {}

    def export(name: str) -> None:
        try:
            batch = export_batch(
                context.unit_of_work(), context.cipher, tmp_path / f"{name}.xlsx", regency,
                NOW, f"cli:{name}",
            )  # fmt: skip
        except NothingToExport:
            results[name] = set()
            return
        sheet = load_workbook(batch.path, read_only=True)["Pendaftaran"]
        results[name] = {row[0] for row in list(sheet.values)[1:]}

    threads = [threading.Thread(target=export, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not results["a"] & results["b"]
    assert results["a"] | results["b"] == references


def test_the_branch_answer_is_applied_once_and_told_once(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    (accepted_id, accepted), (_, rejected) = (
        _register(context, regency),
        _register(context, regency),
    )
    export_batch(context.unit_of_work(), context.cipher, tmp_path / "b.xlsx", regency, NOW, "t")
    answer = _answers(
        tmp_path / "answer.csv",
        [
            (accepted, Accepted("26012345678", "889012345678")),
            (rejected, Rejected(RejectionReason.IDENTITY_MISMATCH, "nama beda dengan Dukcapil")),
        ],
    )
    result = import_answers(context.unit_of_work(), context.cipher, answer, NOW, "cli:test")
    assert (result.accepted, result.rejected, result.unchanged) == (1, 1, 0)
    again = import_answers(context.unit_of_work(), context.cipher, answer, NOW, "cli:test")
    assert (again.accepted, again.rejected, again.unchanged) == (0, 0, 2)
    stored = _submission(context, accepted)
    assert stored.kpj_encrypted and "26012345678" not in stored.kpj_encrypted
    with context.sessions() as session:
        stage = stage_of(session, context.cipher, accepted_id)
    assert stage is not None and (stage.kpj, stage.payment_code) == ("26012345678", "889012345678")
    assert _submission(context, rejected).reason_code == "identity_mismatch"
    first = claim_acceptance_notices(context.unit_of_work(), context.cipher, NOW)
    mine = [n for n in first if n.reference == accepted]
    assert len(mine) == 1 and mine[0].addresses  # its WhatsApp number
    second = claim_acceptance_notices(context.unit_of_work(), context.cipher, NOW)
    assert accepted not in {n.reference for n in second}


def test_a_bad_answer_file_is_refused_whole_with_row_numbers(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    good, never_sent = _register(context, regency)[1], None
    export_batch(context.unit_of_work(), context.cipher, tmp_path / "b.xlsx", regency, NOW, "t")
    never_sent = _register(context, regency)[1]  # registered after the export
    path = tmp_path / "answer.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["Referensi", "Nomor KPJ", "kode_bayar", "reason_code", "reason"])
        writer.writerow([good, "26012345678", "", "", ""])  # row 2: fine on its own
        writer.writerow(["SDR-XXXX", "26012345679", "", "", ""])  # row 3
        writer.writerow([never_sent, "26012345670", "", "", ""])  # row 4: never handed over
        writer.writerow([good, "", "", "over_age", ""])  # row 5: the same reference again
        writer.writerow(["SDR-0000-0000", "26012345671", "", "", ""])  # row 6: unknown
    with pytest.raises(ImportRefused) as refused:
        import_answers(context.unit_of_work(), context.cipher, path, NOW, "cli:test")
    problems = " | ".join(refused.value.problems)
    assert "row 3:" in problems and "row 5:" in problems
    assert _submission(context, good).state == "submitted"  # nothing half-applied
    path.write_text(
        "reference,kpj\n" f"{good},26012345678\n" f"{never_sent},26012345670\n"
        "SDR-0000-0000,26012345671\n",
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(ImportRefused) as refused:
        import_answers(context.unit_of_work(), context.cipher, path, NOW, "cli:test")
    assert any(p.startswith("row 3:") and "pending" in p for p in refused.value.problems)
    assert any(p.startswith("row 4:") for p in refused.value.problems)
    assert _submission(context, good).state == "submitted"


def test_a_contradicting_answer_is_refused(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    reference = _register(context, regency)[1]
    export_batch(context.unit_of_work(), context.cipher, tmp_path / "b.xlsx", regency, NOW, "t")
    first = _answers(tmp_path / "a.csv", [(reference, Accepted("26012345678"))])
    import_answers(context.unit_of_work(), context.cipher, first, NOW, "t")
    other = _answers(tmp_path / "b.csv", [(reference, Accepted("26099999999"))])
    with pytest.raises(ImportRefused):
        import_answers(context.unit_of_work(), context.cipher, other, NOW, "t")


def test_the_answer_may_be_the_batch_file_sent_back(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    """The branch often fills a column into the file it was given."""
    from openpyxl import Workbook

    reference = _register(context, regency)[1]
    batch = export_batch(
        context.unit_of_work(), context.cipher, tmp_path / "b.xlsx", regency, NOW, "t"
    )
    given = load_workbook(batch.path, read_only=True)
    returned = Workbook()
    returned.active.title = "Batch"
    sheet = returned.create_sheet("Pendaftaran")
    for number, row in enumerate(given["Pendaftaran"].values):
        sheet.append([*row, "kpj" if number == 0 else "2601 2345 678"])
    returned.save(tmp_path / "returned.xlsx")
    result = import_answers(
        context.unit_of_work(), context.cipher, tmp_path / "returned.xlsx", NOW, "t"
    )
    assert result.accepted == 1 and _submission(context, reference).state == "accepted"


def test_erasure_cancels_a_pending_hand_over_and_owes_a_withdrawal_after_one(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    pending_sender = f"wa:+62813{uuid.uuid4().int % 10**8:08d}"
    make_participant(
        context, pending_sender, village=("Karanglo", "Kerek", regency), accepted=False
    )
    with context.sessions() as session:
        pending_ref = session.scalars(
            select(Submission.reference).where(Submission.regency == regency)
        ).one()
    erased = delete_for_sender(
        context.unit_of_work(), context.cipher, context.hash_key, pending_sender, NOW
    )
    assert erased is not None and erased.handover == "cancelled"
    with context.sessions() as session:
        cancelled = session.scalars(
            select(Submission).where(Submission.regency == regency, Submission.state == "cancelled")
        ).one()
    # Nothing names the registration any more: no answer file can reach it.
    assert cancelled.reference == f"ERASED-{cancelled.id}" and pending_ref != cancelled.reference

    sent_sender = f"wa:+62813{uuid.uuid4().int % 10**8:08d}"
    make_participant(context, sent_sender, village=("Karanglo", "Kerek", regency), accepted=False)
    export_batch(context.unit_of_work(), context.cipher, tmp_path / "b.xlsx", regency, NOW, "t")
    with context.sessions() as session:
        sent_ref = session.scalars(
            select(Submission.reference).where(
                Submission.regency == regency, Submission.state == "submitted"
            )
        ).one()
    import_answers(
        context.unit_of_work(), context.cipher,
        _answers(tmp_path / "a.csv", [(sent_ref, Accepted("26012345678"))]), NOW, "t",
    )  # fmt: skip
    erased = delete_for_sender(
        context.unit_of_work(), context.cipher, context.hash_key, sent_sender, NOW
    )
    assert erased is not None and erased.handover == "withdrawal"
    after = _submission(context, sent_ref)
    assert after.state == "accepted" and after.withdrawal == "due"
    assert after.kpj_encrypted is None and after.participant_id is None
    view = pipeline(context.unit_of_work(), regency)
    assert view.withdrawals_due == 1 and view.oldest_waiting is None
    assert view.totals()["cancelled"] == 1 and view.totals()["accepted"] == 1

    # The branch's late answer for it is skipped, not an error.
    late = _answers(tmp_path / "late.csv", [(sent_ref, Accepted("26012345678"))])
    result = import_answers(context.unit_of_work(), context.cipher, late, NOW, "t")
    assert (result.erased, result.unchanged) == (1, 0)

    # The withdrawal list names it once; then Sadar forgets the reference.
    listing = tmp_path / "withdrawals.csv"
    assert export_withdrawals(context.unit_of_work(), listing, regency, NOW, "cli:test") == 1
    assert stat.S_IMODE(listing.stat().st_mode) == 0o600
    rows = list(csv.reader(listing.open(encoding="utf-8")))
    assert rows[0] == list(WITHDRAWAL_COLUMNS) and rows[1][:3] == [
        sent_ref,
        after.batch_id,
        "accepted",
    ]
    with context.sessions() as session:
        assert not session.scalar(select(Submission).where(Submission.reference == sent_ref))
    assert pipeline(context.unit_of_work(), regency).withdrawals_due == 0
    with pytest.raises(NothingToExport):
        export_withdrawals(context.unit_of_work(), tmp_path / "again.csv", regency, NOW, "t")
    with pytest.raises(ImportRefused):
        import_answers(context.unit_of_work(), context.cipher, late, NOW, "t")
    skipped = import_answers(context.unit_of_work(), context.cipher, late, NOW, "t", True)
    assert (skipped.skipped, skipped.accepted) == (1, 0)


def test_a_lost_batch_file_is_written_again_the_same(
    context: AppContext, regency: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openpyxl.worksheet._writer as sheet_writer

    buffers: list[Path] = []
    create_buffer = sheet_writer.create_temporary_file

    def recorded(suffix: str = "") -> str:
        name = create_buffer(suffix)
        buffers.append(Path(name))
        return name

    monkeypatch.setattr(sheet_writer, "create_temporary_file", recorded)
    for _ in range(3):
        _register(context, regency)
    first = export_batch(
        context.unit_of_work(), context.cipher, tmp_path / "b.xlsx", regency, NOW, "t"
    )
    # openpyxl buffered the rows (NIKs, names) next to the batch file, not in the shared
    # /tmp, and removed the buffers: only the batch file is left in its folder.
    assert buffers and all(buffer.parent == tmp_path.resolve() for buffer in buffers)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.xlsx"]
    again = write_batch_file(
        context.unit_of_work(), context.cipher, first.batch_id, tmp_path / "again.xlsx", NOW
    )
    assert (again.rows, again.checksum) == (3, first.checksum)
    with pytest.raises(FileExistsError):
        write_batch_file(
            context.unit_of_work(), context.cipher, first.batch_id, tmp_path / "b.xlsx", NOW
        )
    with pytest.raises(UnknownBatch):
        write_batch_file(
            context.unit_of_work(),
            context.cipher,
            "BATCH-20260101-000000",
            tmp_path / "x.xlsx",
            NOW,
        )


def test_an_answer_file_the_branch_may_really_send(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    """Semicolons (a spreadsheet set to Indonesian), a KPJ column Excel turned into a number,
    a NIK pasted where the KPJ goes: each refused or read as meant, no cell echoed."""
    from openpyxl import Workbook

    participant_id, reference = _register(context, regency)
    export_batch(context.unit_of_work(), context.cipher, tmp_path / "b.xlsx", regency, NOW, "t")
    with context.sessions() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        nik = context.cipher.decrypt(participant.nik_encrypted)

    no_reference = tmp_path / "no_reference.csv"
    no_reference.write_text("nomor;kpj\n1;26012345678\n", encoding="utf-8")
    with pytest.raises(ImportRefused, match="cannot be applied"):
        import_answers(context.unit_of_work(), context.cipher, no_reference, NOW, "t")

    pasted_nik = tmp_path / "nik.csv"
    pasted_nik.write_text(f"referensi;nomor kpj\n{reference};{nik}\n", encoding="utf-8")
    with pytest.raises(ImportRefused) as refused:
        import_answers(context.unit_of_work(), context.cipher, pasted_nik, NOW, "t")
    assert "NIK" in refused.value.problems[0] and nik not in refused.value.problems[0]

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["reference", "kpj", "payment_code"])
    # A code longer than Excel keeps digits of: stored as a number, it cannot be trusted.
    sheet.append([reference, "26012345678", 8890123456789012345])
    sheet.append([nik, "26012345679", ""])  # a NIK where the reference goes
    workbook.save(tmp_path / "numbers.xlsx")
    with pytest.raises(ImportRefused) as refused:
        import_answers(context.unit_of_work(), context.cipher, tmp_path / "numbers.xlsx", NOW, "t")
    problems = refused.value.problems
    assert problems[0].startswith("row 2:") and "Text" in problems[0]
    assert problems[1].startswith("row 3:") and nik not in problems[1]

    semicolons = tmp_path / "answer.csv"
    semicolons.write_text(f"Referensi;Nomor KPJ\n{reference};2601 2345 678\n", encoding="utf-8")
    result = import_answers(context.unit_of_work(), context.cipher, semicolons, NOW, "t")
    assert result.accepted == 1


def test_contributions_start_when_bpjs_accepts(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    """Registered in October, accepted on 5 December: nothing could be paid before, so the
    first month to pay is December, not three months of arrears."""
    participant_id = make_participant(
        context,
        f"wa:+62812{uuid.uuid4().int % 10**8:08d}",
        village=("Karanglo", "Kerek", regency),
        first_period=date(2026, 10, 1),
        accepted=False,
    )
    with context.sessions() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        reference = participant.reference
    export_batch(context.unit_of_work(), context.cipher, tmp_path / "b.xlsx", regency, NOW, "t")
    answer = _answers(tmp_path / "a.csv", [(reference, Accepted("26012345678"))])
    import_answers(context.unit_of_work(), context.cipher, answer, NOW, "t")
    with context.sessions() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        assert participant.first_period == date(2026, 12, 1)


def test_the_pipeline_is_scraped_as_gauges(context: AppContext, regency: str) -> None:
    from prometheus_client import CollectorRegistry

    from bot.infra.metrics import exposition, register_gauges

    for _ in range(2):
        _register(context, regency)
    registry = CollectorRegistry()
    later = NOW + timedelta(hours=3)
    register_gauges(lambda: pipeline(context.unit_of_work(), regency).gauges(later), registry)
    text = exposition(registry).decode()
    assert 'sadar_submissions{state="pending"} 2.0' in text
    assert 'sadar_submissions{state="accepted"} 0.0' in text
    assert "sadar_submission_oldest_waiting_seconds 10800.0" in text
    assert "sadar_submission_withdrawals_due 0.0" in text


def test_the_administrator_sees_the_pipeline_and_the_rejections(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from bot.gateway.admin_auth import hash_password
    from bot.gateway.app import create_app
    from tests.support.fake_rasa import FakeRasaREST

    waiting = _register(context, regency, village="Sumberejo")[1]
    refused = _register(context, regency)[1]
    export_batch(
        context.unit_of_work(), context.cipher, tmp_path / "b.xlsx", regency, NOW, "t", "Karanglo"
    )
    answer = _answers(tmp_path / "a.csv", [(refused, Rejected(RejectionReason.OVER_AGE, ""))])
    import_answers(context.unit_of_work(), context.cipher, answer, NOW, "t")
    settings = context.settings.model_copy(
        update={"admin_password_hash": SecretStr(hash_password("sandi-uji-2026", iterations=1000))}
    )
    app = create_app(settings, rasa_http=FakeRasaREST().client(), clock=context.clock)
    with TestClient(app, base_url="https://testserver") as admin:
        admin.post("/admin/login", data={"password": "sandi-uji-2026"})
        page = admin.get("/admin/bpjs").text
    handover = {row[0]: row[1:] for row in table_rows(page, "handover")}
    # Sumberejo: one waiting to be sent; Karanglo: one rejected (columns in lifecycle order).
    assert handover[f"Sumberejo / {regency}"][:2] == ["1", "0"]
    assert handover[f"Karanglo / {regency}"][:4] == ["0", "0", "0", "1"]
    rejections = table_rows(page, "rejections")
    assert [row[:3] for row in rejections if row[0] == refused] == [
        [refused, f"Karanglo / {regency}", "usia melewati batas"]
    ]
    assert all(waiting not in row for row in rejections)
    # Who is waiting: by reference and masked name, never the name itself.
    assert "Warga Uji" not in page
    assert [row[0] for row in table_rows(page, "waiting") if row[0] == waiting] == [waiting]


def test_the_agent_sees_where_each_walk_in_stands(
    context: AppContext, regency: str, tmp_path: Path
) -> None:
    from sqlalchemy import update

    from bot.services.agents import AgentRef, enrol_agent, residents_registered_by

    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti",
        phone=f"+62813{uuid.uuid4().int % 10**8:08d}", village="Karanglo", district="Kerek",
        regency=regency,
    )  # fmt: skip
    walk_ins = [_register(context, regency) for _ in range(2)]
    with context.sessions.begin() as session:
        session.execute(
            update(Participant)
            .where(Participant.id.in_([pid for pid, _ in walk_ins]))
            .values(registered_by_agent_id=agent_id)
        )
    export_batch(context.unit_of_work(), context.cipher, tmp_path / "b.xlsx", regency, NOW, "t")
    refused = walk_ins[1][1]
    answer = _answers(tmp_path / "a.csv", [(refused, Rejected(RejectionReason.NIK_NOT_FOUND, ""))])
    import_answers(context.unit_of_work(), context.cipher, answer, NOW, "t")
    agent = AgentRef(agent_id, "Siti", "Karanglo", "Kerek", regency)
    lines = residents_registered_by(context.unit_of_work(), context.cipher, agent, NOW.date())
    assert [(line.reference, line.handover, line.reason) for line in lines] == [
        (walk_ins[0][1], SubmissionState.SUBMITTED, None),
        (refused, SubmissionState.REJECTED, "nik_not_found"),
    ]


def test_the_count_of_those_waiting_is_the_list_of_those_waiting(
    context: AppContext, regency: str
) -> None:
    from bot.domain.access import Scope
    from bot.services.registry.submissions import waiting_count, waiting_registrations

    for village in ("Karanglo", "Sumberejo"):
        _register(context, regency, village=village)
    scope = Scope(regency=regency)
    listed = waiting_registrations(context.unit_of_work(), context.cipher, scope=scope)
    count, since = waiting_count(context.unit_of_work(), scope=scope)
    assert count == len(listed) == 2 and since == listed[0].registered_at
    assert all("*" in line.masked_name for line in listed)
