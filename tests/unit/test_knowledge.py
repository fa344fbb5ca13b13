"""Answers residents can trust: every answer has a source, and every number it states is a
named domain constant (bot/domain/benefits.py) written the way the answer writes it."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
import yaml

from actions.questions import QUESTION_INTENTS
from bot.domain.benefits import key_figures
from bot.infra.settings import PROJECT_ROOT
from nlu.parsing.money import find_money

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
KNOWLEDGE = tomllib.loads((PROJECT_ROOT / "bot/domain/data/knowledge.toml").read_text())
ANSWERS = {k: v for k, v in DOMAIN["responses"].items() if k.startswith("utter_answer_")}
PRODUCT_STATE = {k for k, v in KNOWLEDGE.items() if v["status"] == "statement about Sadar itself"}
#: Screen of a cheap phone: about 12 lines of 40 characters.
MAX_ANSWER_CHARS = 480


def figure_value(figure: str) -> int:
    amounts = [f for f in find_money(figure) if f.value >= 1000]
    if amounts:
        return int(amounts[0].value)
    return int(re.findall(r"\d+", figure)[-1])


def test_every_answer_has_a_source_and_a_check_date() -> None:
    assert set(ANSWERS) == set(KNOWLEDGE), "domain.yml answers and knowledge.toml differ"
    for name, entry in KNOWLEDGE.items():
        assert entry["source"].strip(), name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["checked_on"]), name


@pytest.mark.parametrize("name", sorted(KNOWLEDGE))
def test_each_stated_figure_equals_its_domain_constant(name: str) -> None:
    text = ANSWERS[name][0]["text"]
    figures = KNOWLEDGE[name]["figures"]
    constants = key_figures()
    for written, constant in figures.items():
        assert written in text, f"{name}: {written!r} is not in the answer"
        assert figure_value(written) == constants[constant], f"{name}: {written!r} != {constant}"


@pytest.mark.parametrize("name", sorted(set(KNOWLEDGE) - {"utter_answer_ask_premium_for_income"}))
def test_no_number_in_an_answer_is_unaccounted_for(name: str) -> None:
    """A number not declared as a figure would be an unchecked (possibly invented) fact."""
    text = ANSWERS[name][0]["text"]
    for written in [*KNOWLEDGE[name]["figures"], *KNOWLEDGE[name].get("examples", [])]:
        text = text.replace(written, "")
    assert re.findall(r"\d+", text) == [], f"{name} states numbers not checked: {text!r}"


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_answers_fit_a_phone_screen_and_offer_a_next_step(name: str) -> None:
    answer = ANSWERS[name][0]
    assert len(answer["text"]) <= MAX_ANSWER_CHARS, f"{name}: {len(answer['text'])} chars"
    if name not in PRODUCT_STATE - {"utter_answer_report_payment"}:
        assert answer.get("buttons"), f"{name} ends without a next step"


def test_every_question_is_covered_by_three_held_out_phrasings() -> None:
    held_out = yaml.safe_load((PROJECT_ROOT / "tests/nlu/held_out.yml").read_text())["nlu"]
    counts = {
        block["intent"]: len([line for line in block["examples"].splitlines() if line.strip()])
        for block in held_out
    }
    for intent in QUESTION_INTENTS:
        assert counts.get(intent, 0) >= 3, intent


def test_a_changed_constant_would_be_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.domain.benefits as benefits

    monkeypatch.setattr(benefits, "JKM_TOTAL", 45_000_000)
    with pytest.raises(AssertionError):
        test_each_stated_figure_equals_its_domain_constant("utter_answer_ask_jkm")
