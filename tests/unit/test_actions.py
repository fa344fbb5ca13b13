"""Action handlers with rasa-sdk's CollectingDispatcher and real domain.yml responses."""

from __future__ import annotations

import json
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


# ask_kpj is answered from the sender's record (tests/integration/test_registry_answers.py).
@pytest.mark.parametrize("intent", sorted(QUESTION_INTENTS - {"ask_premium_for_income", "ask_kpj"}))
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


async def test_village_question_names_the_nik_kecamatan_and_offers_desa_sadar_villages() -> None:
    from actions.registration import ActionAskVillage

    t = tracker("inform", slots={"nik": "3504015207850002", "requested_slot": "village"})
    messages, _ = await run(ActionAskVillage(), t)
    assert messages[0]["response"] == "utter_ask_village_suggest"
    assert (messages[0]["district"], messages[0]["regency"]) == ("Tulungagung", "Kab. Tulungagung")
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert titles == [
        "Bendosari, Kec. Ngantru, Kab. Tulungagung",
        "Tanjung, Kec. Kalidawir, Kab. Tulungagung",
    ]
    assert messages[0]["buttons"][0]["payload"] == "/inform" + json.dumps({"village": titles[0]})

    # No Desa Sadar village in the NIK's regency (Cilacap): the kecamatan is named, and
    # nothing says "pilih di bawah" when there is nothing to choose.
    cilacap = tracker("inform", slots={"nik": "3301015207850002", "requested_slot": "village"})
    messages, _ = await run(ActionAskVillage(), cilacap)
    assert messages[0]["response"] == "utter_ask_village_near"
    assert messages[0]["buttons"] == []
    assert messages[0]["regency"] == "Kab. Cilacap"

    # A kecamatan code the register does not know: the plain question.
    unknown = tracker("inform", slots={"nik": "3504995207850002", "requested_slot": "village"})
    messages, _ = await run(ActionAskVillage(), unknown)
    assert [m["response"] for m in messages] == ["utter_ask_village"]


async def _check_village(text: str, nik: str = "3523035207850002") -> tuple[dict, list]:
    from actions.registration_form import Step, ValidateRegistrationForm

    t = tracker("inform", slots={"nik": nik, "requested_slot": "village"})
    dispatcher = CollectingDispatcher()
    verdict = await ValidateRegistrationForm().check_village(
        text,
        Step(dispatcher, t, DOMAIN, {}, context=None),  # a resident: no agent looked up
    )
    return verdict, dispatcher.messages


async def test_a_village_of_the_register_is_stored_with_its_kecamatan_regency_and_code() -> None:
    verdict, messages = await _check_village("desa tegalagung kecamatan semanding")
    assert verdict == {
        "village": "Tegalagung",
        "district": "Semanding",
        "regency": "Tuban",
        "village_code": "35.23.15.2004",
        "village_choices": None,
        "village_pending": None,
    }
    assert messages == []
    # A typo near the NIK's regency is read as the village it is close to.
    verdict, _ = await _check_village("Tegalagng")
    assert verdict["village"] == "Tegalagung"


async def test_one_name_in_several_kecamatan_nearby_takes_the_nearest_and_offers_the_rest() -> None:
    verdict, messages = await _check_village("ds. sumurgung")
    # Three Sumurgung in the NIK's regency: the form goes on with the nearest kecamatan
    # (Montong, by Kemendagri number, to the NIK's Bangilan) and the others are offered.
    assert (verdict["village"], verdict["district"]) == ("Sumurgung", "Montong")
    assert [m["response"] for m in messages] == ["utter_village_assumed"]
    assert messages[0]["others"] == "Kec. Tuban, Kec. Palang"
    assert [b["title"] for b in messages[0]["buttons"]] == [
        "Sumurgung, Kec. Tuban, Kab. Tuban",
        "Sumurgung, Kec. Palang, Kab. Tuban",
    ]
    # The button's text names one place.
    verdict, messages = await _check_village("Sumurgung, Kec. Palang, Kab. Tuban")
    assert (verdict["village"], verdict["district"]) == ("Sumurgung", "Palang")
    assert messages == []


async def test_several_villages_far_from_the_nik_are_offered_by_the_village_question() -> None:
    from actions.registration import ActionAskVillage

    verdict, messages = await _check_village("kel. kebon jeruk")
    assert messages == []  # nothing stored, nothing said: the question offers the choices
    assert verdict == {"village_choices": ["18.71.05.1004", "31.73.05.1001", "32.73.05.1004"]}
    t = tracker("inform", slots={"requested_slot": "village", **verdict})
    asked, events = await run(ActionAskVillage(), t)
    assert asked[0]["response"] == "utter_choose_village"
    assert asked[0]["districts"] == "Kec. Tanjungkarang Timur, Kec. Kebon Jeruk, Kec. Andir"
    assert [(e["name"], e["value"]) for e in events] == [("village_choices", None)]
    # With its kecamatan and city in one breath, no comma: that one place.
    verdict, _ = await _check_village("kel. kebon jeruk kec. kebon jeruk jakarta barat")
    assert (verdict["village"], verdict["village_code"]) == ("Kebon Jeruk", "31.73.05.1001")


async def test_text_that_names_no_village_is_never_stored_as_one() -> None:
    for text in ("tidak", "ga usah jht deh", "dua jutaan", "saya gak mau kasih tau desa saya"):
        verdict, messages = await _check_village(text)
        assert verdict == {}, text
        assert [m["response"] for m in messages] == ["utter_invalid_village"], text
    verdict, messages = await _check_village("kec. tuban")
    assert verdict == {}
    assert messages[0]["response"] == "utter_village_in_district"
    assert messages[0]["district"] == "Tuban"


def test_every_participant_status_has_a_label_for_the_status_reply() -> None:
    from bot.domain.payments import ParticipantStatus

    for status in ParticipantStatus:
        assert f"utter_status_label_{status.value}" in DOMAIN["responses"], status
