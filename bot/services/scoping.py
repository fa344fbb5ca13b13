"""A console account's scope (bot.domain.access.Scope) as SQL: the rows of one regency or
of some villages, narrowed in the database so an operator's page never loads another
area's residents. Names are compared as the domain compares them: trimmed, in lower case,
with the prefixes ``name_key`` and ``regency_label`` drop ("Desa", "Kabupaten", "Kab.")."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, String, and_, cast, false, func, literal, or_
from sqlalchemy.orm import aliased

from bot.db.models import Agent, Participant, Payment, Submission
from bot.domain.access import (
    Scope,
    place_name_key,
    place_spellings,
    regency_key,
    regency_spellings,
)

S = TypeVar("S", bound=Select[Any])

#: The agent who collected a payment, for a payment whose participant erased their data
#: (its cash still went into that agent's village's box: bot/services/payments.py).
Collector = aliased(Agent, name="collector")


def _spelled(column: ColumnElement[Any] | Any, spellings: tuple[str, ...]) -> ColumnElement[bool]:
    return func.lower(func.trim(column)).in_(spellings)


def in_scope(
    scope: Scope,
    village: ColumnElement[Any] | Any,
    district: ColumnElement[Any] | Any,
    regency: ColumnElement[Any] | Any,
) -> ColumnElement[bool] | None:
    """The condition that a row of this village, district and regency is in ``scope``
    (None: everything, no condition). A NULL kecamatan matches by village and regency,
    a NULL regency matches nothing (bot.domain.access)."""
    if scope.everything:
        return None
    if scope.regency is not None:
        return _spelled(regency, regency_spellings(regency_key(scope.regency)))
    villages = [
        and_(
            _spelled(village, place_spellings(place_name_key(v))),
            or_(district.is_(None), _spelled(district, place_spellings(place_name_key(d)))),
            _spelled(regency, regency_spellings(regency_key(r))),
        )
        for v, d, r in sorted(scope.villages)
    ]
    return or_(false(), *villages)


def where_in_scope(
    query: S,
    scope: Scope,
    village: ColumnElement[Any] | Any,
    district: ColumnElement[Any] | Any,
    regency: ColumnElement[Any] | Any,
) -> S:
    condition = in_scope(scope, village, district, regency)
    return query if condition is None else query.where(condition)


def payments_in_scope(query: S, scope: Scope, *, participant_joined: bool) -> S:
    """Payments of ``scope``: by their participant's village, or once the participant
    erased their data, by the collecting agent's. ``participant_joined``: the query
    already outer-joins Participant on the payment."""
    if scope.everything:
        return query
    if not participant_joined:
        query = query.outerjoin(Participant, Participant.id == Payment.participant_id)
    query = query.outerjoin(
        Collector,
        and_(
            Participant.id.is_(None),
            Payment.recorded_by == literal("agent:") + cast(Collector.id, String),
        ),
    )
    return where_in_scope(
        query,
        scope,
        func.coalesce(Participant.village, Collector.village),
        func.coalesce(Participant.district, Collector.district),
        func.coalesce(Participant.regency, Collector.regency),
    )


def submissions_in_scope(query: S, scope: Scope) -> S:
    """Submissions of ``scope``: by their village and regency, and their participant's
    kecamatan while the participant is there (a submission does not keep one)."""
    if scope.everything:
        return query
    if scope.villages:
        query = query.outerjoin(Participant, Participant.id == Submission.participant_id)
    return where_in_scope(
        query, scope, Submission.village, Participant.district, Submission.regency
    )
