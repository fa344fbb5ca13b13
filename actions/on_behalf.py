"""A Perisai agent registers a walk-in: the resident's consent at the end of the form
(read aloud by the agent, or a one-time code to the resident's own WhatsApp), and the
resident's reply with that code. Rules live in bot.services.on_behalf and bot.domain.consent;
wording in domain.yml."""

from __future__ import annotations

import asyncio
import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.addresses import tell_link_outcome, tell_number_change
from actions.agents import enrolled_agent
from actions.outbox import get_outbox
from actions.reading import message_text
from actions.responses import response_text
from bot.app_context import AppContext, get_app_context
from bot.domain.formatting import rupiah, tanggal
from bot.domain.registration import Registration
from bot.domain.replies import BotReply
from bot.domain.senders import channel_of
from bot.infra.privacy import mask_digits, mask_sender
from bot.services.agents import AgentRef
from bot.services.on_behalf import CodeOutcome, CodeResult, HeldRegistration
from bot.services.one_time_codes import LINKING

log = logging.getLogger(__name__)

#: The two ways an agent may collect a resident's consent (slot resident_consent).
CODE, READ_ALOUD = "code", "read_aloud"
#: The code waits for the resident's number to write to Sadar first (WhatsApp's window).
CODE_ON_CONTACT = "code_on_contact"


def consent_terms(domain: DomainDict) -> str:
    return response_text(domain, "utter_resident_consent_terms")


def read_aloud_wording(domain: DomainDict, agent: AgentRef) -> str:
    """What the consent record keeps for the read-aloud path: the text read, and by whom."""
    return response_text(domain, "utter_resident_consent_read_aloud_record").format(
        agent=agent.name, terms=consent_terms(domain)
    )


def _code_text(domain: DomainDict, agent: AgentRef, code: str, minutes: int) -> str:
    return response_text(domain, "utter_consent_code_message").format(
        agent=agent.name, terms=consent_terms(domain), code=code, minutes=minutes
    )


def masked_phone(phone: str) -> str:
    return mask_digits(phone, 5, 2)


async def send_consent_code(
    context: AppContext, domain: DomainDict, agent: AgentRef, agent_sender_id: str,
    registration: Registration,
) -> HeldRegistration | None:  # fmt: skip
    """The code message in the agent's name (domain.yml), sent by the on-behalf service."""
    minutes = context.settings.consent_code_valid_minutes
    return await context.on_behalf.send_code(
        get_outbox(context),
        agent,
        agent_sender_id,
        registration,
        lambda code: _code_text(domain, agent, code, minutes),
        context.settings.whatsapp_consent_content_sid,
        context.clock.now(),
    )


class ActionAskResidentConsent(Action):
    """The last question of an agent's registration: how the resident consents."""

    def name(self) -> str:
        return "action_ask_resident_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            response="utter_ask_resident_consent",
            terms=consent_terms(domain),
            phone=masked_phone(str(tracker.get_slot("phone") or "")),
        )
        return []


class ActionConfirmConsentCode(Action):
    """A one-time code typed back, answered by the purpose this conversation waits for
    (bot.services.one_time_codes): linking a WhatsApp number or a number change
    (actions/addresses.py), or the code an agent's registration sent to the resident's own
    phone."""

    def name(self) -> str:
        return "action_confirm_consent_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        text, now = message_text(tracker), context.clock.now()
        awaited = await asyncio.to_thread(context.one_time_codes.awaited_by, tracker.sender_id)
        if awaited is None:
            # An agent typing the code a walk-in received is told where it belongs.
            agent = await enrolled_agent(context, tracker)
            dispatcher.utter_message(
                response="utter_agent_code_nothing_waiting"
                if agent
                else "utter_consent_code_nothing_waiting"
            )
            return []
        if awaited in LINKING:
            linked = await asyncio.to_thread(
                context.address_book.confirm, tracker.sender_id, text, now
            )
            if linked is None:  # used meanwhile, in another turn
                dispatcher.utter_message(response="utter_consent_code_nothing_waiting")
                return []
            tell_link_outcome(dispatcher, linked)
            await tell_number_change(context, domain, linked)
            return []
        outcome = await asyncio.to_thread(context.on_behalf.confirm, tracker.sender_id, text, now)
        result = outcome.result
        if result is CodeResult.REGISTERED:
            assert outcome.registered is not None
            # The resident typed the code in their own chat: this reply is their notice of
            # the registration (who registered them, the reference, how to check), so no
            # second one goes (the read-aloud path sends it: actions/resident_notices.py).
            dispatcher.utter_message(
                response="utter_consent_code_registered",
                name=outcome.resident_name,
                agent=outcome.agent.name if outcome.agent else "-",
                village=outcome.agent.village if outcome.agent else "-",
                reference=outcome.registered.reference,
                contribution=rupiah(outcome.registered.monthly_contribution),
                due_date=tanggal(outcome.registered.first_due_date),
            )
        elif result is CodeResult.WRONG:
            dispatcher.utter_message(
                response="utter_consent_code_wrong", attempts_left=outcome.attempts_left
            )
        elif result is CodeResult.ALREADY_REGISTERED:
            dispatcher.utter_message(response="utter_nik_already_registered")
        else:
            dispatcher.utter_message(response=f"utter_consent_code_{result.value}")
        await self._tell_agent(context, domain, outcome)
        return []

    @staticmethod
    async def _tell_agent(context: AppContext, domain: DomainDict, outcome: CodeOutcome) -> None:
        """The agent hears how it ended; a wrong try is only the resident's business."""
        if outcome.agent_sender_id is None or outcome.result is CodeResult.WRONG:
            return
        text = response_text(domain, f"utter_agent_consent_{outcome.result.value}").format(
            name=outcome.resident_name,
            reference=outcome.registered.reference if outcome.registered else "",
        )
        outbox = get_outbox(context)
        recipient = outcome.agent_sender_id
        if not outbox.has_channel(channel_of(recipient)):
            log.info("agent %s has no channel to be told on", mask_sender(recipient))
            return
        await outbox.send(recipient, BotReply(text=text), purpose="agent_notice")
