"""CSV imports: the village table, and the bulk registration of a village's officials.

Every row is validated with the same rules as a chat registration; each row's outcome
(created, already there, error and why) is stored, so a re-run of the same file resumes
where it stopped and never creates a duplicate."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.crypto import PiiCipher
from bot.db.models import ImportRowResult, ImportRun, Participant, Village
from bot.domain.clock import Clock, local_date
from bot.domain.consent import ConsentDecision, ConsentMethod, ConsentPurpose
from bot.domain.nik import InvalidNik, parse_nik
from bot.domain.registration import (
    Registration,
    RegistrationProblem,
    birth_date_matches_nik,
    check_age,
    check_income,
    clean_full_name,
)
from bot.domain.senders import Channel, make_sender_id
from bot.domain.villages import RowProblem, VillageRecord, name_key, village_from_row
from bot.services.channel_log import ChannelLog
from bot.services.consent import record_consent
from bot.services.participants import DuplicateNik, nik_is_registered, register_participant
from nlu.parsing.dates import find_dates
from nlu.parsing.identifiers import normalise_phone
from nlu.parsing.money import find_money

log = logging.getLogger(__name__)

VILLAGE_COLUMNS = ("name", "district", "regency", "province", "households", "officials")
OFFICIAL_COLUMNS = ("nik", "full_name", "birth_date", "phone", "position", "income")
#: What is recorded as the consent of officials registered in bulk: their village
#: collected it on paper when joining the Desa Sadar programme.
BULK_CONSENT_WORDING = (
    "Persetujuan dikumpulkan secara tertulis oleh pemerintah desa saat bergabung dengan "
    "program Desa Sadar Jaminan Sosial Ketenagakerjaan; dicatat oleh administrator Sadar "
    "melalui impor data perangkat desa."
)


@dataclass
class ImportReport:
    run_id: int
    total: int
    created: int = 0
    existing: int = 0
    skipped_done: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def read_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(
            f"{path.name}: missing column(s) {', '.join(missing)}; expected {required}"
        )
    return [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in reader]


def _start_run(
    sessions: sessionmaker[Session], kind: str, path: Path, total: int
) -> tuple[int, set[int]]:
    """The unfinished run of this very file (resume), or a new one; and its rows done."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with sessions.begin() as session:
        run = session.scalar(
            select(ImportRun)
            .where(ImportRun.kind == kind, ImportRun.file_sha256 == digest)
            .where(ImportRun.finished_at.is_(None))
            .order_by(ImportRun.id.desc())
        )
        if run is None:
            run = ImportRun(kind=kind, file_sha256=digest, rows_total=total)
            session.add(run)
            session.flush()
        done = set(
            session.scalars(
                select(ImportRowResult.row_number).where(ImportRowResult.run_id == run.id)
            )
        )
        return run.id, done


def _record_row(
    sessions: sessionmaker[Session], run_id: int, row_number: int, status: str, message: str
) -> None:
    with sessions.begin() as session:
        session.add(
            ImportRowResult(run_id=run_id, row_number=row_number, status=status, message=message)
        )


def _finish(sessions: sessionmaker[Session], run_id: int, now: datetime) -> None:
    with sessions.begin() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        run.finished_at = now


def import_villages(
    sessions: sessionmaker[Session],
    path: Path,
    clock: Clock,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Create or update villages (matched by name, district and regency)."""
    rows = read_rows(path, VILLAGE_COLUMNS)
    run_id, done = _start_run(sessions, "villages", path, len(rows))
    report = ImportReport(run_id, len(rows))
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        if number in done:
            report.skipped_done += 1
        else:
            try:
                record = village_from_row(row)
            except RowProblem as problem:
                report.errors.append((number, str(problem)))
                _record_row(sessions, run_id, number, "error", str(problem))
            else:
                created = _upsert_village(sessions, record)
                report.created += created
                report.existing += not created
                _record_row(sessions, run_id, number, "created" if created else "updated", "")
        if progress:
            progress(1)
    _finish(sessions, run_id, clock.now())
    return report


def _upsert_village(sessions: sessionmaker[Session], record: VillageRecord) -> bool:
    name, district, regency = record.key
    with sessions.begin() as session:
        village = session.scalar(
            select(Village).where(
                Village.name_key == name,
                Village.district_key == district,
                Village.regency_key == regency,
            )
        )
        created = village is None
        if village is None:
            village = Village(name_key=name, district_key=district, regency_key=regency)
            session.add(village)
        village.name, village.district, village.regency = (
            record.name,
            record.district,
            record.regency,
        )
        village.province = record.province
        village.households, village.officials = record.households, record.officials
    return created


def find_village(
    sessions: sessionmaker[Session], name: str, district: str | None = None
) -> Village | None:
    with sessions() as session:
        query = select(Village).where(Village.name_key == name_key(name))
        if district:
            query = query.where(Village.district_key == name_key(district))
        found = session.scalars(query).all()
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class BulkContext:
    sessions: sessionmaker[Session]
    cipher: PiiCipher
    hash_key: str
    channel_log: ChannelLog
    min_age: int
    max_age: int
    #: Each row is registered at the clock's time (a long import may cross midnight).
    clock: Clock


def _official(row: dict[str, str], village: Village, today: date, ctx: BulkContext) -> Registration:
    try:
        nik = parse_nik(row.get("nik", ""), today)
    except InvalidNik as problem:
        raise RowProblem(f"NIK: {problem}") from problem
    try:
        name = clean_full_name(row.get("full_name", ""))
    except RegistrationProblem as problem:
        raise RowProblem("full_name is not a name as on the KTP") from problem
    dates = find_dates(row.get("birth_date", ""), today)
    if not dates:
        raise RowProblem(f"birth_date {row.get('birth_date')!r} is not a date (use 17-08-1980)")
    birth = date.fromisoformat(str(dates[0].value))
    if not birth_date_matches_nik(nik, birth):
        raise RowProblem(
            f"birth_date {birth.isoformat()} differs from the NIK's {nik.birth_date.isoformat()}"
        )
    try:
        check_age(birth, today, ctx.min_age, ctx.max_age)
    except RegistrationProblem as problem:
        raise RowProblem(f"age outside {ctx.min_age}-{ctx.max_age}") from problem
    phone = normalise_phone(row.get("phone", ""))
    if phone is None:
        raise RowProblem(f"phone {row.get('phone')!r} is not an Indonesian mobile number")
    raw_income = row.get("income", "")
    plain = raw_income.replace(".", "").replace(",", "").strip()
    amounts = [int(plain)] if plain.isdigit() else [int(f.value) for f in find_money(raw_income)]
    if not amounts:
        raise RowProblem(f"income {raw_income!r} is not an amount (e.g. 2500000)")
    try:
        income = check_income(amounts[0])
    except RegistrationProblem as problem:
        raise RowProblem(f"income {amounts[0]:,} is not plausible") from problem
    with_jht = row.get("with_jht", "").lower() in ("ya", "y", "yes", "1", "true")
    return Registration(
        full_name=name,
        nik=nik,
        birth_date=birth,
        phone=phone,
        village=village.name,
        district=village.district,
        regency=village.regency,
        occupation="perangkat_desa",
        declared_income=income,
        with_jht=with_jht,
        channel=Channel.WHATSAPP,
    )


def import_officials(
    ctx: BulkContext,
    path: Path,
    village: Village,
    progress: Callable[[int], None] | None = None,
    stop_after: int | None = None,
) -> ImportReport:
    """Register a village's officials from CSV (``OFFICIAL_COLUMNS``, optional with_jht).
    Reminders reach them on WhatsApp at the phone given. ``stop_after`` (tests) stops early
    as an interruption would."""
    rows = read_rows(path, OFFICIAL_COLUMNS)
    run_id, done = _start_run(ctx.sessions, f"officials:{village.id}", path, len(rows))
    report = ImportReport(run_id, len(rows))
    handled = 0
    for number, row in enumerate(rows, start=2):
        if number in done:
            report.skipped_done += 1
            if progress:
                progress(1)
            continue
        if stop_after is not None and handled >= stop_after:
            return report  # interrupted: the run stays unfinished and resumes next time
        handled += 1
        status, message = _import_official(ctx, row, village, ctx.clock.now())
        if status == "created":
            report.created += 1
        elif status == "exists":
            report.existing += 1
        else:
            report.errors.append((number, message))
        _record_row(ctx.sessions, run_id, number, status, message)
        if progress:
            progress(1)
    _finish(ctx.sessions, run_id, ctx.clock.now())
    return report


def _import_official(
    ctx: BulkContext, row: dict[str, str], village: Village, now: datetime
) -> tuple[str, str]:
    try:
        registration = _official(row, village, local_date(now), ctx)
    except RowProblem as problem:
        return "error", str(problem)
    if nik_is_registered(ctx.sessions, ctx.hash_key, registration.nik.value):
        # Checked first, so that a re-run records no consent for someone already there.
        return "exists", "NIK already registered"
    sender_id = make_sender_id(Channel.WHATSAPP, registration.phone)
    decision = ConsentDecision(
        channel=Channel.WHATSAPP,
        purpose=ConsentPurpose.REGISTRATION,
        granted=True,
        wording=BULK_CONSENT_WORDING,
        method=ConsentMethod.VILLAGE_PAPER,
    )
    try:
        consent = record_consent(ctx.sessions, ctx.hash_key, sender_id, decision, now)
        result = register_participant(
            ctx.sessions, ctx.cipher, ctx.hash_key, registration, sender_id, now, consent.id
        )
    except DuplicateNik:
        return "exists", "NIK already registered"
    with ctx.sessions.begin() as session:
        participant = session.scalar(
            select(Participant).where(Participant.reference == result.reference)
        )
        assert participant is not None
        participant.is_official = True
    # Known address for reminders; no message from them yet, so WhatsApp needs a template.
    ctx.channel_log.ensure_contact(sender_id)
    return "created", result.reference


def import_errors(sessions: sessionmaker[Session], run_id: int) -> Iterator[tuple[int, str]]:
    with sessions() as session:
        yield from session.execute(
            select(ImportRowResult.row_number, ImportRowResult.message)
            .where(ImportRowResult.run_id == run_id, ImportRowResult.status == "error")
            .order_by(ImportRowResult.row_number)
        ).tuples()
