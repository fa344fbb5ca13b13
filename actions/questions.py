"""Questions, answered at any moment (forms included): an answer from domain.yml, a
computed contribution for a stated income, likely topics when the NLU is unsure, or a
person when the resident explicitly asks for one."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import start_handoff
from actions.reading import latest_entity_value, latest_intent, message_from
from actions.responses import response_text
from bot.app_context import AppContext, get_app_context
from bot.domain.formatting import rupiah
from bot.domain.tariff import load_tariff, monthly_contribution
from bot.understanding import interpreter
from bot.understanding.handoff_messages import wants_a_person

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
    if topic == "ask_human" and wants_a_person(message_from(tracker).text):
        await start_handoff(context, dispatcher, tracker, domain)
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


class ActionAnswerQuestion(Action):
    """Answers a question intent with utter_answer_<intent>; contribution questions that
    mention an income get a computed breakdown from the tariff in bot.domain."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        income = latest_entity_value(tracker, "money")
        await answer_or_hand_over(
            context,
            dispatcher,
            tracker,
            domain,
            latest_intent(tracker),
            int(income) if income else None,
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
        return []
