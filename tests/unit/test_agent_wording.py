"""An agent's day in the agent's own words (issue 28), read from domain.yml, the dialogue
rules and the NLU data: the agent menu offers every command, each command is an intent a
rule acts on and has words of its own (with held-out examples never copied into training),
and inside a walk-in every reply speaks about "warga", never to the agent as if they were
the resident, and offers them no "Chat dengan agen"."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from bot.infra.settings import PROJECT_ROOT
from bot.understanding.agent_messages import asks_for_own_residents

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text("utf-8"))
RULES: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "nlu" / "rules.yml").read_text("utf-8"))
RESPONSES: dict[str, list[dict[str, Any]]] = DOMAIN["responses"]

#: What an agent does in a day, each a menu option and an intent.
AGENT_COMMANDS = frozenset(
    {
        "agent_my_residents", "agent_arrears", "agent_summary", "agent_register_resident",
        "agent_unreachable", "agent_record_payment", "agent_jimpitan", "agent_tickets",
        "change_number",
    }
)  # fmt: skip


def _examples(path: str) -> dict[str, list[str]]:
    """Each intent's examples as typed (entity annotations removed), lower case."""
    found: dict[str, list[str]] = {}
    for item in yaml.safe_load((PROJECT_ROOT / path).read_text("utf-8"))["nlu"]:
        if "intent" not in item:
            continue
        for line in item["examples"].splitlines():
            text = re.sub(r"\[([^\]]+)\]\{[^}]+\}", r"\1", line.strip().removeprefix("- "))
            if text.strip():
                found.setdefault(item["intent"], []).append(text.strip().lower())
    return found


def _training() -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for path in sorted((PROJECT_ROOT / "nlu" / "data").glob("*.yml")):
        for intent, texts in _examples(str(path.relative_to(PROJECT_ROOT))).items():
            merged.setdefault(intent, []).extend(texts)
    return merged


TRAINING = _training()
HELD_OUT = _examples("tests/nlu/held_out.yml")


def _rule_intents() -> set[str]:
    intents: set[str] = set()
    for rule in RULES["rules"]:
        for step in rule["steps"]:
            intents.update(o["intent"] for o in step.get("or", []) if "intent" in o)
            if "intent" in step:
                intents.add(step["intent"])
    return intents


def test_the_agent_menu_offers_every_command_by_number() -> None:
    [menu] = RESPONSES["utter_agent_menu"]
    payloads = [button["payload"].removeprefix("/") for button in menu["buttons"]]
    assert set(payloads) == AGENT_COMMANDS and len(payloads) == len(AGENT_COMMANDS)
    # The first five keep their numbers (agents learnt them; tests/e2e/test_agents.py).
    assert payloads[:5] == [
        "agent_my_residents", "agent_arrears", "agent_summary", "agent_register_resident",
        "agent_unreachable",
    ]  # fmt: skip


@pytest.mark.parametrize("intent", sorted(AGENT_COMMANDS | {"agent_menu"}))
def test_every_agent_command_is_an_intent_a_rule_acts_on(intent: str) -> None:
    assert intent in DOMAIN["intents"]
    assert intent in _rule_intents()


@pytest.mark.parametrize("intent", sorted(AGENT_COMMANDS | {"agent_menu"}))
def test_every_agent_command_has_words_and_held_out_words(intent: str) -> None:
    assert len(TRAINING.get(intent, [])) >= 10
    assert len(HELD_OUT.get(intent, [])) >= 3


def test_no_held_out_sentence_is_in_the_training_data() -> None:
    training = {text for texts in TRAINING.values() for text in texts}
    held_out = {text for texts in HELD_OUT.values() for text in texts}
    assert sorted(held_out & training) == []


@pytest.mark.parametrize(
    "text",
    [
        "warga saya", "Warga saya?", "lihat warga saya", "wargaku", "wargane kulo", "peserta sy",
        "warga saya siapa aja", "warga yang sudah saya daftarkan", "list warga yg sy daftarin",
        "warga sing wis tak daftarke", "peserta yang pernah saya input",
    ],
)  # fmt: skip
def test_my_residents_is_a_list_whatever_the_classifier_says(text: str) -> None:
    assert asks_for_own_residents(text)


@pytest.mark.parametrize(
    "text",
    [
        "daftarkan warga saya", "warga saya mau daftar", "daftarkan warga", "ada warga mau daftar",
        "tolong daftarkan warga yang datang", "saya mau daftarkan warga saya",
        "daftarin warga ini, no wa 0812 3456 7890", "warga baru saya",
    ],
)  # fmt: skip
def test_a_walk_in_request_is_no_list(text: str) -> None:
    assert not asks_for_own_residents(text)


def test_a_greeting_is_answered_by_the_action_that_checks_the_identity() -> None:
    greet = [rule for rule in RULES["rules"] if rule["rule"] == "greet"]
    assert greet and greet[0]["steps"] == [{"intent": "greet"}, {"action": "action_greet"}]
    assert "action_greet" in DOMAIN["actions"]


# --- inside a walk-in ------------------------------------------------------------------------

#: Replies the registration form (and the questions answered inside it) may send while an
#: agent registers a walk-in: by prefix (the form builds some names, "utter_invalid_{slot}")
#: and by name.
WALK_IN_PREFIXES = (
    "utter_ask_", "utter_invalid_", "utter_not_eligible_", "utter_income_", "utter_village_",
    "utter_choose_", "utter_nik_", "utter_answer_", "utter_outside_",
)  # fmt: skip
WALK_IN_NAMES = frozenset(
    {
        "utter_agent_registration_start", "utter_registration_summary",
        "utter_registration_cancelled", "utter_what_to_correct", "utter_fields_noted",
        "utter_field_corrected", "utter_offer_human_help", "utter_question_not_understood_in_form",
        "utter_birth_date_mismatch", "utter_premium_ask_income", "utter_premium_estimate_note",
        "utter_iamabot", "utter_out_of_scope_in_form", "utter_walk_in_phone_is_agent",
        "utter_resident_code_not_sent", "utter_agent_code_sent", "utter_agent_resident_registered",
        "utter_agent_code_nothing_waiting",
    }
)  # fmt: skip
#: Questions of other forms, never asked in a walk-in.
OTHER_FORMS = frozenset(
    {"utter_ask_consent_given", "utter_invalid_consent_given", "utter_ask_dispute_confirmed"}
)
WALK_IN_RESPONSES = sorted(
    name
    for name in RESPONSES
    if (name.startswith(WALK_IN_PREFIXES) or name in WALK_IN_NAMES) and name not in OTHER_FORMS
)


def _walk_in_variations(name: str) -> list[dict[str, Any]]:
    """The variations Rasa chooses from while registering_for_resident is set: the
    conditional ones for it, else the unconditional ones."""
    variations = RESPONSES[name]
    walk_in = [
        v
        for v in variations
        if any(
            c.get("name") == "registering_for_resident" and c.get("value") is True
            for c in v.get("condition", [])
        )
    ]
    return walk_in or [v for v in variations if "condition" not in v]


def test_the_walk_in_replies_are_found() -> None:
    assert len(WALK_IN_RESPONSES) > 60
    assert {"utter_invalid_nik_length", "utter_answer_ask_claim"} <= set(WALK_IN_RESPONSES)


@pytest.mark.parametrize("name", WALK_IN_RESPONSES)
def test_inside_a_walk_in_the_reply_speaks_about_the_resident(name: str) -> None:
    for variation in _walk_in_variations(name):
        text = variation.get("text", "")
        assert not re.search(r"\bAnda\b", text, re.IGNORECASE), text
        assert 'ketik "daftar"' not in text.lower(), text  # the agent's word is "daftarkan warga"
        payloads = [button["payload"] for button in variation.get("buttons", [])]
        assert not [p for p in payloads if p.startswith("/ask_human")], name


@pytest.mark.parametrize(
    ("text", "walk_in"),
    [
        ("tolong daftarkan bapak ini ya, namanya Parmin, NIK 3523031504662940", True),
        ("daftarin ibu ini", True),
        ("tolong didaftarke mbah iki", True),
        ("ngadaftarkeun warga anyar", True),
        ("bisa daftarkan warga tanpa hp?", False),  # a question: answered
        ("warga saya", False),  # the agent's list
        ("mau daftar", False),  # the sender's own registration
    ],
)
def test_a_request_to_register_someone_in_any_words(text: str, walk_in: bool) -> None:
    from bot.understanding.agent_messages import asks_to_register_someone

    assert asks_to_register_someone(text) is walk_in


def test_the_agent_reads_every_hand_over_stage_and_rejection_reason() -> None:
    """A walk-in not yet accepted by BPJS is listed with where it stands, a rejection with
    its reason in a few words the agent can act on (issue 29)."""
    from bot.domain.submissions import RejectionReason, SubmissionState

    for state in SubmissionState:
        if state is not SubmissionState.ACCEPTED:
            assert f"utter_agent_handover_{state.value}" in RESPONSES, state
    assert "{reason}" in RESPONSES["utter_agent_handover_rejected"][0]["text"]
    from bot import messages

    for reason in RejectionReason:
        text = messages.REJECTION_FOR_AGENT[reason]
        assert len(text) <= 80 and "Anda" not in text, text  # about the resident, short


def test_every_reason_put_right_in_chat_is_said_when_the_correction_opens() -> None:
    from bot.domain.submissions import RejectionReason, is_fixed_in_chat

    for reason in RejectionReason:
        if is_fixed_in_chat(reason):
            text = RESPONSES[f"utter_correction_reason_{reason.value}"][0]["text"]
            assert "perbaiki data" not in text and not text.endswith(".")  # they just typed it
