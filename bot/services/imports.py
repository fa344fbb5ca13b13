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

from bot.db.models import ImportRowResult, ImportRun, Village
from bot.domain.addresses import Proof
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
from bot.infra.crypto import PiiCipher
from bot.services.channel_log import ChannelLog
from bot.services.participants import DuplicateNik, register_with_consent
from bot.services.unit_of_work import UnitOfWork
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
    #: Rows imported whose village the national register does not know (row, name).
    not_in_register: list[tuple[int, str]] = field(default_factory=list)


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


@dataclass(frozen=True)
class VillageView(VillageRecord):
    """A village as stored: its record and its id."""

    id: int


def _start_run(uow: UnitOfWork, kind: str, path: Path, total: int) -> tuple[int, set[int]]:
    """The unfinished run of this very file (resume), or a new one; and its rows done."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with uow:
        session = uow.session
        run = session.scalar(
            select(ImportRun)
            .where(ImportRun.kind == kind, ImportRun.file_sha256 == digest)
            .where(ImportRun.finished_at.is_(None))
            .order_by(ImportRun.id.desc())
        )
        if run is None:
            run = ImportRun(kind=kind, file_sha256=digest, rows_total=total)
            session.add(run)
            uow.flush()
        run_id = run.id
        done = set(
            session.scalars(
                select(ImportRowResult.row_number).where(ImportRowResult.run_id == run_id)
            )
        )
        uow.commit()
    return run_id, done


def _record_row(uow: UnitOfWork, run_id: int, row_number: int, status: str, message: str) -> None:
    with uow:
        uow.session.add(
            ImportRowResult(run_id=run_id, row_number=row_number, status=status, message=message)
        )
        uow.commit()


def _finish(uow: UnitOfWork, run_id: int, now: datetime) -> None:
    with uow:
        run = uow.session.get(ImportRun, run_id)
        assert run is not None
        run.finished_at = now
        uow.commit()


def import_villages(
    units: Callable[[], UnitOfWork],
    path: Path,
    clock: Clock,
    progress: Callable[[int], None] | None = None,
    locate: Callable[[VillageRecord], str | None] | None = None,
) -> ImportReport:
    """Create or update villages (matched by name, district and regency); each row and its
    outcome in one transaction, so an interrupted run resumes exactly where it stopped.
    ``locate`` gives a village's Kemendagri code from the national register."""
    rows = read_rows(path, VILLAGE_COLUMNS)
    run_id, done = _start_run(units(), "villages", path, len(rows))
    report = ImportReport(run_id, len(rows))
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        if number in done:
            report.skipped_done += 1
        else:
            try:
                record = village_from_row(row)
            except RowProblem as problem:
                report.errors.append((number, str(problem)))
                _record_row(units(), run_id, number, "error", str(problem))
            else:
                code = locate(record) if locate else None
                if locate and code is None:
                    report.not_in_register.append((number, record.name))
                with units() as uow:
                    created = _upsert_village(uow, record, code)
                    status = "created" if created else "updated"
                    _record_row(uow, run_id, number, status, "")
                    uow.commit()
                report.created += created
                report.existing += not created
        if progress:
            progress(1)
    _finish(units(), run_id, clock.now())
    return report


def _upsert_village(uow: UnitOfWork, record: VillageRecord, code: str | None = None) -> bool:
    name, district, regency = record.key
    with uow:
        session = uow.session
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
        village.code = code
        village.households, village.officials = record.households, record.officials
        uow.commit()
    return created


def find_village(uow: UnitOfWork, name: str, district: str | None = None) -> VillageView | None:
    with uow:
        query = select(Village).where(Village.name_key == name_key(name))
        if district:
            query = query.where(Village.district_key == name_key(district))
        found = uow.session.scalars(query).all()
        if len(found) != 1:
            return None
        village = found[0]
        return VillageView(
            name=village.name,
            district=village.district,
            regency=village.regency,
            province=village.province,
            households=village.households,
            officials=village.officials,
            id=village.id,
        )


@dataclass(frozen=True)
class BulkContext:
    units: Callable[[], UnitOfWork]
    cipher: PiiCipher
    hash_key: str
    channel_log: ChannelLog
    min_age: int
    max_age: int
    #: Each row is registered at the clock's time (a long import may cross midnight).
    clock: Clock


def _official(
    row: dict[str, str], village: VillageView, today: date, ctx: BulkContext
) -> Registration:
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
    village: VillageView,
    progress: Callable[[int], None] | None = None,
    stop_after: int | None = None,
) -> ImportReport:
    """Register a village's officials from CSV (``OFFICIAL_COLUMNS``, optional with_jht).
    Reminders reach them on WhatsApp at the phone given. Each official (consent, participant,
    address, and the row's outcome) is one transaction. ``stop_after`` (tests) stops early
    as an interruption would."""
    rows = read_rows(path, OFFICIAL_COLUMNS)
    run_id, done = _start_run(ctx.units(), f"officials:{village.id}", path, len(rows))
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
        status, message = _import_official(ctx, run_id, number, row, village, ctx.clock.now())
        if status == "created":
            report.created += 1
        elif status == "exists":
            report.existing += 1
        else:
            report.errors.append((number, message))
        if progress:
            progress(1)
    _finish(ctx.units(), run_id, ctx.clock.now())
    return report


def _import_official(
    ctx: BulkContext,
    run_id: int,
    number: int,
    row: dict[str, str],
    village: VillageView,
    now: datetime,
) -> tuple[str, str]:
    """One row, in one transaction with its recorded outcome."""
    try:
        registration = _official(row, village, local_date(now), ctx)
    except RowProblem as problem:
        _record_row(ctx.units(), run_id, number, "error", str(problem))
        return "error", str(problem)
    sender_id = make_sender_id(Channel.WHATSAPP, registration.phone)
    decision = ConsentDecision(
        channel=Channel.WHATSAPP,
        purpose=ConsentPurpose.REGISTRATION,
        granted=True,
        wording=BULK_CONSENT_WORDING,
        method=ConsentMethod.VILLAGE_PAPER,
    )
    with ctx.units() as uow:
        try:
            result = register_with_consent(
                uow,
                ctx.cipher,
                ctx.hash_key,
                registration,
                sender_id,
                decision,
                now,
                is_official=True,
                proof=Proof.VILLAGE_RECORDS,
            )
        except DuplicateNik:
            status, message = "exists", "NIK already registered"
        else:
            # register_with_consent added the address's contact (no message from them yet,
            # so WhatsApp needs a template).
            status, message = "created", result.reference
        _record_row(uow, run_id, number, status, message)
        uow.commit()
    return status, message


def import_errors(uow: UnitOfWork, run_id: int) -> Iterator[tuple[int, str]]:
    with uow:
        yield from uow.session.execute(
            select(ImportRowResult.row_number, ImportRowResult.message)
            .where(ImportRowResult.run_id == run_id, ImportRowResult.status == "error")
            .order_by(ImportRowResult.row_number)
        ).tuples()
