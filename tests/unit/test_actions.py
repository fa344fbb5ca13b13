"""Action handlers with rasa-sdk's CollectingDispatcher and real domain.yml responses."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.consent import ValidateConsentForm
from actions.questions import QUESTION_INTENTS, ActionAnswerQuestion, ActionSuggestTopics
from bot.domain.formatting import rupiah
from bot.infra.settings import PROJECT_ROOT

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def tracker(
    intent: str,
    entities: list[dict] | None = None,
    ranking: list[dict] | None = None,
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    latest = {
        "text": "…",
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "intent_ranking": ranking or [],
    }
    return Tracker(
        sender_id="web:test",
        slots=slots or {},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


async def run(action: Any, t: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, DOMAIN)
    return dispatcher.messages, events


def test_every_question_intent_has_an_answer_and_a_topic_title() -> None:
    responses = DOMAIN["responses"]
    for intent in QUESTION_INTENTS:
        assert f"utter_answer_{intent}" in responses, intent
        assert f"utter_topic_{intent}" in responses, intent
        assert intent in DOMAIN["intents"], intent


@pytest.mark.parametrize("intent", sorted(QUESTION_INTENTS - {"ask_premium_for_income"}))
async def test_questions_are_answered_from_the_domain(intent: str) -> None:
    messages, _ = await run(ActionAnswerQuestion(), tracker(intent))
    assert [m["response"] for m in messages] == [f"utter_answer_{intent}"]


async def test_premium_question_with_income_is_computed() -> None:
    t = tracker("ask_premium_for_income", entities=[{"entity": "money", "value": 3_000_000}])
    messages, _ = await run(ActionAnswerQuestion(), t)
    breakdown = messages[0]
    assert breakdown["response"] == "utter_answer_ask_premium_for_income"
    assert breakdown["income"] == "Rp3.000.000"
    assert breakdown["jkm"] == "Rp6.800"
    assert breakdown["total"] == rupiah(int(breakdown["jkk"][2:].replace(".", "")) + 6_800)
    # Above the confirmed lowest bracket the figure is said to be an estimate.
    assert messages[1]["response"] == "utter_premium_estimate_note"


async def test_premium_at_one_million_uses_the_confirmed_figures_without_a_caveat() -> None:
    t = tracker("ask_contribution", entities=[{"entity": "money", "value": 1_000_000}])
    messages, _ = await run(ActionAnswerQuestion(), t)
    assert len(messages) == 1
    assert (messages[0]["total"], messages[0]["total_with_jht"]) == ("Rp16.800", "Rp36.800")


async def test_premium_question_without_income_asks_for_it() -> None:
    messages, _ = await run(ActionAnswerQuestion(), tracker("ask_premium_for_income"))
    assert [m["response"] for m in messages] == ["utter_premium_ask_income"]


async def test_low_confidence_offers_the_three_likeliest_topics() -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "ask_jkm", "confidence": 0.40},
        {"name": "greet", "confidence": 0.30},  # small talk is never offered
        {"name": "ask_claim", "confidence": 0.20},
        {"name": "ask_jkk", "confidence": 0.10},
        {"name": "ask_jht", "confidence": 0.05},
    ]
    messages, _ = await run(ActionSuggestTopics(), tracker("nlu_fallback", ranking=ranking))
    assert messages[0]["response"] == "utter_suggest_topics"
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/ask_jkm", "/ask_claim", "/ask_jkk"]
    assert messages[0]["buttons"][0]["title"] == "Jaminan kematian (JKM)"


async def test_no_likely_topic_falls_back_to_the_default_reply() -> None:
    ranking = [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "greet", "confidence": 0.4}]
    messages, _ = await run(ActionSuggestTopics(), tracker("nlu_fallback", ranking=ranking))
    assert [m["response"] for m in messages] == ["utter_default"]


async def test_unclear_consent_answer_says_what_to_send_and_keeps_asking() -> None:
    t = tracker("greet", slots={"requested_slot": "consent_given"}, active_loop="consent_form")
    messages, events = await run(ValidateConsentForm(), t)
    assert [m["response"] for m in messages] == ["utter_invalid_consent_given"]
    assert {"event": "slot", "name": "consent_given", "value": None} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


async def test_a_question_during_consent_is_answered_and_consent_asked_again() -> None:
    t = tracker("ask_jkm", slots={"requested_slot": "consent_given"}, active_loop="consent_form")
    messages, events = await run(ValidateConsentForm(), t)
    assert [m["response"] for m in messages] == ["utter_answer_ask_jkm"]
    assert [(e["name"], e["value"]) for e in events] == [("consent_given", None)]


async def test_cancel_at_consent_is_no_consent_and_a_bot_question_goes_to_the_rules() -> None:
    t = tracker("cancel", slots={"requested_slot": "consent_given"}, active_loop="consent_form")
    _, events = await run(ValidateConsentForm(), t)
    assert ("consent_given", False) in [(e["name"], e["value"]) for e in events]
    t = tracker(
        "bot_challenge", slots={"requested_slot": "consent_given"}, active_loop="consent_form"
    )
    messages, events = await run(ValidateConsentForm(), t)
    assert messages == [] and events == []


async def test_village_question_suggests_villages_of_the_nik_regency() -> None:
    from actions.registration import ActionAskVillage

    t = tracker("inform", slots={"nik": "3504015207850002", "requested_slot": "village"})
    messages, _ = await run(ActionAskVillage(), t)
    assert messages[0]["response"] == "utter_ask_village_suggest"
    assert messages[0]["regency"] == "Tulungagung"
    assert [b["title"] for b in messages[0]["buttons"]] == ["Bendosari", "Tanjung"]
    assert messages[0]["buttons"][0]["payload"] == '/inform{"village": "Bendosari"}'

    unknown = tracker("inform", slots={"nik": "1101015207850002", "requested_slot": "village"})
    messages, _ = await run(ActionAskVillage(), unknown)
    assert [m["response"] for m in messages] == ["utter_ask_village"]


async def test_unknown_village_takes_the_regency_from_the_nik() -> None:
    from actions.registration_form import Step, ValidateRegistrationForm

    t = tracker("inform", slots={"nik": "3504015207850002", "requested_slot": "village"})
    result = ValidateRegistrationForm().check_village(
        "Sumberejo",
        Step(CollectingDispatcher(), t, DOMAIN, {}, context=None),  # reads none
    )
    assert result == {"village": "Sumberejo", "district": None, "regency": "Tulungagung"}


def test_every_participant_status_has_a_label_for_the_status_reply() -> None:
    from bot.domain.payments import ParticipantStatus

    for status in ParticipantStatus:
        assert f"utter_status_label_{status.value}" in DOMAIN["responses"], status
