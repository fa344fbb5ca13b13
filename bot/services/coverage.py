"""Village coverage report from the database (see bot/domain/coverage.py for the rules)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.db.models import Participant, Submission, Village
from bot.domain.access import EVERYTHING, Scope
from bot.domain.clock import local_date
from bot.domain.coverage import Coverage, ParticipantFacts, coverage
from bot.domain.payments import load_calendar
from bot.domain.submissions import owes_contributions
from bot.domain.villages import name_key
from bot.services.addresses.reachability import reachable
from bot.services.scoping import where_in_scope
from bot.services.unit_of_work import UnitOfWork


def coverage_report(
    uow: UnitOfWork, today: date, level: str = "village", *, scope: Scope = EVERYTHING
) -> list[Coverage]:
    """Coverage of every village (of ``scope``'s only, narrowed in SQL)."""
    with uow:
        session = uow.session
        villages = session.scalars(
            where_in_scope(select(Village), scope, Village.name, Village.district, Village.regency)
        ).all()
        known = {(v.name_key, v.district_key, v.regency_key): v for v in villages}
        areas = [((v.name, v.district, v.regency), v.households, v.officials) for v in villages]
        facts = []
        query = where_in_scope(
            select(
                Participant.village,
                Participant.district,
                Participant.regency,
                Participant.first_period,
                Participant.paid_through,
                Participant.is_official,
                Participant.created_at,
                reachable(Participant.id).label("reachable"),
                Submission.state.label("handover"),
                Submission.reason_code.label("refusal"),
            ).outerjoin(Submission, Submission.participant_id == Participant.id),
            scope,
            Participant.village,
            Participant.district,
            Participant.regency,
        )
        for row in session.execute(query):
            key = (name_key(row.village), name_key(row.district), name_key(row.regency))
            village = known.get(key)
            area = (
                (village.name, village.district, village.regency)
                if village
                else (row.village, row.district, row.regency)
            )
            facts.append(
                ParticipantFacts(
                    area=area,
                    first_period=row.first_period,
                    paid_through=row.paid_through,
                    is_official=row.is_official,
                    registered_on=local_date(row.created_at) if row.created_at else today,
                    reachable=bool(row.reachable),
                    contributing=owes_contributions(row.handover, row.refusal),
                )
            )
    return coverage(areas, facts, today, load_calendar(), level)
