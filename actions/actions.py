"""Custom actions. Each handler reads the tracker, calls a ``bot`` service and replies
with a response name from domain.yml, so all wording stays in one place."""

from __future__ import annotations

import asyncio
import logging

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import start_handoff
from actions.reading import latest_entity_value, latest_intent
from actions.responses import response_text
from bot.app_context import get_app_context
from bot.domain.consent import ConsentDecision, ConsentPurpose
from bot.domain.formatting import rupiah
from bot.domain.senders import channel_of
from bot.domain.tariff import load_tariff, monthly_contribution
from bot.services.consent import record_consent
from bot.understanding import interpreter
from bot.understanding.handoff_messages import wants_a_person
from bot.understanding.interpreter import (
    Entity,
    Meaning,
    Message,
    early_fields,
    interpret,
    wants_to_register,
)

log = logging.getLogger(__name__)

#: Questions answered at any moment, forms included (one list: the interpreter's).
QUESTION_INTENTS = interpreter.QUESTION_INTENTS
#: Offered as likely topics when the NLU is unsure; never small talk.
MAX_SUGGESTED_TOPICS = 3


def message_from(tracker: Tracker) -> Message:
    """The latest message as the interpreter reads it (text, intent, entities, ranking)."""
    latest = tracker.latest_message or {}
    intent = latest.get("intent") or {}
    return Message(
        text=(latest.get("text") or "").strip(),
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        entities=tuple(
            Entity(e.get("entity", ""), e.get("value"), e.get("start"), e.get("end"))
            for e in latest.get("entities") or []
        ),
        ranking=tuple(
            (r.get("name", ""), float(r.get("confidence") or 0.0))
            for r in latest.get("intent_ranking") or []
        ),
    )


async def answer_or_hand_over(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: DomainDict,
    topic: str | None,
    income: int | None = None,
) -> None:
    """A question is answered; an explicit request for a person, wherever it comes (a form
    step included), opens a conversation with the village's agent."""
    if topic == "ask_human" and wants_a_person(message_from(tracker).text):
        await start_handoff(dispatcher, tracker, domain)
    else:
        answer_question(dispatcher, topic, income)


def answer_question(
    dispatcher: CollectingDispatcher, topic: str | None, income: int | None = None
) -> None:
    """The answer to a question intent (a computed breakdown for a stated income); at a
    form step with no recognisable topic, a word that the question was not understood."""
    if topic is None:
        dispatcher.utter_message(response="utter_question_not_understood_in_form")
    elif topic in ("ask_premium_for_income", "ask_contribution") and income is not None:
        _premium_breakdown(dispatcher, income)
    elif topic == "ask_premium_for_income":
        dispatcher.utter_message(response="utter_premium_ask_income")
    else:
        dispatcher.utter_message(response=f"utter_answer_{topic}")


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
        message = message_from(tracker)
        today = get_app_context().clock.today()
        reading = interpret(message, "consent_given", {}, today)
        if reading.meaning is Meaning.LEAVE_TO_RULES:
            return []  # the rules answer it; the consent question follows
        if reading.meaning is Meaning.QUESTION and reading.topic is None:
            # Unclear hesitation ("nanti saya tanya suami dulu gimana"): how to answer.
            dispatcher.utter_message(response="utter_invalid_consent_given")
            return [SlotSet("consent_given", None)]
        if reading.meaning is Meaning.QUESTION:
            money = message.entity("money")
            await answer_or_hand_over(
                dispatcher, tracker, domain, reading.topic, int(money) if money else None
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


class ActionInformOutsideRegistration(Action):
    """Data sent outside a registration: a message that also asks to register ("sy mau
    daftar, nama …") starts it, keeping the data; anything else is told how to start."""

    def name(self) -> str:
        return "action_inform_outside_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        message = message_from(tracker)
        if not wants_to_register(message):
            dispatcher.utter_message(response="utter_inform_outside_registration")
            return [SlotSet("registration_requested", None)]
        fields = early_fields(message, get_app_context().clock.today())
        # A rule asks for consent next (nlu/rules.yml).
        return [
            SlotSet("early_fields", fields or None),
            SlotSet("registration_stopped", None),
            SlotSet("registration_requested", True),
        ]


class ActionStartRegistration(Action):
    """ "daftar": keeps the fields a first message carries ("sy mau daftar, nama …, nik …")
    in the conversation until consent is given; nothing is stored before it."""

    def name(self) -> str:
        return "action_start_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        fields = early_fields(message_from(tracker), get_app_context().clock.today())
        # A rule asks for consent next (nlu/rules.yml).
        return [SlotSet("early_fields", fields or None), SlotSet("registration_stopped", None)]


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


class ActionAnswerQuestion(Action):
    """Answers a question intent with utter_answer_<intent>; contribution questions that
    mention an income get a computed breakdown from the tariff in bot.domain."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        income = latest_entity_value(tracker, "money")
        await answer_or_hand_over(
            dispatcher, tracker, domain, latest_intent(tracker), int(income) if income else None
        )
        return []


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
