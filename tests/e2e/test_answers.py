"""Every answer in the knowledge base is reached by held-out phrasings through the whole
stack (tests/nlu/held_out.yml; never used for training)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import yaml

from actions.questions import QUESTION_INTENTS
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.understanding.handoff_messages import wants_a_person
from tests.e2e.conftest import Stack

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
PHRASINGS_PER_ANSWER = 3


def held_out_phrasings(intent: str) -> list[str]:
    blocks = yaml.safe_load((PROJECT_ROOT / "tests/nlu/held_out.yml").read_text())["nlu"]
    block = next(b for b in blocks if b["intent"] == intent)
    lines = [line[2:].strip() for line in block["examples"].splitlines() if line.strip()]
    plain = [re.sub(r"\[([^\]]+)\]\{[^}]+\}", r"\1", line) for line in lines]
    return plain[:PHRASINGS_PER_ANSWER]


@pytest.mark.parametrize("intent", sorted(QUESTION_INTENTS))
def test_answer_is_reached_by_three_held_out_phrasings(stack: Stack, intent: str) -> None:
    expected = DOMAIN["responses"][f"utter_answer_{intent}"][0]["text"]
    if intent == "ask_requirements":  # the age limits are filled in from the settings
        settings = Settings(_env_file=None)
        expected = expected.format(
            minimum=settings.min_registration_age, maximum=settings.max_registration_age
        )
    for phrasing in held_out_phrasings(intent):
        replies = stack.chat(f"e2e-{uuid.uuid4().hex[:8]}", phrasing)
        first = replies[0].get("text") or ""
        if intent == "ask_premium_for_income":
            assert first.startswith("Untuk penghasilan Rp"), (phrasing, first)
        elif intent == "ask_human" and wants_a_person(phrasing):
            # An explicit request for a person is handed to an agent (issue 18).
            assert re.search(r"\(T-\d+\)", first) and "selesai" in first, (phrasing, first)
        else:
            assert first == expected, (phrasing, first)
