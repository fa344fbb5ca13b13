"""The dialogue corpora (tests/dialogues/) end to end: each conversation through the
gateway, the real Rasa server and the real action server, then the database.

The tuned part must pass step for step. The held-out part (written before the bot was
changed, never tuned on) is judged as a whole: its figure is reported against the 95%
target by `make dialogue-eval` (and docs/nlu.md), and the build fails only below a floor
that catches a regression (the bot before the interpreter scored 75.2%)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from bot import messages
from bot.domain.places import place_key
from bot.infra.crypto import PiiCipher
from bot.infra.region_register import place_register
from bot.infra.settings import PROJECT_ROOT
from bot.services.agents import enrol_agent
from bot.services.unit_of_work import UnitOfWork
from tests.e2e.conftest import Stack, participant_by_nik
from tests.support.dialogues import (
    Conversation,
    ConversationResult,
    DialoguePlayer,
    load_all,
    question_patterns,
)

CONVERSATIONS = load_all()
TUNED = [c for c in CONVERSATIONS if c.part == "tuned"]
#: The held-out parts, each written before the bot changes it measures and never tuned on:
#: ``held_out`` before the interpreter (its misses were later read, so it is no longer
#: unseen), ``held_out_2`` before the third session's changes, ``held_out_3`` before the
#: linking and number-change conversations of issue 19 were played.
HELD_OUT_PARTS = ("held_out", "held_out_2", "held_out_3")
HELD_OUT = [c for c in CONVERSATIONS if c.part in HELD_OUT_PARTS]
#: Held-out parts written for issues 27 (residents in the styles of several regions: places,
#: numbers and dates in words, refusals, requests with data) and 28 (an agent's day in the
#: agent's own words), before any change they measure. They measure work still to be done,
#: so they have no floor yet: `make dialogue-eval` plays and reports them
#: (SADAR_DIALOGUE_UNSEEN=1), the ordinary test run does not. ``held_out_8`` (corrections)
#: was read after its first figure (docs/nlu.md), so it is no longer unseen; ``held_out_9``
#: covers the same ground (corrections inside answers, numbers and dates in words, KPJ and
#: status questions) in wording nobody read.
UNSEEN_PARTS = (
    "held_out_4", "held_out_5", "held_out_6", "held_out_7", "held_out_8", "held_out_9",
)  # fmt: skip
HELD_OUT_STEP_TARGET = 0.95
HELD_OUT_STEP_FLOOR = 0.90
#: Every result of this run, for the summary that `make dialogue-eval` prints.
RESULTS: list[ConversationResult] = []


@pytest.fixture(scope="module")
def player(stack: Stack) -> Iterator[DialoguePlayer]:
    from bot.db.engine import make_engine, make_session_factory

    engine = make_engine(stack.settings.database_url)
    sessions: sessionmaker[Session] = make_session_factory(engine)
    cipher = PiiCipher(stack.settings.pii_encryption_keys.get_secret_value())
    agents: dict[str, str] = {}

    def agent_number(conversation: Conversation) -> str:
        if conversation.name not in agents:
            number = f"+62816{uuid.uuid4().int % 10**7:07d}"
            enrol_agent(
                UnitOfWork(sessions), cipher, stack.settings.pii_hash_key.get_secret_value(),
                name="Ratna Perisai", phone=number, village="Karanglo", district="Kerek",
                regency="Tuban",
            )  # fmt: skip
            agents[conversation.name] = number
        return agents[conversation.name]

    def send(conversation: Conversation, sender: str, text: str) -> list[str]:
        if conversation.agent:
            return stack.whatsapp(agent_number(conversation), text)
        if conversation.channel == "whatsapp":
            return stack.whatsapp(sender, text)
        return [r["text"] for r in stack.chat(sender, text) if r.get("text")]

    def find_record(nik: str) -> dict[str, Any] | None:
        participant = participant_by_nik(sessions, nik)
        if participant is None:
            return None
        return {
            "full_name": cipher.decrypt(participant.full_name_encrypted),
            "with_jht": participant.with_jht,
            "occupation": participant.occupation,
            "village": participant.village,
            "declared_income": int(cipher.decrypt(participant.income_encrypted)),
            "phone": cipher.decrypt(participant.phone_encrypted),
            "birth_date": cipher.decrypt(participant.birth_date_encrypted),
        }

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))

    yield DialoguePlayer(send, question_patterns(domain), find_record, stack.twilio.last_code)
    engine.dispose()


def _sender(conversation: Conversation) -> str:
    if conversation.channel == "whatsapp":
        return f"+62817{uuid.uuid4().int % 10**7:07d}"
    return f"dialogue-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("conversation", TUNED, ids=str)
def test_tuned_conversation(player: DialoguePlayer, conversation: Conversation) -> None:
    result = player.play(conversation, _sender(conversation))
    RESULTS.append(result)
    assert result.passed, result.transcript()


@pytest.mark.parametrize("part", HELD_OUT_PARTS)
def test_held_out_conversations_stay_above_the_floor(player: DialoguePlayer, part: str) -> None:
    results = [player.play(c, _sender(c)) for c in HELD_OUT if c.part == part]
    RESULTS.extend(results)
    steps = [step for result in results for step in result.steps]
    rate = sum(step.passed for step in steps) / len(steps)
    failed = "\n\n".join(r.transcript() for r in results if not r.passed)
    print(f"{part} step pass rate {rate:.1%} (target {HELD_OUT_STEP_TARGET:.0%})\n{failed}")
    assert rate >= HELD_OUT_STEP_FLOOR, f"{part} step pass rate {rate:.1%}\n\n{failed}"


@pytest.mark.skipif(
    not os.environ.get("SADAR_DIALOGUE_UNSEEN"), reason="measured by `make dialogue-eval`"
)
@pytest.mark.parametrize("part", UNSEEN_PARTS)
def test_unseen_part_is_played_and_reported(player: DialoguePlayer, part: str) -> None:
    conversations = [c for c in CONVERSATIONS if c.part == part]
    results = [player.play(c, _sender(c)) for c in conversations]
    RESULTS.extend(results)
    steps = [step for result in results for step in result.steps]
    assert len(conversations) >= 12 and steps, f"{part} has no conversation to play"
    rate = sum(step.passed for step in steps) / len(steps)
    print(f"{part} step pass rate {rate:.1%} (target {HELD_OUT_STEP_TARGET:.0%})")
    if os.environ.get("SADAR_DIALOGUE_TRANSCRIPTS"):  # off by default: the parts stay unread
        print("\n\n".join(r.transcript() for r in results if not r.passed))
    # Issue 27: never a non-village (or a non-kecamatan) shown back, and stored, as one.
    not_villages = [
        f"{result.conversation.name}: {village!r}, {district!r}"
        for result in results
        for step in result.steps
        for reply in step.replies
        for village, district in summary_places(reply)
        if not is_register_place(village, district)
    ]
    print(f"{part} summaries showing a non-village as the village: {len(not_villages)}")
    assert not_villages == []
    # No floor on understanding yet, but no step may end in a failed action: however a
    # resident words it, the bot answers (issue 27: 0 server errors).
    failed_turns = [
        f"{result.conversation.name}: {step.user!r}"
        for result in results
        for step in result.steps
        if any(messages.NO_REPLY in reply for reply in step.replies)
    ]
    assert failed_turns == [], failed_turns


def summary_places(reply: str) -> list[tuple[str, str]]:
    """The village and kecamatan a summary shows back ("• Desa: Sumurgung, Tuban, Tuban")."""
    return re.findall(r"Desa: ([^,\n]+), ([^,\n]+),", reply)


def is_register_place(village: str, district: str) -> bool:
    register = place_register()
    districts = register.districts_named(place_key(district))
    return any(
        code.startswith(area + ".")
        for code in register.villages_named(place_key(village))
        for area in districts
    )


def test_the_corpus_is_large_enough_and_a_fifth_is_held_out() -> None:
    assert len(CONVERSATIONS) >= 80
    # Every part not tuned on counts: the floored ones and the unseen ones reported apart.
    never_tuned = [c for c in CONVERSATIONS if c.part != "tuned"]
    assert len(never_tuned) * 5 >= len(CONVERSATIONS)
