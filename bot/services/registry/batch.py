"""The branch batch file (issue 29), the hand-over that works today: pending registrations
of a regency written to an .xlsx for the BPJS Ketenagakerjaan branch office, the way
Perisai offices hand over collective registrations, and the branch's answer file read back.
The column layout is docs/registry.md's; the rows move to "submitted" before the file is
written, so two exports never hold the same registration and a lost file is written again
from the database."""

from __future__ import annotations

import csv
import hashlib
import itertools
import logging
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import DateTime, func, insert, literal, select, update

from bot.db.engine import rows_changed
from bot.db.models import AuditEvent, ConsentRecord, Participant, Submission, SubmissionEvent
from bot.domain.submissions import (
    Accepted,
    Answer,
    InvalidMove,
    Rejected,
    SubmissionState,
    clean_kpj,
    clean_payment_code,
    rejection_reason,
)
from bot.infra.crypto import PiiCipher
from bot.infra.spreadsheets import safe_cell, write_rows
from bot.services.registry.submissions import (
    apply_answer,
    mark_withdrawn,
    registration_record,
    same_answer,
)
from bot.services.unit_of_work import UnitOfWork
from nlu.parsing.identifiers import REFERENCE

log = logging.getLogger(__name__)

#: The registrations sheet's columns, in order (docs/registry.md describes each).
BATCH_COLUMNS = (
    "reference",
    "nik",
    "full_name",
    "sex",
    "birth_place",
    "birth_date",
    "village",
    "village_code",
    "district",
    "regency",
    "occupation",
    "declared_income",
    "programmes",
    "phone",
    "consent_date",
)
REGISTRATIONS_SHEET = "Pendaftaran"
HEADER_SHEET = "Batch"
#: The answer file's columns; the branch may also send the batch file back with these added.
ANSWER_COLUMNS = ("reference", "kpj", "payment_code", "reason_code", "reason")
_ANSWER_ALIASES = {
    "referensi": "reference",
    "nomor_sadar": "reference",
    "nomor_kpj": "kpj",
    "no_kpj": "kpj",
    "kode_bayar": "payment_code",
    "kode_alasan": "reason_code",
    "alasan": "reason",
}
_WRITE_CHUNK = 1000


def new_batch_id(now: datetime) -> str:
    return f"BATCH-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"


@dataclass(frozen=True)
class BatchExport:
    batch_id: str
    rows: int
    #: SHA-256 of the rows (docs/registry.md: each row's cells joined by tabs, one line per
    #: row): the branch can tell a complete file from a damaged one.
    checksum: str
    path: Path


class NothingToExport(Exception):
    """No pending registration in the area asked for; no file is written."""


class UnknownBatch(Exception):
    """No registration is waiting in the batch asked for (a typo, or every row answered)."""


def _row(participant: Participant, consent_at: datetime | None, cipher: PiiCipher) -> list[Any]:
    record = registration_record(participant, consent_at, cipher)
    return [
        record.reference,
        record.nik,
        record.full_name,
        record.sex,
        "",  # birth_place: not collected (Sadar asks for the minimum); the branch's form has it
        record.birth_date.isoformat(),
        record.village,
        record.village_code or "",
        record.district,
        record.regency,
        record.occupation,
        record.declared_income,
        ",".join(record.programmes),
        record.phone,
        consent_at.date().isoformat() if consent_at else "",
    ]


def _xlsx_cell(value: Any) -> Any:
    """In a workbook only a text starting with "=" would become a formula (openpyxl writes
    it as one); "+62…" stays the text it is."""
    return safe_cell(value) if isinstance(value, str) and value.startswith("=") else value


def _line(row: Iterable[Any]) -> bytes:
    return ("\t".join(str(cell) for cell in row) + "\n").encode("utf-8")


def export_batch(
    uow: UnitOfWork,
    cipher: PiiCipher,
    output: Path,
    regency: str,
    now: datetime,
    actor: str,
    village: str | None = None,
) -> BatchExport:
    """Give the regency's (or one village's) pending registrations a batch, then write the
    batch to ``output``. The rows are marked submitted first, in their own transaction:
    a crash after it leaves a batch without a file, which ``write_batch_file`` writes again
    from the database, never a file whose rows the next export would hand over twice."""
    batch_id = claim_batch(uow, regency, now, actor, village)
    return write_batch_file(uow, cipher, batch_id, output, now)


def claim_batch(
    uow: UnitOfWork,
    regency: str,
    now: datetime,
    actor: str,
    village: str | None = None,
) -> str:
    """Mark the area's pending registrations submitted under a new batch id, and record
    each move. Both are set statements run by the database, so memory stays flat however
    many rows move. A row moves only if it is still pending, so two exports at once never
    share a row, on PostgreSQL (rows the other holds are skipped) as on SQLite (writers
    take turns)."""
    batch_id = new_batch_id(now)
    with uow:
        session = uow.session
        waiting = (
            select(Submission.id)
            .where(
                Submission.state == SubmissionState.PENDING.value,
                Submission.participant_id.is_not(None),
                func.lower(Submission.regency) == regency.strip().lower(),
            )
            .with_for_update(skip_locked=True)
        )
        if village:
            waiting = waiting.where(func.lower(Submission.village) == village.strip().lower())
        moved = rows_changed(
            session.execute(
                update(Submission)
                .where(
                    Submission.id.in_(waiting.scalar_subquery()),
                    Submission.state == SubmissionState.PENDING.value,
                )
                .values(
                    state=SubmissionState.SUBMITTED.value,
                    batch_id=batch_id,
                    state_at=now,
                    attempts=0,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if not moved:
            area = f"{regency}, village {village}" if village else regency
            raise NothingToExport(f"no pending registration in {area}")
        session.execute(
            insert(SubmissionEvent).from_select(
                ["submission_id", "from_state", "to_state", "detail", "actor", "created_at"],
                select(
                    Submission.id,
                    literal(SubmissionState.PENDING.value),
                    literal(SubmissionState.SUBMITTED.value),
                    literal(batch_id),
                    literal(actor[:80]),
                    literal(now, DateTime(timezone=True)),
                ).where(Submission.batch_id == batch_id),
            )
        )
        _operator_audit(session, actor, "batch_exported", f"{batch_id} rows={moved}", now)
        uow.commit()
    log.info("batch %s: %d registration(s) of %s handed over", batch_id, moved, regency)
    return batch_id


@contextmanager
def _temporary_files_in(directory: Path) -> Iterator[None]:
    """openpyxl's write-only sheets buffer their rows (NIKs, names) in temporary files: they
    go next to the batch file, under its protection, not into the machine's shared /tmp
    where a crash would leave them."""
    before = tempfile.tempdir
    tempfile.tempdir = str(directory)
    try:
        yield
    finally:
        tempfile.tempdir = before


def write_batch_file(
    uow: UnitOfWork, cipher: PiiCipher, batch_id: str, output: Path, now: datetime
) -> BatchExport:
    """Write the registrations of ``batch_id`` still waiting for the branch's answer to
    ``output`` (mode 0600, never over an existing file). Rows are streamed (openpyxl's
    write-only mode, the query read in chunks), so memory stays flat however many there
    are; the same batch always gives the same rows and checksum."""
    output = output.resolve()
    digest = hashlib.sha256()
    rows = 0
    regencies: set[str] = set()
    villages: set[str] = set()
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    with uow, _temporary_files_in(output.parent):
        session = uow.session
        query = (
            select(Participant, ConsentRecord.created_at)
            .join(Submission, Submission.participant_id == Participant.id)
            .outerjoin(ConsentRecord, ConsentRecord.id == Participant.consent_record_id)
            .where(
                Submission.batch_id == batch_id,
                Submission.state == SubmissionState.SUBMITTED.value,
            )
            .order_by(Submission.id)
            .execution_options(yield_per=500)
        )
        found = iter(session.execute(query))
        first = next(found, None)
        if first is None:
            raise UnknownBatch(f"no registration of {batch_id} is waiting for the branch")
        workbook = Workbook(write_only=True)
        header = workbook.create_sheet(HEADER_SHEET)
        sheet = workbook.create_sheet(REGISTRATIONS_SHEET)
        sheet.append(list(BATCH_COLUMNS))
        for participant, consent_at in itertools.chain([first], found):
            row = [_xlsx_cell(cell) for cell in _row(participant, consent_at, cipher)]
            digest.update(_line(row))
            sheet.append(row)
            rows += 1
            regencies.add(participant.regency)
            villages.add(participant.village)
            session.expunge(participant)  # nothing decrypted stays in the session
        checksum = digest.hexdigest()
        for label, value in (
            ("batch_id", batch_id),
            ("written_at", now.isoformat()),
            ("regency", ", ".join(sorted(regencies))),
            ("village", next(iter(villages)) if len(villages) == 1 else ""),
            ("rows", rows),
            ("checksum_sha256", checksum),
            ("columns", ",".join(BATCH_COLUMNS)),
        ):
            header.append([label, value])
        descriptor = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as stream:
                workbook.save(stream)
                stream.flush()
                os.fsync(stream.fileno())
            os.link(partial, output)  # fails, rather than overwrites, if the name is taken
        finally:
            partial.unlink(missing_ok=True)
    log.info("batch %s: %d row(s) written", batch_id, rows)
    return BatchExport(batch_id, rows, checksum, output)


def _operator_audit(session: Any, actor: str, action: str, fields: str, now: datetime) -> None:
    """What an operator handed over or took in: counts and ids, never a person."""
    session.add(
        AuditEvent(
            participant_id=None, actor=actor[:80], action=action, fields=fields, created_at=now
        )
    )


# --- the branch's answer ---------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    row: int
    reference: str
    answer: Answer


@dataclass
class ImportRefused(Exception):
    """Rows that cannot be applied, each with its row number; nothing was applied."""

    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{len(self.problems)} row(s) cannot be applied; nothing was imported"


@dataclass(frozen=True)
class ImportResult:
    accepted: int
    rejected: int
    #: Rows whose answer was already recorded (a re-import).
    unchanged: int
    #: Rows of registrations erased after the hand-over (a withdrawal is owed instead).
    erased: int = 0
    #: Rows of references Sadar does not know, skipped on request.
    skipped: int = 0


def _header_key(cell: Any) -> str:
    key = str(cell or "").strip().lower().replace(" ", "_")
    return _ANSWER_ALIASES.get(key, key)


#: Stands for a cell a spreadsheet stored as a number it may have rounded (a float, or more
#: digits than a double holds): its digits cannot be trusted as a KPJ number or code.
_ROUNDED_NUMBER = "\0number"
_EXACT_DIGITS = 15


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value) if len(str(abs(value))) <= _EXACT_DIGITS else _ROUNDED_NUMBER
    if isinstance(value, float):
        return _ROUNDED_NUMBER
    return str(value).strip()


def _csv_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """Comma or semicolon: a spreadsheet set to Indonesian saves CSV with ";"."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _rows_of(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as a spreadsheet shows it, cells by answer column) of an .xlsx (the first
    sheet with a "reference" column) or a .csv file."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream, _csv_dialect(stream.read(4096)))
            stream.seek(0)
            header = [_header_key(cell) for cell in next(reader, [])]
            if "reference" not in header:
                raise ImportRefused([f"{path.name}: the first row has no 'reference' column"])
            for number, cells in enumerate(reader, start=2):
                yield number, {k: v.strip() for k, v in zip(header, cells, strict=False)}
        return
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(values_only=True)
            columns = [_header_key(cell) for cell in next(rows, ())]
            if "reference" not in columns:
                continue
            for number, values in enumerate(rows, start=2):
                yield (
                    number,
                    {key: _cell_text(value) for key, value in zip(columns, values, strict=False)},
                )
            return
    finally:
        workbook.close()
    raise ImportRefused([f"{path.name}: no sheet has a 'reference' column"])


def read_answer_file(path: Path) -> list[AnswerRow]:
    """Every row's answer, or ImportRefused listing every bad row (never only the first).
    A problem names the row and the column, never the cell's content (it may be a NIK)."""
    if not path.is_file():
        raise ImportRefused([f"{path}: no such file"])
    answers: list[AnswerRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, cells in _rows_of(path):
        if not any(cells.get(column) for column in ANSWER_COLUMNS):
            continue  # an empty row
        reference = cells.get("reference", "").upper()
        if not REFERENCE.fullmatch(reference):
            problems.append(f"row {number}: the reference is not a Sadar reference (SDR-…)")
            continue
        if reference in seen:
            problems.append(f"row {number}: {reference} is also on row {seen[reference]}")
            continue
        seen[reference] = number
        raw_kpj, code = cells.get("kpj", ""), cells.get("reason_code", "")
        raw_code = cells.get("payment_code", "")
        if _ROUNDED_NUMBER in (raw_kpj, raw_code):
            problems.append(
                f"row {number}: {reference}: the KPJ number or payment code is stored as a "
                "number (digits may be lost): format the column as Text and type it again"
            )
        elif raw_kpj and code:
            problems.append(f"row {number}: {reference} has both a KPJ number and a reason")
        elif raw_kpj:
            kpj = clean_kpj(raw_kpj)
            payment_code = clean_payment_code(raw_code) if raw_code else None
            if kpj is None:
                problems.append(f"row {number}: {reference}: the KPJ number is not valid")
            elif raw_code and payment_code is None:
                problems.append(f"row {number}: {reference}: the payment code is not valid")
            else:
                answers.append(AnswerRow(number, reference, Accepted(kpj, payment_code)))
        elif code:
            answers.append(
                AnswerRow(
                    number, reference, Rejected(rejection_reason(code), cells.get("reason", ""))
                )
            )
        # A row with neither is a registration the branch has not answered yet: skipped.
    if problems:
        raise ImportRefused(problems)
    return answers


def _submissions_by_reference(session: Any, references: list[str]) -> dict[str, Submission]:
    found: dict[str, Submission] = {}
    for start in range(0, len(references), _WRITE_CHUNK):
        chunk = references[start : start + _WRITE_CHUNK]
        for submission in session.scalars(
            select(Submission).where(Submission.reference.in_(chunk)).with_for_update()
        ):
            found[submission.reference] = submission
    return found


def import_answers(
    uow: UnitOfWork,
    cipher: PiiCipher,
    path: Path,
    now: datetime,
    actor: str,
    skip_unknown: bool = False,
) -> ImportResult:
    """Apply the branch's answers, all or nothing; re-importing the same file changes
    nothing (each answer already recorded is counted unchanged). A registration its resident
    erased after the hand-over is skipped (counted erased: the withdrawal tells the branch);
    a reference Sadar does not know refuses the file unless ``skip_unknown`` (an operator
    who checked that those residents erased their data after their withdrawal was sent)."""
    answers = read_answer_file(path)
    problems: list[str] = []
    accepted = rejected = unchanged = erased = skipped = 0
    with uow:
        session = uow.session
        found = _submissions_by_reference(session, [a.reference for a in answers])
        for item in answers:
            submission = found.get(item.reference)
            if submission is None:
                if skip_unknown:
                    skipped += 1
                else:
                    problems.append(
                        f"row {item.row}: {item.reference} is not a registration here (if its "
                        "resident erased their data, import again with --skip-unknown)"
                    )
                continue
            if submission.participant_id is None:
                erased += 1  # erased after the hand-over: owed a withdrawal, not a KPJ
                continue
            if same_answer(submission, cipher, item.answer):
                unchanged += 1
                continue
            if submission.state != SubmissionState.SUBMITTED.value:
                problems.append(
                    f"row {item.row}: {item.reference} is {submission.state}, not waiting "
                    "for an answer"
                )
                continue
            if isinstance(item.answer, Accepted) and _is_own_nik(
                session, cipher, submission.participant_id, item.answer.kpj
            ):
                problems.append(
                    f"row {item.row}: {item.reference}: the KPJ column holds the resident's NIK"
                )
                continue
            try:
                apply_answer(session, cipher, submission, item.answer, now, actor)
            except InvalidMove as error:
                problems.append(f"row {item.row}: {error}")
                continue
            if isinstance(item.answer, Accepted):
                accepted += 1
            else:
                rejected += 1
        if problems:
            uow.rollback()
            raise ImportRefused(problems)
        _operator_audit(
            session,
            actor,
            "batch_answers_imported",
            (
                f"{path.name[:60]} accepted={accepted} rejected={rejected} "
                f"unchanged={unchanged} erased={erased} skipped={skipped}"
            ),
            now,
        )
        uow.commit()
    return ImportResult(accepted, rejected, unchanged, erased, skipped)


def _is_own_nik(session: Any, cipher: PiiCipher, participant_id: int, kpj: str) -> bool:
    """A NIK pasted into the KPJ column passes the KPJ pattern (16 digits)."""
    if len(kpj) != 16:
        return False
    participant = session.get(Participant, participant_id)
    return participant is not None and cipher.decrypt(participant.nik_encrypted) == kpj


def answer_file_rows(answers: Iterable[tuple[str, Answer]]) -> Iterator[list[str]]:
    """Rows of an answer file (tests and docs/registry.md's sample make one this way)."""
    yield list(ANSWER_COLUMNS)
    for reference, answer in answers:
        if isinstance(answer, Accepted):
            yield [reference, answer.kpj, answer.payment_code or "", "", ""]
        else:
            yield [reference, "", "", answer.reason.value, answer.detail]


# --- withdrawals owed ------------------------------------------------------------------

#: The withdrawal list's columns (docs/registry.md).
WITHDRAWAL_COLUMNS = ("reference", "batch_id", "handed_over_as", "erased_on")


def export_withdrawals(
    uow: UnitOfWork, output: Path, regency: str, now: datetime, actor: str
) -> int:
    """Write the regency's owed withdrawals (registrations erased after the hand-over) to a
    CSV for the branch, then mark them sent and drop their references: from then on nothing
    in Sadar names them. The file is written before the commit: a crash between the two
    lists them again next time (a withdrawal asked twice is harmless), never loses one."""
    output = output.resolve()
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    with uow:
        session = uow.session
        owed = list(
            session.scalars(
                select(Submission)
                .where(
                    Submission.withdrawal == "due",
                    func.lower(Submission.regency) == regency.strip().lower(),
                )
                .order_by(Submission.id)
                .with_for_update(skip_locked=True)
            )
        )
        if not owed:
            raise NothingToExport(f"no withdrawal owed in {regency}")
        erased_on: dict[int, datetime] = {}
        for start in range(0, len(owed), _WRITE_CHUNK):
            chunk = [s.id for s in owed[start : start + _WRITE_CHUNK]]
            for submission_id, created_at in session.execute(
                select(SubmissionEvent.submission_id, func.max(SubmissionEvent.created_at))
                .where(SubmissionEvent.submission_id.in_(chunk))
                .group_by(SubmissionEvent.submission_id)
            ):
                erased_on[submission_id] = created_at
        descriptor = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as stream:
                write_rows(
                    stream,
                    list(WITHDRAWAL_COLUMNS),
                    (
                        [
                            submission.reference,
                            submission.batch_id or "",
                            submission.state,
                            (erased_on.get(submission.id) or now).date().isoformat(),
                        ]
                        for submission in owed
                    ),
                )
                stream.flush()
                os.fsync(stream.fileno())
            os.link(partial, output)
        finally:
            partial.unlink(missing_ok=True)
        try:
            for submission in owed:
                mark_withdrawn(session, submission, output.name[:60], actor, now)
            _operator_audit(
                session, actor, "withdrawals_exported", f"{regency[:60]} rows={len(owed)}", now
            )
            uow.commit()
        except BaseException:
            output.unlink(missing_ok=True)
            raise
    log.info("%d withdrawal(s) of %s handed over", len(owed), regency)
    return len(owed)
