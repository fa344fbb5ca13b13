"""The consent question before a registration: the answer read by meaning, and the
decision recorded with the wording the person was shown (bot.services.consent)."""

from __future__ import annotations

import asyncio

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.questions import answer_or_hand_over
from actions.reading import message_from
from actions.responses import response_text
from bot.app_context import get_app_context
from bot.domain.consent import ConsentDecision, ConsentPurpose
from bot.domain.senders import channel_of
from bot.services.consent import record_consent
from bot.understanding.interpreter import Meaning, interpret


class ValidateConsentForm(FormValidationAction):
    """The consent question, read by meaning: a question is answered and the consent asked
    again; "batal" is a no; fields given along the way wait until consent is given."""

    def name(self) -> str:
        return "validate_consent_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("requested_slot") != "consent_given":
            return []
        context = get_app_context()
        message = message_from(tracker)
        reading = interpret(message, "consent_given", {}, context.clock.today())
        if reading.meaning is Meaning.LEAVE_TO_RULES:
            return []  # the rules answer it; the consent question follows
        if reading.meaning is Meaning.QUESTION and reading.topic is None:
            # Unclear hesitation ("nanti saya tanya suami dulu gimana"): how to answer.
            dispatcher.utter_message(response="utter_invalid_consent_given")
            return [SlotSet("consent_given", None)]
        if reading.meaning is Meaning.QUESTION:
            money = message.entity("money")
            await answer_or_hand_over(
                context, dispatcher, tracker, domain, reading.topic, int(money) if money else None
            )
            return [SlotSet("consent_given", None)]
        if reading.meaning is Meaning.CANCEL:
            # Recorded as no consent; action_record_consent says it was cancelled.
            return [SlotSet("consent_given", False), SlotSet("registration_stopped", "cancelled")]
        events: list[EventType] = []
        if reading.given:
            held = {**(tracker.get_slot("early_fields") or {}), **reading.given}
            events.append(SlotSet("early_fields", held))
        if isinstance(reading.answer, bool):
            return [*events, SlotSet("consent_given", reading.answer)]
        if reading.meaning is not Meaning.SMALL_TALK:
            dispatcher.utter_message(response="utter_invalid_consent_given")
        return [*events, SlotSet("consent_given", None)]


class ActionRecordConsent(Action):
    def name(self) -> str:
        return "action_record_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        granted = bool(tracker.get_slot("consent_given"))
        decision = ConsentDecision(
            channel=channel_of(tracker.sender_id),
            purpose=ConsentPurpose.REGISTRATION,
            granted=granted,
            wording=response_text(domain, "utter_ask_consent_given"),
        )
        record_id = await asyncio.to_thread(
            record_consent,
            context.unit_of_work(),
            context.hash_key,
            tracker.sender_id,
            decision,
            context.clock.now(),
        )
        # Asked again on the next "daftar", so every decision is explicit and recorded.
        # Also: a registration for oneself is never an agent's on-behalf one.
        events: list[EventType] = [
            SlotSet("consent_given", None),
            SlotSet("registering_for_resident", None),
        ]
        early = dict(tracker.get_slot("early_fields") or {})
        events += [SlotSet("early_fields", None), SlotSet("registration_requested", None)]
        if not granted:
            cancelled = tracker.get_slot("registration_stopped") == "cancelled"
            dispatcher.utter_message(
                response="utter_registration_cancelled" if cancelled else "utter_consent_declined"
            )
            events.append(SlotSet("registration_stopped", None))
            if early:
                dispatcher.utter_message(response="utter_early_data_discarded")
            return [*events, SlotSet("consent_granted", None)]
        dispatcher.utter_message(response="utter_consent_recorded")
        return [
            *events,
            # Fields sent before consent become the form's answers now; the form checks
            # them as it starts (validate_registration_form) and does not ask them again.
            *(SlotSet(name, value) for name, value in early.items()),
            SlotSet("consent_record_id", record_id),
            # A rule starts registration_form on this (nlu/rules.yml).
            SlotSet("consent_granted", True),
        ]
