"""Perisai agent requests in chat, by the menu's numbers or in the agent's own words (the
NLU's agent_* intents), and an enrolled agent's greeting. Agent powers come only from the
identity the agent was enrolled with (bot.services.agents.agent_for_sender), checked on
every request: no wording, payload or slot can grant them."""

from __future__ import annotations

import asyncio
import logging

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.outbox import get_outbox
from actions.payments import jimpitan_members, report_own_payment
from actions.reading import latest_entity_values, latest_intent, message_from, message_text
from actions.resident_notices import MemberNotice, notify_members, notify_resident, payment_notice
from actions.responses import response_text
from bot import messages
from bot.app_context import AppContext, get_app_context
from bot.domain.formatting import bulan, rupiah
from bot.domain.submissions import RejectionReason, SubmissionState
from bot.services.addresses.agent_report import unreachable_in_village
from bot.services.agent_payments import (
    AgentPaymentLimits,
    AgentPaymentResult,
    record_agent_payment,
)
from bot.services.agents import (
    AgentRef,
    ResidentLine,
    agent_for_sender,
    arrears_in_village,
    audit_agent,
    month_summary,
    residents_registered_by,
)
from bot.services.disputes import (
    DisputeOutcome,
    DisputeResult,
    decide_dispute,
    request_dispute,
    tell_release,
)
from bot.services.handoff import AgentTicket, agent_tickets, ticket_label
from bot.understanding.interpreter import yes_no
from bot.understanding.payment_messages import read_payment_request
from nlu.parsing.lookups import village_by_name

log = logging.getLogger(__name__)

#: Lines that fit one phone screen; the rest is summarised.
MAX_LINES = 12


async def enrolled_agent(context: AppContext, tracker: Tracker) -> AgentRef | None:
    """The active agent this conversation belongs to; checked on every agent request."""
    return await asyncio.to_thread(
        agent_for_sender, context.unit_of_work(), context.hash_key, tracker.sender_id
    )


async def agent_for_request(
    context: AppContext, tracker: Tracker, dispatcher: CollectingDispatcher, request: str
) -> AgentRef | None:
    """The enrolled agent making ``request``, audited; anyone else is told it is for agents
    only (and gets None)."""
    agent = await enrolled_agent(context, tracker)
    if agent is None:
        dispatcher.utter_message(response="utter_agent_only")
        return None
    await asyncio.to_thread(
        audit_agent, context.unit_of_work(), agent, request, context.clock.now()
    )
    return agent


def _list(
    dispatcher: CollectingDispatcher,
    domain: DomainDict,
    header: str,
    lines: list[str],
) -> None:
    shown = lines[:MAX_LINES]
    text = "\n".join([header, *shown])
    if len(lines) > MAX_LINES:
        more = response_text(domain, "utter_agent_list_more").format(more=len(lines) - MAX_LINES)
        text += "\n" + more
    dispatcher.utter_message(text=text)


async def tell_residents(
    context: AppContext, dispatcher: CollectingDispatcher, domain: DomainDict, agent: AgentRef
) -> None:
    """The residents the agent registered, with status and arrears (names masked)."""
    residents = await asyncio.to_thread(
        residents_registered_by, context.unit_of_work(), context.cipher, agent,
        context.clock.today(),
    )  # fmt: skip
    if not residents:
        dispatcher.utter_message(response="utter_agent_residents_none")
        return
    line = response_text(domain, "utter_agent_resident_line")
    _list(
        dispatcher,
        domain,
        response_text(domain, "utter_agent_residents_header").format(count=len(residents)),
        [_resident(line, r, domain) for r in residents],
    )


def _resident(line: str, resident: ResidentLine, domain: DomainDict) -> str:
    if resident.handover is not None and resident.handover is not SubmissionState.ACCEPTED:
        # Nothing to pay before BPJS accepts: the agent sees where the hand-over stands,
        # and why a rejection happened (to fix it with the resident).
        stage = response_text(domain, f"utter_agent_handover_{resident.handover.value}")
        return response_text(domain, "utter_agent_resident_handover_line").format(
            name=resident.name,
            reference=resident.reference,
            stage=stage.format(
                reason=messages.REJECTION_FOR_AGENT[resident.reason or RejectionReason.OTHER]
            ),
        )
    status = response_text(domain, f"utter_status_label_{resident.status}")
    return line.format(
        name=resident.name,
        reference=resident.reference,
        status=status,
        months=resident.months_owed,
    )


class ActionGreet(Action):
    """ "halo", "assalamualaikum", "pagi": an enrolled agent gets their village and menu
    (checked every time, like every agent request); anyone else the residents' greeting."""

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        agent = await enrolled_agent(context, tracker)
        if agent is None:
            dispatcher.utter_message(response="utter_greet")
            return []
        await asyncio.to_thread(
            audit_agent, context.unit_of_work(), agent, "agent_menu", context.clock.now()
        )
        dispatcher.utter_message(
            response="utter_agent_greet", name=agent.name.split()[0], village=agent.village
        )
        dispatcher.utter_message(response="utter_agent_menu", village=agent.village)
        return []


class ActionAgent(Action):
    """The agent menu's lists and month summary, asked by number or in words."""

    def name(self) -> str:
        return "action_agent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        intent = latest_intent(tracker) or "agent_menu"
        agent = await agent_for_request(context, tracker, dispatcher, intent)
        if agent is None:
            return []
        today = context.clock.today()
        if intent == "agent_my_residents":
            await tell_residents(context, dispatcher, domain, agent)
        elif intent == "agent_arrears":
            owing = await asyncio.to_thread(
                arrears_in_village, context.unit_of_work(), context.cipher, agent, today
            )
            if not owing:
                dispatcher.utter_message(response="utter_agent_arrears_none", village=agent.village)
                return []
            line = response_text(domain, "utter_agent_arrears_line")
            _list(
                dispatcher,
                domain,
                response_text(domain, "utter_agent_arrears_header").format(
                    count=len(owing), village=agent.village
                ),
                [
                    line.format(
                        name=r.name,
                        reference=r.reference,
                        months=r.months_owed,
                        amount=rupiah(r.amount_owed),
                    )
                    for r in owing
                ],
            )
        elif intent == "agent_unreachable":
            unreachable = await asyncio.to_thread(
                unreachable_in_village, context.unit_of_work(), context.cipher, agent
            )
            if not unreachable:
                dispatcher.utter_message(
                    response="utter_agent_unreachable_none", village=agent.village
                )
                return []
            line = response_text(domain, "utter_agent_unreachable_line")
            _list(
                dispatcher,
                domain,
                response_text(domain, "utter_agent_unreachable_header").format(
                    count=len(unreachable), village=agent.village
                ),
                [
                    line.format(
                        name=r.name,
                        reference=r.reference,
                        why=response_text(domain, f"utter_agent_unreachable_why_{r.why.value}"),
                    )
                    for r in unreachable
                ],
            )
            dispatcher.utter_message(response="utter_agent_unreachable_help")
        elif intent == "agent_tickets":
            tickets = await asyncio.to_thread(
                agent_tickets, context.unit_of_work(), context.cipher, agent, context.clock.now()
            )
            if not tickets:
                dispatcher.utter_message(response="utter_agent_tickets_none", village=agent.village)
                return []
            line = response_text(domain, "utter_agent_ticket_line")
            _list(
                dispatcher,
                domain,
                response_text(domain, "utter_agent_tickets_header").format(count=len(tickets)),
                [self._ticket(line, t, agent, domain) for t in tickets],
            )
            dispatcher.utter_message(response="utter_agent_tickets_help")
        elif intent == "agent_summary":
            summary = await asyncio.to_thread(month_summary, context.unit_of_work(), agent, today)
            dispatcher.utter_message(
                response="utter_agent_summary",
                month=bulan(today.replace(day=1)),
                registered=summary.registered,
                payments=summary.payments,
                amount=rupiah(summary.amount),
            )
        else:
            dispatcher.utter_message(response="utter_agent_menu", village=agent.village)
        return []

    @staticmethod
    def _ticket(line: str, ticket: AgentTicket, agent: AgentRef, domain: DomainDict) -> str:
        label = ticket_label(ticket.number)
        state = response_text(domain, f"utter_agent_ticket_state_{ticket.state}").format(
            ticket=label, minutes=int(ticket.idle.total_seconds() // 60)
        )
        return line.format(
            ticket=label,
            village=ticket.village or agent.village,
            state=state,
            last=f'"{ticket.last_message}"' if ticket.last_message else "-",
        )


class ActionAgentPayment(Action):
    """An agent records cash: "bayar SDR-… 3 bulan", or a jimpitan group ("jimpitan
    SDR-ketua SDR-anggota … 2 bulan", the first reference is the leader). From anyone who is
    not an enrolled agent the same words are only a report of their own payment, and so is
    an agent's "sudah bayar" that names no reference (the agent's own payment)."""

    def name(self) -> str:
        return "action_agent_payment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        agent = await enrolled_agent(context, tracker)
        request = read_payment_request(message_text(tracker))
        own_report = latest_intent(tracker) == "report_payment" and not request.references
        if agent is None or own_report:
            await report_own_payment(context, dispatcher, tracker)
            return []
        references, months = request.references, request.months
        if not references or months is None:  # an agent must say it: nothing is assumed
            jimpitan = latest_intent(tracker) == "agent_jimpitan" or len(references) > 1
            dispatcher.utter_message(
                response="utter_agent_jimpitan_help" if jimpitan else "utter_agent_payment_help"
            )
            return []
        settings = context.settings
        outcome = await asyncio.to_thread(
            record_agent_payment,
            context.unit_of_work(),
            context.cipher,
            agent,
            references,
            months,
            request.confirmed,
            AgentPaymentLimits(
                settings.agent_confirm_months_over, settings.agent_max_residents_per_day
            ),
            context.clock.now(),
            context.clock.today(),
        )
        result = outcome.result
        if result is AgentPaymentResult.UNKNOWN_REFERENCE:
            dispatcher.utter_message(
                response="utter_agent_payment_unknown_reference",
                reference=outcome.unknown_reference,
            )
        elif result is AgentPaymentResult.NEEDS_CONFIRMATION:
            dispatcher.utter_message(
                response="utter_agent_payment_confirm", months=months, count=len(references)
            )
        elif result is AgentPaymentResult.DAILY_CAP:
            dispatcher.utter_message(
                response="utter_agent_payment_daily_cap",
                limit=settings.agent_max_residents_per_day,
            )
        elif result is AgentPaymentResult.RECORDED and outcome.payment is not None:
            payment = outcome.payment
            dispatcher.utter_message(
                response="utter_agent_payment_recorded",
                months=payment.months,
                name=outcome.resident_name,
                reference=payment.participant_reference,
                amount=rupiah(payment.amount),
                receipt=payment.receipt,
                paid_through=bulan(payment.period_to) if payment.period_to else "-",
            )
            # The resident handed over cash: their own chat hears what was recorded.
            await notify_resident(
                context,
                dispatcher,
                domain,
                outcome.addresses.get(payment.participant_reference, ()),
                payment_notice(domain, agent, payment, "payment"),
            )
        elif result is AgentPaymentResult.GROUP_RECORDED and outcome.group is not None:
            group = outcome.group
            dispatcher.utter_message(
                response="utter_agent_group_payment_recorded",
                count=len(group.members),
                months=months,
                amount=rupiah(group.total),
                receipt=group.group_receipt,
                members=jimpitan_members(outcome.members),
            )
            # Every member hears of their own months, not only the leader who paid.
            paid = {member.participant_reference: member for member in group.members}
            await notify_members(
                context,
                dispatcher,
                [
                    MemberNotice(
                        f"{member.name} ({member.reference})",
                        outcome.addresses.get(member.reference, ()),
                        payment_notice(
                            domain, agent, paid[member.reference], "jimpitan", group.group_receipt
                        ),
                    )
                    for member in outcome.members
                ],
            )
        else:
            dispatcher.utter_message(response="utter_agent_payment_refused")
        return []


class ActionAgentDispute(Action):
    """ "sengketa NIK …": the KTP's owner is at the agent's desk and someone else registered
    their NIK. Nothing changes yet: the agent is asked to confirm (dispute_form), and
    ActionAgentDisputeDecide acts on the answer (bot/services/disputes.py)."""

    def name(self) -> str:
        return "action_agent_dispute"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        nothing_to_confirm: list[EventType] = [SlotSet("dispute_requested", None)]
        agent = await agent_for_request(context, tracker, dispatcher, "agent_dispute")
        if agent is None:
            return nothing_to_confirm
        niks = latest_entity_values(tracker, "nik")
        if len(niks) != 1:
            dispatcher.utter_message(response="utter_agent_dispute_help")
            return nothing_to_confirm
        village = village_by_name(agent.village)
        outcome = await asyncio.to_thread(
            request_dispute,
            context.unit_of_work(),
            context.hash_key,
            agent,
            str(niks[0]),
            village.regency_code if village else None,
            context.clock.now(),
        )
        if outcome.result is not DisputeResult.CONFIRM:
            dispatcher.utter_message(response=f"utter_agent_dispute_{outcome.result.value}")
            return nothing_to_confirm
        return [
            SlotSet("dispute_requested", True),
            SlotSet("dispute_reference", outcome.reference),
            SlotSet("dispute_confirmed", None),
        ]


class ValidateDisputeForm(FormValidationAction):
    """The answer to the dispute question, read by meaning: a yes confirms; a no, or
    anything else (another request included), cancels."""

    def name(self) -> str:
        return "validate_dispute_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("requested_slot") != "dispute_confirmed":
            return []
        return [SlotSet("dispute_confirmed", yes_no(message_from(tracker)) is True)]


class ActionAgentDisputeDecide(Action):
    """Acts on the agent's answer: releases a registration of their village (its holder and
    the village's other agents are told), sends one of elsewhere to the administrators,
    or cancels."""

    def name(self) -> str:
        return "action_agent_dispute_decide"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        done: list[EventType] = [
            SlotSet("dispute_requested", None),
            SlotSet("dispute_reference", None),
            SlotSet("dispute_confirmed", None),
        ]
        agent = await enrolled_agent(
            context, tracker
        )  # checked again: a suspended agent decides nothing
        if agent is None:
            dispatcher.utter_message(response="utter_agent_only")
            return done
        outcome = await asyncio.to_thread(
            decide_dispute,
            context.unit_of_work(),
            context.cipher,
            agent,
            tracker.get_slot("dispute_confirmed") is True,
            context.clock.now(),
        )
        dispatcher.utter_message(
            response=f"utter_agent_dispute_{outcome.result.value}",
            reference=outcome.reference or "",
        )
        await tell_about_release(context, outcome)
        return done


async def tell_about_release(context: AppContext, outcome: DisputeOutcome) -> None:
    """The released registration's holder and the village's agents hear of it."""
    notice = outcome.notice
    if notice is None:
        return
    await tell_release(get_outbox(context), context.channel_log, notice, context.clock.now())
