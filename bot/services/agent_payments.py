"""An agent records cash in chat: one resident ("bayar SDR-… 3 bulan") or a jimpitan group
("jimpitan SDR-ketua SDR-anggota … 2 bulan"). One use case, one transaction: the request's
audit event, the scope and daily-cap checks and the payments commit together, so a payment
never exists without its audit event and two requests cannot both slip under the cap."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from bot.db.models import Agent
from bot.infra.crypto import PiiCipher
from bot.services.addresses.reachability import reachable_addresses
from bot.services.agents import (
    AgentRef,
    audit_agent,
    participant_name,
    participants_in_scope,
    residents_paid_for_today,
)
from bot.services.payments import (
    GroupPayment,
    PaymentRejected,
    PaymentSource,
    RecordedPayment,
    record_group_payment,
    record_payment,
)
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
AUDIT_ACTION = "agent_record_payment"


class AgentPaymentResult(StrEnum):
    RECORDED = "recorded"
    GROUP_RECORDED = "group_recorded"
    #: A reference that does not exist or is outside the agent's village (told alike).
    UNKNOWN_REFERENCE = "unknown_reference"
    #: Many months at once: the agent must repeat the request with "ya".
    NEEDS_CONFIRMATION = "needs_confirmation"
    DAILY_CAP = "daily_cap"
    REFUSED = "refused"


@dataclass(frozen=True)
class AgentPaymentLimits:
    confirm_months_over: int
    max_residents_per_day: int


@dataclass(frozen=True)
class PaidMember:
    """A jimpitan member as the agent is told: masked name, reference, and the month they
    are now paid through."""

    name: str
    reference: str
    paid_through: date | None


@dataclass(frozen=True)
class AgentPaymentOutcome:
    result: AgentPaymentResult
    unknown_reference: str | None = None
    payment: RecordedPayment | None = None
    resident_name: str | None = None
    group: GroupPayment | None = None
    #: A group's members in the order the agent wrote them (the leader first).
    members: tuple[PaidMember, ...] = ()
    #: Where each paid resident is told of it (reference -> reachable addresses, reminder
    #: order; empty when none): read in the payment's transaction. Never logged unmasked.
    addresses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def record_agent_payment(
    uow: UnitOfWork,
    cipher: PiiCipher,
    agent: AgentRef,
    references: list[str],
    months: int,
    confirmed: bool,
    limits: AgentPaymentLimits,
    now: datetime,
    today: date,
) -> AgentPaymentOutcome:
    """Check and record an agent's cash payment; the first reference of a group is its
    leader. Every request is audited, refused ones too."""
    with uow:
        # The agent's row locked: two requests of one agent are checked one after the other.
        uow.session.get(Agent, agent.id, with_for_update=True)
        audit_agent(uow, agent, AUDIT_ACTION, now)
        outcome = _checked(uow, agent, references, months, confirmed, limits, today)
        if outcome is not None:
            uow.commit()
            return outcome
        ids = participants_in_scope(uow, agent, references)
        try:
            if len(references) == 1:
                payment = record_payment(
                    uow,
                    ids[references[0]],
                    source=PaymentSource.AGENT_CASH,
                    recorded_by=agent.actor,
                    months=months,
                    now=now,
                )
                outcome = AgentPaymentOutcome(
                    AgentPaymentResult.RECORDED,
                    payment=payment,
                    resident_name=participant_name(uow, cipher, ids[references[0]]),
                    addresses=_addresses(uow, cipher, ids, references),
                )
            else:
                group = record_group_payment(
                    uow,
                    ids[references[0]],
                    [ids[r] for r in references[1:]],
                    months,
                    agent.actor,
                    now=now,
                )
                paid = {member.participant_reference: member for member in group.members}
                outcome = AgentPaymentOutcome(
                    AgentPaymentResult.GROUP_RECORDED,
                    group=group,
                    members=tuple(
                        PaidMember(
                            participant_name(uow, cipher, ids[reference]),
                            reference,
                            paid[reference].period_to,
                        )
                        for reference in dict.fromkeys(references)
                    ),
                    addresses=_addresses(uow, cipher, ids, references),
                )
        except PaymentRejected as problem:
            # The reason is for operators (English, in the log); the agent is told what to
            # check. Nothing of the payment stays; the refused request stays audited.
            log.warning("agent %d payment refused: %s", agent.id, problem)
            uow.rollback()
            audit_agent(uow, agent, AUDIT_ACTION, now)
            outcome = AgentPaymentOutcome(AgentPaymentResult.REFUSED)
        uow.commit()
    return outcome


def _addresses(
    uow: UnitOfWork, cipher: PiiCipher, ids: Mapping[str, int], references: list[str]
) -> dict[str, tuple[str, ...]]:
    """Each paid resident's reachable addresses: they are told what the agent recorded."""
    return {
        reference: reachable_addresses(uow.session, cipher, ids[reference])
        for reference in dict.fromkeys(references)
    }


def _checked(
    uow: UnitOfWork,
    agent: AgentRef,
    references: list[str],
    months: int,
    confirmed: bool,
    limits: AgentPaymentLimits,
    today: date,
) -> AgentPaymentOutcome | None:
    """Why the request cannot be recorded as it is, or None."""
    # Only residents of the agent's village (or registered by them); a reference from
    # elsewhere is answered exactly like one that does not exist.
    ids = participants_in_scope(uow, agent, references)
    unknown = [r for r in references if r not in ids]
    if unknown:
        return AgentPaymentOutcome(
            AgentPaymentResult.UNKNOWN_REFERENCE, unknown_reference=unknown[0]
        )
    if months > limits.confirm_months_over and not confirmed:
        return AgentPaymentOutcome(AgentPaymentResult.NEEDS_CONFIRMATION)
    paid_today = residents_paid_for_today(uow, agent, today)
    if paid_today + len(references) > limits.max_residents_per_day:
        log.warning("agent %d reached the daily cap of cash payments", agent.id)
        return AgentPaymentOutcome(AgentPaymentResult.DAILY_CAP)
    return None
