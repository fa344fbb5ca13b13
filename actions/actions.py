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
from bot.domain.senders import channel_of
from bot.services.consent import record_consent

log = logging.getLogger(__name__)

#: Intents that interrupt a form with a question; rules answer them and resume the form.
DIGRESSION_INTENTS = frozenset({"bot_challenge", "greet"})


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
        intent = tracker.latest_message.get("intent", {}).get("name")
        if requested and not answered and intent not in DIGRESSION_INTENTS:
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
        record_consent(
            context.sessions,
            context.settings.pii_hash_key.get_secret_value(),
            tracker.sender_id,
            decision,
        )
        dispatcher.utter_message(
            response="utter_consent_recorded" if granted else "utter_consent_declined"
        )
        # Asked again on the next "daftar", so every decision is explicit and recorded.
        return [SlotSet("consent_given", None)]
