"""Who in an agent's village no reminder can reach ("warga tanpa nomor WA"), and why, for
the agent to follow up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from bot.db.models import Participant
from bot.domain.addresses import Unreachable, why_unreachable
from bot.domain.villages import area_key
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import mask_name
from bot.services.addresses.reachability import address_states, reachable
from bot.services.agents import AgentRef
from bot.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class UnreachableResident:
    reference: str
    name: str
    why: Unreachable


def unreachable_in_village(
    uow: UnitOfWork, cipher: PiiCipher, agent: AgentRef
) -> list[UnreachableResident]:
    """Participants of the agent's village no reminder can reach, with why; names masked."""
    with uow:
        session = uow.session
        found = []
        village = area_key(agent)[0]
        for participant in session.scalars(
            select(Participant)
            # A coarse cut in SQL (villages are free text); the exact match is area_key.
            .where(func.lower(Participant.village).contains(village, autoescape=True))
            .where(~reachable(Participant.id))
            .order_by(Participant.id)
        ):
            if area_key(participant) != area_key(agent):
                continue
            why = why_unreachable(address_states(session, participant.id)) or Unreachable.WEB_ONLY
            name = mask_name(cipher.decrypt(participant.full_name_encrypted))
            found.append(UnreachableResident(participant.reference, name, why))
    return found
