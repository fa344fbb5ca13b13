"""A participant's addresses from chat: linking WhatsApp ("hubungkan wa", the end of a web
chat registration, Telegram's offer), changing number ("ganti nomor 0813…", or an agent's
"ganti nomor SDR-… 0813…"), and the code typed back. Rules live in
bot.services.addresses.linking (a purpose of bot.services.one_time_codes); wording in
domain.yml."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.agents import enrolled_agent
from actions.outbox import get_outbox
from actions.reading import message_text
from actions.responses import response_text
from bot.app_context import AppContext, get_app_context
from bot.domain.addresses import LinkPurpose
from bot.services.addresses.linking import (
    CodeText,
    LinkOutcome,
    LinkRequest,
    LinkRequestResult,
    LinkResult,
)
from bot.services.addresses.number_change import NoticeText
from bot.services.agents import AgentRef, audit_agent
from bot.understanding.address_messages import read_number_change


async def request_link(
    context: AppContext,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: DomainDict,
    phone: str | None,
    purpose: LinkPurpose,
    agent: AgentRef | None = None,
    reference: str | None = None,
) -> LinkRequest:
    """Send the code (or link at once) and tell the person what happens next."""
    minutes = context.settings.consent_code_valid_minutes
    wording = (
        "utter_link_code_message"
        if purpose is LinkPurpose.ADD
        else ("utter_number_change_code_message")
    )
    message = CodeText(
        lambda code: response_text(domain, wording).format(code=code, minutes=minutes),
        context.settings.whatsapp_link_content_sid,
    )
    request = await context.address_book.request(
        get_outbox(context),
        tracker.sender_id,
        phone,
        purpose,
        message,
        context.clock.now(),
        agent=agent,
        reference=reference,
    )
    details = {"phone": request.masked_phone, "reference": request.reference, "minutes": minutes}
    who = "agent_" if agent is not None else ""
    what = "link" if purpose is LinkPurpose.ADD else "change_number"
    dispatcher.utter_message(response=f"utter_{who}{what}_{request.result.value}", **details)
    return request


class ActionLinkWhatsapp(Action):
    """ "hubungkan wa" (or "hubungkan wa 0813…"), and the Telegram offer's button."""

    def name(self) -> str:
        return "action_link_whatsapp"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        phone = read_number_change(message_text(tracker)).phone
        await request_link(get_app_context(), dispatcher, tracker, domain, phone, LinkPurpose.ADD)
        return []


class ActionChangeNumber(Action):
    """ "ganti nomor 0813…" from a linked address; an enrolled agent's "ganti nomor
    SDR-… 0813…" for a resident of their village (audited). The code goes to the new
    number and is typed back here."""

    def name(self) -> str:
        return "action_change_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        said = read_number_change(message_text(tracker))
        agent = await enrolled_agent(context, tracker)
        if agent is not None and said.reference is not None:
            if said.phone is None:
                dispatcher.utter_message(response="utter_agent_change_number_help")
                return []
            requested = await request_link(
                context,
                dispatcher,
                tracker,
                domain,
                said.phone,
                LinkPurpose.REPLACE,
                agent=agent,
                reference=said.reference,
            )
            await audit_refused_change(context, agent, requested, said.reference)
            return []
        if said.phone is None:
            response = "utter_agent_change_number_help" if agent else "utter_change_number_ask"
            dispatcher.utter_message(response=response)
            return []
        await request_link(context, dispatcher, tracker, domain, said.phone, LinkPurpose.REPLACE)
        return []


async def tell_number_change(context: AppContext, domain: DomainDict, outcome: LinkOutcome) -> None:
    """After a number change: the number left hears where reminders went and how to report
    it ("BUKAN SAYA"); an agent's change is shown on the new number too."""

    def wording(name: str) -> Callable[[str], str]:
        text = response_text(domain, name)
        return lambda phone: text.format(phone=phone, reference=outcome.reference)

    notice = NoticeText(
        wording("utter_number_change_notice_old"),
        wording("utter_number_change_notice_new"),
        context.settings.whatsapp_number_change_content_sid,
    )
    await context.number_changes.tell_number_change(
        get_outbox(context), outcome, notice, context.clock.now()
    )


async def audit_refused_change(
    context: AppContext, agent: AgentRef, requested: LinkRequest, reference: str
) -> None:
    """An agent's number change that did not start (another village's resident, an unknown
    reference, a code that could not be sent …) is in the audit trail too, with the
    reference typed and never the number."""
    if requested.result in (LinkRequestResult.SENT, LinkRequestResult.LINKED):
        return
    await asyncio.to_thread(
        audit_agent,
        context.unit_of_work(),
        agent,
        f"number_change_refused_{requested.result.value}",
        context.clock.now(),
        reference,
    )


def tell_link_outcome(dispatcher: CollectingDispatcher, outcome: LinkOutcome) -> None:
    """What the person who typed a link code is told."""
    if outcome.result is LinkResult.WRONG:
        dispatcher.utter_message(response="utter_link_wrong", attempts_left=outcome.attempts_left)
        return
    dispatcher.utter_message(
        response=f"utter_link_{outcome.result.value}",
        phone=outcome.masked_phone,
        reference=outcome.reference,
    )
