"""Talking to a person (issue 18): a resident's explicit request (or the offer's button)
opens a ticket; the agent gets the question, the last messages (long numbers masked) and a
ticket number to answer with. From then on the gateway relays the conversation
(bot/services/handoff_relay.py) until the resident types "selesai"."""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.outbox import get_outbox
from actions.reading import latest_entity_value
from actions.responses import response_text
from bot.app_context import AppContext
from bot.domain.replies import BotReply
from bot.domain.senders import channel_of
from bot.infra.privacy import mask_sender
from bot.services.handoff import (
    TicketReason,
    masked_text,
    open_ticket,
    resident_name,
    ticket_label,
)

#: Messages that carried a one-time code (a consent or a number link): never shown to an
#: agent, not even masked.
SECRET_INTENTS = frozenset({"give_consent_code"})


def recent_texts(tracker: Tracker, count: int) -> list[str]:
    """What the resident wrote last (typed text, not button presses, not codes), oldest
    first."""
    texts = [
        str(event.get("text") or "")
        for event in tracker.events
        if event.get("event") == "user"
        and not str(event.get("text") or "").startswith("/")
        and ((event.get("parse_data") or {}).get("intent") or {}).get("name") not in SECRET_INTENTS
    ]
    return [text for text in texts if text.strip()][-count:]


async def start_handoff(
    context: AppContext, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> None:
    """Opens the ticket, tells the resident who answers, and sends the agent the question."""
    sender_id = tracker.sender_id
    recent = recent_texts(tracker, context.handoff_policy.context_messages)
    opened = await asyncio.to_thread(
        open_ticket,
        context.unit_of_work(),
        context.cipher,
        context.hash_key,
        sender_id,
        TicketReason.ASKED,
        recent,
        context.clock.now(),
        # The village asked for, else the one given in the registration under way.
        latest_entity_value(tracker, "village") or tracker.get_slot("village"),
    )
    label = ticket_label(opened.number)
    minutes = context.settings.handoff_answer_minutes
    if opened.already_open:
        dispatcher.utter_message(response="utter_handoff_already_open", ticket=label)
        return
    if opened.agent_first_name is None:
        dispatcher.utter_message(response="utter_handoff_to_admins", ticket=label, minutes=minutes)
    else:
        dispatcher.utter_message(
            response="utter_handoff_to_agent",
            agent=opened.agent_first_name,
            village=opened.village or "-",
            ticket=label,
            minutes=minutes,
        )
    if opened.agent_address is None:
        return
    who = await asyncio.to_thread(
        resident_name, context.unit_of_work(), context.cipher, context.hash_key, sender_id
    )
    notice = response_text(domain, "utter_handoff_agent_notice").format(
        ticket=label,
        who=who
        or f"{response_text(domain, 'utter_handoff_who_unregistered')}, {mask_sender(sender_id)}",
        village=opened.village or "-",
        context="\n".join(f"• {masked_text(text)}" for text in recent) or "-",
    )
    outbox = get_outbox(context)
    if outbox.has_channel(channel_of(opened.agent_address)):
        await outbox.send(opened.agent_address, BotReply(text=notice), purpose="handoff")
