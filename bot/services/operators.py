"""Operator accounts of the operations console (issue 32, point 4) and the audit of what
the console showed.

An operator sees one regency or a set of villages (bot.domain.access.Scope); accounts are
made with `sadar admin add-operator` (a hidden password prompt), never through the web.
Passwords are stored as PBKDF2 hashes (bot/infra/passwords.py); a login with an unknown
username costs the same hashing as one with a known username, so the time taken does not
tell which usernames exist. Every page or download that shows personal data, even masked,
leaves an AdminAuditEntry: who, with which scope, what, how many rows, and the path with
only the query values that name nobody."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.db.models import AdminAuditEntry, Operator, Village
from bot.db.timestamps import as_utc
from bot.domain.access import (
    Scope,
    Triple,
    Viewer,
    audit_path,
    parse_village,
    place_name_key,
    regency_key,
)
from bot.infra.passwords import ITERATIONS, MIN_PASSWORD_CHARS, hash_password, verify_password
from bot.services.unit_of_work import UnitOfWork

USERNAME = re.compile(r"[a-z0-9._-]{3,32}")
ADMINISTRATOR_NAME = "administrator"


class OperatorProblem(ValueError):
    """An account that cannot be created or changed as asked; the message says why, in
    English for whoever runs the CLI."""


@dataclass(frozen=True)
class OperatorView:
    id: int
    username: str
    scope: Scope
    active: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class SessionAccount:
    """What a console session is checked against on every request: the operator as a
    viewer, and their current password hash (a session opened before a change of password
    ends with it). Only active accounts have one."""

    viewer: Viewer
    password_hash: str


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    operator_id: int | None
    username: str
    page: str
    scope: str
    rows_shown: int
    path: str


def operator_username(text: str) -> str:
    """A username as stored (lower case); OperatorProblem if it cannot be one."""
    name = text.strip().lower()
    if not USERNAME.fullmatch(name):
        raise OperatorProblem(
            f"username {text!r}: 3 to 32 characters of a-z, 0-9, '.', '_' and '-'"
        )
    if name == ADMINISTRATOR_NAME:
        raise OperatorProblem(f"{ADMINISTRATOR_NAME!r} names the administrator")
    return name


def _password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise OperatorProblem(f"use at least {MIN_PASSWORD_CHARS} characters")
    return password


def _scope_of(operator: Operator) -> Scope:
    villages = frozenset((v, d, r) for v, d, r in json.loads(operator.villages or "[]"))
    return Scope(regency=operator.regency, villages=villages)


def _viewer(operator: Operator) -> Viewer:
    return Viewer(operator.id, operator.username, _scope_of(operator))


def _known_regency(uow: UnitOfWork, given: str) -> str:
    """The regency as the village table writes it; as typed when no table is imported."""
    written = " ".join(given.split())
    if not regency_key(written):
        raise OperatorProblem("the regency needs a name")
    regencies = set(uow.session.scalars(select(Village.regency).distinct()))
    if not regencies:
        return written
    for regency in sorted(regencies):
        if regency_key(regency) == regency_key(written):
            return regency
    raise OperatorProblem(
        f"regency {given!r} is not in the village table "
        f"(known: {', '.join(sorted(regencies)[:10])})"
    )


def _known_villages(uow: UnitOfWork, given: Iterable[str]) -> list[Triple]:
    """Each 'Desa/Kecamatan/Kabupaten' as the village table writes it (as typed when no
    table is imported)."""
    triples = []
    for text in given:
        try:
            triples.append((text, parse_village(text)))
        except ValueError as error:
            raise OperatorProblem(str(error)) from error
    if not triples:
        return []
    table_empty = uow.session.scalar(select(Village.id).limit(1)) is None
    found: list[Triple] = []
    for text, (village, district, regency) in triples:
        if table_empty:
            found.append((village, district, regency))
            continue
        candidates = uow.session.scalars(
            select(Village).where(
                Village.name_key == place_name_key(village),
                Village.district_key == place_name_key(district),
            )
        ).all()
        match = [v for v in candidates if regency_key(v.regency) == regency_key(regency)]
        if len(match) != 1:
            raise OperatorProblem(
                f"village {text!r} is not in the village table: import it first with "
                "`sadar villages import villages.csv`"
            )
        found.append((match[0].name, match[0].district, match[0].regency))
    return sorted(set(found))


def create_operator(
    uow: UnitOfWork,
    username: str,
    password: str,
    *,
    regency: str | None = None,
    villages: Iterable[str] = (),
    now: datetime,
    iterations: int = ITERATIONS,
) -> int:
    """A new active operator seeing ``regency`` or ``villages`` ('Desa/Kecamatan/Kabupaten',
    checked against the village table when one is imported); the new id."""
    name = operator_username(username)
    _password(password)
    asked_villages = list(villages)
    if regency is not None and asked_villages:
        raise OperatorProblem("give a regency or villages, not both")
    if regency is None and not asked_villages:
        raise OperatorProblem("an operator sees a regency or some villages: give one")
    with uow:
        session = uow.session
        if session.scalar(select(Operator.id).where(Operator.username == name)) is not None:
            raise OperatorProblem(f"username {name!r} is taken")
        known_regency = _known_regency(uow, regency) if regency is not None else None
        known_villages = _known_villages(uow, asked_villages)
        operator = Operator(
            username=name,
            password_hash=hash_password(password, iterations),
            regency=known_regency,
            villages=json.dumps([list(t) for t in known_villages], ensure_ascii=False),
            active=True,
            created_at=now,
        )
        session.add(operator)
        try:
            session.flush()
        except IntegrityError as error:  # the same name, created at the same moment
            raise OperatorProblem(f"username {name!r} is taken") from error
        operator_id = operator.id
        uow.commit()
    return operator_id


def _view(operator: Operator) -> OperatorView:
    return OperatorView(
        id=operator.id,
        username=operator.username,
        scope=_scope_of(operator),
        active=operator.active,
        created_at=as_utc(operator.created_at),
        last_login_at=as_utc(operator.last_login_at),
    )


def list_operators(uow: UnitOfWork) -> list[OperatorView]:
    """Every account, active first, by username (no password hashes)."""
    with uow:
        rows = uow.session.scalars(
            select(Operator).order_by(Operator.active.desc(), Operator.username)
        ).all()
        return [_view(operator) for operator in rows]


def _named(uow: UnitOfWork, username: str) -> Operator:
    operator = uow.session.scalar(
        select(Operator).where(Operator.username == username.strip().lower()).with_for_update()
    )
    if operator is None:
        raise OperatorProblem(f"no operator {username.strip().lower()!r}")
    return operator


def deactivate_operator(uow: UnitOfWork, username: str) -> bool:
    """Take the account's access away at once (its open sessions end at their next
    request); False when it was inactive already."""
    with uow:
        operator = _named(uow, username)
        was_active = operator.active
        operator.active = False
        uow.commit()
    return was_active


def set_password(
    uow: UnitOfWork, username: str, password: str, *, iterations: int = ITERATIONS
) -> None:
    """A new password for an operator; their open sessions end (bot/gateway/admin_auth.py
    compares each session with the current hash)."""
    _password(password)
    with uow:
        operator = _named(uow, username)
        operator.password_hash = hash_password(password, iterations)
        uow.commit()


@cache
def _dummy_hash() -> str:
    """What an unknown username's password is checked against: the same cost as a real one."""
    return hash_password("no operator has this password", ITERATIONS)


def authenticate(uow: UnitOfWork, username: str, password: str, now: datetime) -> Viewer | None:
    """The operator ``username`` with ``password`` if the account exists and is active,
    else None, taking about as long either way. Runs PBKDF2: call it off the event loop
    (bot.gateway.admin_auth.authenticate_operator uses the one hashing thread)."""
    name = username.strip().lower()
    with uow:
        operator = (
            uow.session.scalar(select(Operator).where(Operator.username == name))
            if USERNAME.fullmatch(name)
            else None
        )
        if operator is None:
            verify_password(password, _dummy_hash())
            return None
        if not verify_password(password, operator.password_hash) or not operator.active:
            return None
        operator.last_login_at = now
        viewer = _viewer(operator)
        uow.commit()
    return viewer


def session_account(uow: UnitOfWork, operator_id: int) -> SessionAccount | None:
    """The active operator behind a console session, or None (unknown or deactivated)."""
    with uow:
        operator = uow.session.get(Operator, operator_id)
        if operator is None or not operator.active:
            return None
        return SessionAccount(_viewer(operator), operator.password_hash)


def record_view(
    uow: UnitOfWork, viewer: Viewer, page: str, rows_shown: int, path: str, now: datetime
) -> None:
    """Audit one page or download that showed ``rows_shown`` rows of personal data to
    ``viewer``. ``path`` may carry its query string: values that could name a person are
    dropped (bot.domain.access.audit_path)."""
    with uow:
        uow.session.add(
            AdminAuditEntry(
                at=now,
                operator_id=viewer.operator_id,
                username=(viewer.name if viewer.operator_id is not None else ADMINISTRATOR_NAME)[
                    :32
                ],
                page=page[:40],
                scope=viewer.scope.describe()[:100],
                rows_shown=max(0, rows_shown),
                path=audit_path(path),
            )
        )
        uow.commit()


def audit_log(uow: UnitOfWork, limit: int = 100) -> list[AuditLine]:
    """The latest views, newest first."""
    with uow:
        rows = uow.session.scalars(
            select(AdminAuditEntry)
            .order_by(AdminAuditEntry.at.desc(), AdminAuditEntry.id.desc())
            .limit(limit)
        ).all()
        return [
            AuditLine(
                at=as_utc(row.at),
                operator_id=row.operator_id,
                username=row.username,
                page=row.page,
                scope=row.scope,
                rows_shown=row.rows_shown,
                path=row.path,
            )
            for row in rows
        ]
