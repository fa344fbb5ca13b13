"""Village coverage report from the database (see bot/domain/coverage.py for the rules)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.db.models import Participant, Submission, Village
from bot.domain.clock import local_date
from bot.domain.coverage import Coverage, ParticipantFacts, coverage
from bot.domain.payments import load_calendar
from bot.domain.submissions import owes_contributions
from bot.domain.villages import name_key
from bot.services.addresses.reachability import reachable
from bot.services.unit_of_work import UnitOfWork


def coverage_report(uow: UnitOfWork, today: date, level: str = "village") -> list[Coverage]:
    with uow:
        session = uow.session
        villages = session.scalars(select(Village)).all()
        known = {(v.name_key, v.district_key, v.regency_key): v for v in villages}
        areas = [((v.name, v.district, v.regency), v.households, v.officials) for v in villages]
        facts = []
        for row in session.execute(
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
            ).outerjoin(Submission, Submission.participant_id == Participant.id)
        ):
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
