"""Custom actions. Each handler reads the tracker, calls a ``bot`` service and replies
with a response name from domain.yml, so all wording stays in one place."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.app_context import get_app_context
from bot.domain.consent import ConsentDecision, ConsentPurpose
from bot.domain.formatting import rupiah
from bot.domain.senders import channel_of
from bot.domain.tariff import load_tariff, monthly_contribution
from bot.services.consent import record_consent

log = logging.getLogger(__name__)

#: Questions answered in the middle of a form, which then resumes (see nlu/rules.yml).
QUESTION_INTENTS = frozenset(
    {
        "ask_human",
        "ask_about_programme",
        "ask_contribution",
        "ask_premium_for_income",
        "ask_jkk",
        "ask_jkm",
        "ask_jht",
        "ask_scholarship",
        "ask_requirements",
        "ask_payment_channels",
        "ask_due_date",
        "ask_arrears",
        "ask_claim",
    }
)
#: Reminder preferences work at any moment, forms included (nlu/rules.yml).
REMINDER_PREFERENCE_INTENTS = frozenset({"stop_reminders", "resume_reminders"})
#: Intents a form leaves to the rules instead of treating them as a wrong answer.
DIGRESSION_INTENTS = QUESTION_INTENTS | REMINDER_PREFERENCE_INTENTS | {"bot_challenge", "cancel"}
#: Offered as likely topics when the NLU is unsure; never small talk.
MAX_SUGGESTED_TOPICS = 3


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_entity_value(tracker: Tracker, entity: str) -> Any:
    for item in tracker.latest_message.get("entities") or []:
        if item.get("entity") == entity:
            return item.get("value")
    return None


def response_text(domain: DomainDict, response: str) -> str:
    """The first text variant of a domain response: what the person was shown."""
    variants = domain.get("responses", {}).get(response) or []
    if not variants or not variants[0].get("text"):
        raise LookupError(f"domain.yml has no text for response {response!r}")
    return str(variants[0]["text"])


class ValidateConsentForm(FormValidationAction):
    def name(self) -> str:
        return "validate_consent_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        requested = tracker.get_slot("requested_slot")
        answered = any(e.get("event") == "slot" and e.get("name") == requested for e in events)
        if requested and not answered and latest_intent(tracker) not in DIGRESSION_INTENTS:
            # Say what to send instead; the form then asks the same question again.
            dispatcher.utter_message(response=f"utter_invalid_{requested}")
            events.append(SlotSet(requested, None))
        return events

    def validate_consent_given(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"consent_given": value}
        dispatcher.utter_message(response="utter_invalid_consent_given")
        return {"consent_given": None}


class ActionRecordConsent(Action):
    def name(self) -> str:
        return "action_record_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        granted = bool(tracker.get_slot("consent_given"))
        decision = ConsentDecision(
            channel=channel_of(tracker.sender_id),
            purpose=ConsentPurpose.REGISTRATION,
            granted=granted,
            wording=response_text(domain, "utter_ask_consent_given"),
        )
        context = get_app_context()
        record = record_consent(
            context.sessions,
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
        if not granted:
            dispatcher.utter_message(response="utter_consent_declined")
            return [*events, SlotSet("consent_granted", None)]
        dispatcher.utter_message(response="utter_consent_recorded")
        return [
            *events,
            SlotSet("consent_record_id", record.id),
            # A rule starts registration_form on this (nlu/rules.yml).
            SlotSet("consent_granted", True),
        ]


class ActionAnswerQuestion(Action):
    """Answers a question intent with utter_answer_<intent>; contribution questions that
    mention an income get a computed breakdown from the tariff in bot.domain."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = latest_intent(tracker)
        income = latest_entity_value(tracker, "money")
        if intent in ("ask_premium_for_income", "ask_contribution") and income is not None:
            self._premium_breakdown(dispatcher, int(income))
        elif intent == "ask_premium_for_income":
            dispatcher.utter_message(response="utter_premium_ask_income")
        else:
            dispatcher.utter_message(response=f"utter_answer_{intent}")
        return []

    @staticmethod
    def _premium_breakdown(dispatcher: CollectingDispatcher, income: int) -> None:
        basic = monthly_contribution(income, with_jht=False)
        full = monthly_contribution(income, with_jht=True)
        dispatcher.utter_message(
            response="utter_answer_ask_premium_for_income",
            income=rupiah(income),
            jkk=rupiah(basic.jkk),
            jkm=rupiah(basic.jkm),
            total=rupiah(basic.total),
            jht=rupiah(full.jht),
            total_with_jht=rupiah(full.total),
        )
        if income > load_tariff().lowest_nominal:
            dispatcher.utter_message(response="utter_premium_estimate_note")


class ActionSuggestTopics(Action):
    """Low NLU confidence: offer the likeliest topics as buttons instead of guessing."""

    def name(self) -> str:
        return "action_suggest_topics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        responses = domain.get("responses", {})
        buttons = []
        for candidate in tracker.latest_message.get("intent_ranking") or []:
            topic = f"utter_topic_{candidate.get('name')}"
            if topic in responses:
                title = response_text(domain, topic)
                buttons.append({"title": title, "payload": f"/{candidate['name']}"})
            if len(buttons) == MAX_SUGGESTED_TOPICS:
                break
        if buttons:
            dispatcher.utter_message(response="utter_suggest_topics", buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_default")
        return []
