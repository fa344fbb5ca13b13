"""Questions, answered at any moment (forms included): an answer from domain.yml, a
computed contribution for a stated income, likely topics when the NLU is unsure, or a
person when the resident explicitly asks for one."""

from __future__ import annotations

import asyncio

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.agents import ActionAgentPayment, enrolled_agent
from actions.handoff import start_handoff
from actions.my_data import tell_kpj
from actions.reading import latest_entity_value, latest_intent, message_from
from actions.responses import response_text
from bot.app_context import AppContext, get_app_context
from bot.domain.formatting import rupiah
from bot.domain.tariff import load_tariff, monthly_contribution
from bot.infra.region_register import place_register
from bot.services.participants import find_for_sender
from bot.understanding import interpreter
from bot.understanding.agent_messages import asks_to_register_someone
from bot.understanding.handoff_messages import wants_a_person
from bot.understanding.interpreter import early_fields, wants_to_register
from bot.understanding.outside_topics import outside_topic
from bot.understanding.payment_messages import read_payment_request

#: Questions answered at any moment, forms included (one list: the interpreter's).
QUESTION_INTENTS = interpreter.QUESTION_INTENTS
#: Offered as likely topics when the NLU is unsure; never small talk.
MAX_SUGGESTED_TOPICS = 3


async def answer_or_hand_over(
    context: AppContext,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: DomainDict,
    topic: str | None,
    income: int | None = None,
) -> None:
    """A question is answered; an explicit request for a person, wherever it comes (a form
    step included), opens a conversation with the village's agent."""
    text = message_from(tracker).text
    if wants_a_person(text):  # an explicit request outranks the topic it names
        await start_handoff(context, dispatcher, tracker, domain)
    elif topic == "out_of_scope":
        _outside(dispatcher, text, in_form=tracker.active_loop_name is not None)
    elif topic == "ask_kpj":  # answered from the sender's own record
        view = await asyncio.to_thread(
            find_for_sender,
            context.unit_of_work(),
            context.cipher,
            context.hash_key,
            tracker.sender_id,
        )
        if view is None:
            dispatcher.utter_message(response="utter_answer_ask_kpj")
        else:
            tell_kpj(dispatcher, domain, view)
    elif topic == "ask_requirements":  # the age limits are Sadar's settings
        dispatcher.utter_message(
            response="utter_answer_ask_requirements",
            minimum=context.settings.min_registration_age,
            maximum=context.settings.max_registration_age,
        )
    else:
        answer_question(dispatcher, topic, income)


def _outside(dispatcher: CollectingDispatcher, text: str, in_form: bool) -> None:
    """Another service (BPJS Kesehatan, a loan, bansos): where to go for it, shortly; in a
    form no programme blurb, since the pending question follows."""
    service = outside_topic(text)
    if service is not None:
        dispatcher.utter_message(response=f"utter_outside_{service}")
    else:
        dispatcher.utter_message(
            response="utter_out_of_scope_in_form" if in_form else "utter_out_of_scope"
        )


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


async def is_walk_in_request(context: AppContext, tracker: Tracker) -> bool:
    """An enrolled agent asking, in any words, to register someone: a walk-in
    (action_agent_start_registration, then the form by rule)."""
    return asks_to_register_someone(message_from(tracker).text) and (
        await enrolled_agent(context, tracker) is not None
    )


class ActionAnswerQuestion(Action):
    """Answers a question intent with utter_answer_<intent>; contribution questions that
    mention an income get a computed breakdown from the tariff in bot.domain."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        cash = read_payment_request(message_from(tracker).text)
        if cash.references and cash.months is not None and await enrolled_agent(context, tracker):
            # "bayar SDR-… 2 bulan" from an agent is cash to record, whatever the classifier
            # made of the reference (issue 28).
            return await ActionAgentPayment().run(dispatcher, tracker, domain)
        if await is_walk_in_request(context, tracker):
            return [FollowupAction("action_agent_start_registration")]
        if latest_intent(tracker) == "register_someone_else" and wants_to_register(
            message_from(tracker)
        ):
            # "sy istrinya pak Darsono, kata pak RT sy jg harus daftar": the sender names a
            # relative to say who they are, and registers themselves.
            return [FollowupAction("action_start_registration")]
        income = latest_entity_value(tracker, "money")
        topic = interpreter.question_topic(message_from(tracker)) or latest_intent(tracker)
        await answer_or_hand_over(
            context, dispatcher, tracker, domain, topic, int(income) if income else None
        )
        return []


class ActionBotChallenge(Action):
    """ "Is this a bot?": yes, and a person is one message away; a message that asks for a
    person outright ("mau ngobrol sama manusia") is handed over, not told to visit an office."""

    def name(self) -> str:
        return "action_bot_challenge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if wants_a_person(message_from(tracker).text):
            await start_handoff(get_app_context(), dispatcher, tracker, domain)
        else:
            dispatcher.utter_message(response="utter_iamabot")
        return []


class ActionSuggestTopics(Action):
    """Low NLU confidence: offer the likeliest topics as buttons instead of guessing; but a
    message that plainly asks to register ("mau daftar, nama …, nik …") starts it, keeping
    its data until consent, as actions/registration.py does for a confident one."""

    def name(self) -> str:
        return "action_suggest_topics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        message = message_from(tracker)
        if await is_walk_in_request(get_app_context(), tracker):
            return [FollowupAction("action_agent_start_registration")]
        if wants_to_register(message):
            fields = early_fields(message, get_app_context().clock.today(), place_register())
            # A rule asks for consent next (nlu/rules.yml).
            return [
                SlotSet("early_fields", fields or None),
                SlotSet("registration_stopped", None),
                SlotSet("registration_requested", True),
            ]
        self._suggest(dispatcher, tracker, domain)
        return [SlotSet("registration_requested", None)]

    @staticmethod
    def _suggest(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        responses = domain.get("responses", {})
        buttons = []
        for name, _ in message_from(tracker).ranking:
            topic = f"utter_topic_{name}"
            if topic in responses:
                title = response_text(domain, topic)
                buttons.append({"title": title, "payload": f"/{name}"})
            if len(buttons) == MAX_SUGGESTED_TOPICS:
                break
        if buttons:
            dispatcher.utter_message(response="utter_suggest_topics", buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_default")
