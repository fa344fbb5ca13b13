"""Telling a resident what an agent did for them (issue 28), and the agent whether the
resident heard: after a walk-in registration read aloud and after cash or a jimpitan
recorded for them. One place, so every path says it the same way; the rules (addresses,
WhatsApp's window, the approved template) are bot.services.resident_notices', the wording
domain.yml's. A resident who cannot be reached is counted and told to the agent, never an
error: the agent is the one who can tell them in person."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.outbox import get_outbox
from actions.responses import response_text
from bot.app_context import AppContext
from bot.domain.formatting import bulan, rupiah
from bot.domain.senders import Channel
from bot.services.agents import AgentRef
from bot.services.payments import RecordedPayment
from bot.services.resident_notices import NoticeResult, ResidentNotice, Told


@dataclass(frozen=True)
class MemberNotice:
    """One jimpitan member's notice, with how the agent names them if it does not reach
    them (masked name and reference) and where it may go."""

    label: str
    addresses: Sequence[str]
    notice: ResidentNotice


def payment_notice(
    domain: DomainDict,
    agent: AgentRef,
    payment: RecordedPayment,
    kind: Literal["payment", "jimpitan"],
    group_receipt: str = "",
) -> ResidentNotice:
    """What a resident is told of cash an agent recorded for them: their reference and
    receipt, the months and amount, the month now paid through, the agent, "cek status"."""
    values = {
        "reference": payment.participant_reference,
        "agent": agent.name,
        "village": agent.village,
        "months": payment.months,
        "amount": rupiah(payment.amount),
        "receipt": payment.receipt,
        "group_receipt": group_receipt,
        "paid_through": bulan(payment.period_to) if payment.period_to else "-",
    }
    return ResidentNotice(
        text=response_text(domain, f"utter_resident_{kind}_notice").format(**values),
        recorded=response_text(domain, f"utter_resident_notice_{kind}").format(**values),
        agent_name=agent.name,
        reference=payment.participant_reference,
    )


def _channel_label(domain: DomainDict, channel: Channel | None) -> str:
    return response_text(domain, f"utter_channel_label_{(channel or Channel.WHATSAPP).value}")


async def _tell(context: AppContext, addresses: Sequence[str], notice: ResidentNotice) -> Told:
    return await context.resident_notices.tell_first(
        get_outbox(context), addresses, notice, context.clock.now()
    )


async def notify_resident(
    context: AppContext,
    dispatcher: CollectingDispatcher,
    domain: DomainDict,
    addresses: Sequence[str],
    notice: ResidentNotice,
) -> NoticeResult:
    """The resident hears on the first of ``addresses`` that takes it; then the agent is
    told whether they did (utter_agent_resident_notice_<result>)."""
    told = await _tell(context, addresses, notice)
    dispatcher.utter_message(
        response=f"utter_agent_resident_notice_{told.result.value}",
        via=_channel_label(domain, told.channel),
    )
    return told.result


async def notify_members(
    context: AppContext,
    dispatcher: CollectingDispatcher,
    members: Sequence[MemberNotice],
) -> list[NoticeResult]:
    """Every jimpitan member hears of their own months (sent side by side: the outbox
    paces them); the agent is told how many were told and which could not be reached."""
    told = await asyncio.gather(*(_tell(context, m.addresses, m.notice) for m in members))
    missed = [
        member.label
        for member, outcome in zip(members, told, strict=True)
        if outcome.result is not NoticeResult.SENT
    ]
    if not missed:
        dispatcher.utter_message(response="utter_agent_members_notice_all_sent", count=len(members))
    else:
        dispatcher.utter_message(
            response="utter_agent_members_notice_some_not_told",
            count=len(members),
            told=len(members) - len(missed),
            not_told=len(missed),
            members=", ".join(missed),
        )
    return [t.result for t in told]
