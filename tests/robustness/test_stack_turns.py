"""The generated residents through the real stack (Rasa's NLU and policies, the action
server, the gateway; tests/support/stack.py): a smaller run than the in-process one, with
the same generator and a fixed seed. No turn may be answered with the gateway's "something
went wrong" (bot/messages.py NO_REPLY), and every turn gets a reply."""

from __future__ import annotations

import random
import uuid

import pytest

from bot.messages import NO_REPLY
from tests.robustness import residents as gen
from tests.robustness.conftest import SUMMARY
from tests.support.clock import E2E_CLOCK_START
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

SEED = 27_006
FAILED_ACTION = "Encountered an exception while running action"
TURNS = 150
MAX_TURNS_PER_DIALOGUE = 12
FIELDS = [
    "full_name", "nik", "birth_date", "phone", "village", "occupation", "declared_income",
    "with_jht",
]  # fmt: skip


def action_errors(stack: Stack) -> int:
    """How many action failures Rasa has logged so far (other tests force some)."""
    log = stack.log_dir / "rasa.log"
    return log.read_text(errors="replace").count(FAILED_ACTION) if log.exists() else 0


def test_generated_dialogues_through_the_stack_never_meet_an_error(stack: Stack) -> None:
    rng = random.Random(SEED)
    today = E2E_CLOCK_START.date()
    limits = (stack.settings.min_registration_age, stack.settings.max_registration_age)
    failed_before = action_errors(stack)
    turns, dialogues, errors, silent, niks = 0, 0, [], [], set()
    while turns < TURNS:
        dialogues += 1
        who = gen.resident(rng, today, *limits)
        niks.add(who.nik)
        sender = f"robust-{uuid.UUID(int=rng.getrandbits(128)).hex[:10]}"
        text = "mau daftar"
        if rng.random() < 0.6:
            text = f"mau daftar, {gen.multi_field_message(rng, who, rng.sample(FIELDS, 3))}"
        for _ in range(MAX_TURNS_PER_DIALOGUE):
            replies = [r.get("text") or "" for r in stack.chat(sender, text)]
            turns += 1
            if any(NO_REPLY in r or "ada gangguan" in r.lower() for r in replies):
                errors.append((text, replies))
            if not replies:
                silent.append(text)
            tracker = stack.tracker(stack.web_sender(sender))
            loop = (tracker.get("active_loop") or {}).get("name")
            if loop is None or turns >= TURNS:
                break
            step = tracker["slots"].get("requested_slot")
            text, _ = gen.answer_at(rng, step, who, FIELDS)
            if step == "consent_given" and rng.random() < 0.85:
                text = rng.choice(gen.YES)
            text = text or "?"  # the web chat refuses an empty message
    SUMMARY.append(
        f"through the stack: {turns} turns in {dialogues} dialogues, {len(errors)} errors"
    )
    assert not errors, f"{len(errors)} turns answered with an error: {errors[:3]}\n{stack.logs()}"
    assert not silent, f"turns without a reply: {silent[:5]}"
    assert action_errors(stack) == failed_before
    # Whatever happened, no log holds a NIK the residents typed (issue 25).
    logs = {p.name: p.read_text(errors="replace") for p in stack.log_dir.glob("*.log")}
    assert {"rasa.log", "actions.log", "gateway.log"} <= set(logs)
    assert not [(n, f) for n in niks if len(n) >= 12 for f, text in logs.items() if n in text]
