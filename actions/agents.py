"""Perisai agent requests in chat. Agent powers come only from the identity the agent was
enrolled with (bot.services.agents.agent_for_sender), checked on every request: no wording,
payload or slot can grant them."""

from __future__ import annotations

import asyncio
import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.actions import latest_intent, response_text
from actions.payments import report_own_payment
from bot.app_context import get_app_context
from bot.db.models import Agent
from bot.domain.formatting import bulan, rupiah
from bot.services.agents import (
    ResidentLine,
    agent_for_sender,
    arrears_in_village,
    audit_agent,
    dispute_registration,
    month_summary,
    participant_name,
    participants_in_scope,
    residents_paid_for_today,
    residents_registered_by,
)
from bot.services.payments import (
    PaymentRejected,
    PaymentSource,
    record_group_payment,
    record_payment,
)
from bot.understanding.payment_messages import read_payment_request
from nlu.parsing.lookups import village_by_name

log = logging.getLogger(__name__)

#: Lines that fit one phone screen; the rest is summarised.
MAX_LINES = 12


def enrolled_agent(tracker: Tracker) -> Agent | None:
    """The active agent this conversation belongs to; checked on every agent request."""
    context = get_app_context()
    return agent_for_sender(context.sessions, context.hash_key, tracker.sender_id)


def agent_for_request(
    tracker: Tracker, dispatcher: CollectingDispatcher, request: str
) -> Agent | None:
    """The enrolled agent making ``request``, audited; anyone else is told it is for agents
    only (and gets None)."""
    agent = enrolled_agent(tracker)
    if agent is None:
        dispatcher.utter_message(response="utter_agent_only")
        return None
    audit_agent(get_app_context().sessions, agent, request)
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


class ActionAgent(Action):
    def name(self) -> str:
        return "action_agent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        intent = latest_intent(tracker) or "agent_menu"
        agent = agent_for_request(tracker, dispatcher, intent)
        if agent is None:
            return []
        today = context.clock.today()
        if intent == "agent_my_residents":
            residents = residents_registered_by(context.sessions, context.cipher, agent, today)
            if not residents:
                dispatcher.utter_message(response="utter_agent_residents_none")
                return []
            line = response_text(domain, "utter_agent_resident_line")
            _list(
                dispatcher,
                domain,
                response_text(domain, "utter_agent_residents_header").format(count=len(residents)),
                [self._resident(line, r, domain) for r in residents],
            )
        elif intent == "agent_arrears":
            owing = arrears_in_village(context.sessions, context.cipher, agent, today)
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
        elif intent == "agent_summary":
            summary = month_summary(context.sessions, agent, today)
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
    def _resident(line: str, resident: ResidentLine, domain: DomainDict) -> str:
        status = response_text(domain, f"utter_status_label_{resident.status}")
        return line.format(
            name=resident.name,
            reference=resident.reference,
            status=status,
            months=resident.months_owed,
        )


class ActionAgentPayment(Action):
    """An agent records cash: "bayar SDR-… 3 bulan", or a jimpitan group ("jimpitan
    SDR-ketua SDR-anggota … 2 bulan", the first reference is the leader). From anyone who is
    not an enrolled agent the same words are only a report of their own payment."""

    def name(self) -> str:
        return "action_agent_payment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        agent = enrolled_agent(tracker)
        if agent is None:
            report_own_payment(dispatcher, tracker)
            return []
        request = read_payment_request(tracker.latest_message.get("text") or "")
        references, months = request.references, request.months
        if not references or months is None:  # an agent must say it: nothing is assumed
            dispatcher.utter_message(response="utter_agent_payment_help")
            return []
        audit_agent(context.sessions, agent, "agent_record_payment")
        # Only residents of the agent's village (or registered by them); a reference from
        # elsewhere is answered exactly like one that does not exist.
        ids = participants_in_scope(context.sessions, agent, references)
        unknown = [r for r in references if r not in ids]
        if unknown:
            dispatcher.utter_message(
                response="utter_agent_payment_unknown_reference", reference=unknown[0]
            )
            return []
        settings = context.settings
        if months > settings.agent_confirm_months_over and not request.confirmed:
            dispatcher.utter_message(
                response="utter_agent_payment_confirm", months=months, count=len(references)
            )
            return []
        paid_today = residents_paid_for_today(context.sessions, agent, context.clock.today())
        if paid_today + len(references) > settings.agent_max_residents_per_day:
            log.warning("agent %d reached the daily cap of cash payments", agent.id)
            dispatcher.utter_message(
                response="utter_agent_payment_daily_cap",
                limit=settings.agent_max_residents_per_day,
            )
            return []
        actor = f"agent:{agent.id}"
        try:
            if len(references) == 1:
                result = record_payment(
                    context.sessions,
                    ids[references[0]],
                    source=PaymentSource.AGENT_CASH,
                    recorded_by=actor,
                    months=months,
                    now=context.clock.now(),
                )
                dispatcher.utter_message(
                    response="utter_agent_payment_recorded",
                    months=result.months,
                    name=participant_name(context.sessions, context.cipher, ids[references[0]]),
                    reference=result.participant_reference,
                    amount=rupiah(result.amount),
                    receipt=result.receipt,
                    paid_through=bulan(result.period_to) if result.period_to else "-",
                )
            else:
                group = record_group_payment(
                    context.sessions,
                    ids[references[0]],
                    [ids[r] for r in references[1:]],
                    months,
                    actor,
                    now=context.clock.now(),
                )
                dispatcher.utter_message(
                    response="utter_agent_group_payment_recorded",
                    count=len(group.members),
                    months=months,
                    amount=rupiah(group.total),
                    receipt=group.group_receipt,
                )
        except PaymentRejected as problem:
            # The reason is for operators (English, in the log); the agent gets what to check.
            log.warning("agent %d payment refused: %s", agent.id, problem)
            dispatcher.utter_message(response="utter_agent_payment_refused")
        return []


class ActionAgentDispute(Action):
    """ "sengketa NIK …": the KTP's owner is at the agent's desk and someone else registered
    their NIK; the old registration is released so the agent can register the owner."""

    def name(self) -> str:
        return "action_agent_dispute"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        agent = agent_for_request(tracker, dispatcher, "agent_dispute")
        if agent is None:
            return []
        niks = [e.get("value") for e in tracker.latest_message.get("entities") or []
                if e.get("entity") == "nik"]  # fmt: skip
        if len(niks) != 1:
            dispatcher.utter_message(response="utter_agent_dispute_help")
            return []
        village = village_by_name(agent.village)
        result, reference = await asyncio.to_thread(
            dispute_registration,
            context.sessions,
            context.hash_key,
            agent,
            str(niks[0]),
            village.regency_code if village else None,
            context.clock.now(),
        )
        dispatcher.utter_message(
            response=f"utter_agent_dispute_{result.value}", reference=reference or ""
        )
        return []
