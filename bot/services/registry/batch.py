"""The branch batch file (issue 29), the hand-over that works today: pending registrations
of a regency written to an .xlsx for the BPJS Ketenagakerjaan branch office, the way
Perisai offices hand over collective registrations, and the branch's answer file read back.
The column layout is docs/registry.md's; the rows move to "submitted" in the transaction
that writes the file, so two exports never hold the same registration."""

from __future__ import annotations

import csv
import hashlib
import itertools
import logging
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, insert, select, update

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
from bot.infra.spreadsheets import safe_cell
from bot.services.registry.submissions import apply_answer, same_answer
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


def _row(participant: Participant, consent_at: datetime | None, cipher: PiiCipher) -> list[Any]:
    programmes = "JKK,JKM,JHT" if participant.with_jht else "JKK,JKM"
    return [
        participant.reference,
        cipher.decrypt(participant.nik_encrypted),
        cipher.decrypt(participant.full_name_encrypted),
        participant.sex,
        "",  # not collected: Sadar asks for the minimum; the branch's form has the field
        cipher.decrypt(participant.birth_date_encrypted),
        participant.village,
        participant.village_code or "",
        participant.district,
        participant.regency,
        participant.occupation,
        int(cipher.decrypt(participant.income_encrypted)),
        programmes,
        cipher.decrypt(participant.phone_encrypted),
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
    batch_id: str | None = None,
) -> BatchExport:
    """Write the regency's (or one village's) pending registrations to ``output`` (mode
    0600) and mark them submitted in the same transaction: the file is in place before the
    commit, and removed if the commit fails. Rows are streamed (openpyxl's write-only mode,
    the query read in chunks), so memory stays flat however many rows there are."""
    batch_id = batch_id or new_batch_id(now)
    output = output.resolve()
    partial = output.with_name(f".{output.name}.{batch_id}.partial")
    digest = hashlib.sha256()
    ids: list[int] = []
    with uow:
        session = uow.session
        query = (
            select(Submission.id, Participant, ConsentRecord.created_at)
            .join(Participant, Participant.id == Submission.participant_id)
            .outerjoin(ConsentRecord, ConsentRecord.id == Participant.consent_record_id)
            .where(
                Submission.state == SubmissionState.PENDING.value,
                func.lower(Submission.regency) == regency.strip().lower(),
            )
            .order_by(Submission.id)
            # Two exports at once (PostgreSQL): each takes rows the other has not locked.
            .with_for_update(of=Submission, skip_locked=True)
            .execution_options(yield_per=500)
        )
        if village:
            query = query.where(func.lower(Submission.village) == village.strip().lower())
        found = iter(session.execute(query))
        first = next(found, None)
        if first is None:
            area = f"{regency}, village {village}" if village else regency
            raise NothingToExport(f"no pending registration in {area}")
        workbook = Workbook(write_only=True)
        header = workbook.create_sheet(HEADER_SHEET)
        sheet = workbook.create_sheet(REGISTRATIONS_SHEET)
        sheet.append(list(BATCH_COLUMNS))
        for submission_id, participant, consent_at in itertools.chain([first], found):
            row = [_xlsx_cell(cell) for cell in _row(participant, consent_at, cipher)]
            digest.update(_line(row))
            sheet.append(row)
            ids.append(submission_id)
            session.expunge(participant)  # nothing decrypted stays in the session
        if not ids:
            raise NothingToExport(
                f"no pending registration in {regency}"
                + (f", village {village}" if village else "")
            )
        checksum = digest.hexdigest()
        for label, value in (
            ("batch_id", batch_id),
            ("created_at", now.isoformat()),
            ("regency", regency),
            ("village", village or ""),
            ("rows", len(ids)),
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
            _mark_submitted(session, ids, batch_id, now, actor)
            session.add(
                AuditEvent(
                    participant_id=None,
                    actor=actor[:80],
                    action="batch_exported",
                    fields=f"{batch_id} rows={len(ids)}",
                    created_at=now,
                )
            )
            uow.flush()
            os.replace(partial, output)
            try:
                uow.commit()
            except BaseException:
                output.unlink(missing_ok=True)
                raise
        finally:
            partial.unlink(missing_ok=True)
    log.info("batch %s: %d registration(s) of %s exported", batch_id, len(ids), regency)
    return BatchExport(batch_id, len(ids), checksum, output)


def _mark_submitted(session: Any, ids: list[int], batch_id: str, now: datetime, actor: str) -> None:
    for start in range(0, len(ids), _WRITE_CHUNK):
        chunk = ids[start : start + _WRITE_CHUNK]
        session.execute(
            update(Submission)
            .where(Submission.id.in_(chunk))
            .values(
                state=SubmissionState.SUBMITTED.value,
                batch_id=batch_id,
                state_at=now,
                attempts=0,
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(
            insert(SubmissionEvent),
            [
                {
                    "submission_id": submission_id,
                    "from_state": SubmissionState.PENDING.value,
                    "to_state": SubmissionState.SUBMITTED.value,
                    "detail": batch_id,
                    "actor": actor[:80],
                    "created_at": now,
                }
                for submission_id in chunk
            ],
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


def _header_key(cell: Any) -> str:
    key = str(cell or "").strip().lower().replace(" ", "_")
    return _ANSWER_ALIASES.get(key, key)


def _rows_of(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as a spreadsheet shows it, cells by answer column) of an .xlsx (the first
    sheet with a "reference" column) or a .csv file."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream)
            header = [_header_key(cell) for cell in next(reader, [])]
            for number, cells in enumerate(reader, start=2):
                yield number, dict(zip(header, cells, strict=False))
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
                    {
                        key: "" if value is None else str(value).strip()
                        for key, value in zip(columns, values, strict=False)
                    },
                )
            return
    finally:
        workbook.close()
    raise ImportRefused([f"{path.name}: no sheet has a 'reference' column"])


def read_answer_file(path: Path) -> list[AnswerRow]:
    """Every row's answer, or ImportRefused listing every bad row (never only the first)."""
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
            problems.append(f"row {number}: '{reference[:20]}' is not a Sadar reference (SDR-…)")
            continue
        if reference in seen:
            problems.append(f"row {number}: {reference} is also on row {seen[reference]}")
            continue
        seen[reference] = number
        raw_kpj, code = cells.get("kpj", ""), cells.get("reason_code", "")
        if raw_kpj and code:
            problems.append(f"row {number}: {reference} has both a KPJ number and a reason")
        elif raw_kpj:
            kpj = clean_kpj(raw_kpj)
            raw_code = cells.get("payment_code", "")
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


def import_answers(
    uow: UnitOfWork, cipher: PiiCipher, path: Path, now: datetime, actor: str
) -> ImportResult:
    """Apply the branch's answers, all or nothing; re-importing the same file changes
    nothing (each answer already recorded is counted unchanged)."""
    answers = read_answer_file(path)
    problems: list[str] = []
    accepted = rejected = unchanged = 0
    with uow:
        session = uow.session
        found = {
            s.reference: s
            for s in session.scalars(
                select(Submission).where(Submission.reference.in_([a.reference for a in answers]))
            )
        }
        for item in answers:
            submission = found.get(item.reference)
            if submission is None or submission.participant_id is None:
                problems.append(f"row {item.row}: {item.reference} is not a registration here")
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
        session.add(
            AuditEvent(
                participant_id=None,
                actor=actor[:80],
                action="batch_answers_imported",
                fields=f"{path.name} accepted={accepted} rejected={rejected} unchanged={unchanged}",
                created_at=now,
            )
        )
        uow.commit()
    return ImportResult(accepted, rejected, unchanged)


def answer_file_rows(answers: Iterable[tuple[str, Answer]]) -> Iterator[list[str]]:
    """Rows of an answer file (tests and docs/registry.md's sample make one this way)."""
    yield list(ANSWER_COLUMNS)
    for reference, answer in answers:
        if isinstance(answer, Accepted):
            yield [reference, answer.kpj, answer.payment_code or "", "", ""]
        else:
            yield [reference, "", "", answer.reason.value, answer.detail]
