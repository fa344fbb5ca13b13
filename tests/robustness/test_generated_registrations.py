"""Issue 27, point 6: no exception reaches the resident. Thousands of generated messages and
short dialogues (random field subsets, ages at and beyond both limits, both sexes, mixed
orders, noise words, typos) go through the real actions: the entities as Sadar's NLU
pipeline extracts them, an intent drawn from the domain's, and ValidateRegistrationForm
with the actions around it run by rasa-sdk's executor in-process, on a real AppContext over
SQLite with a fixed clock (tests/robustness/rasa_loop.py). Not one action may raise, and
every turn gets a reply. A seeded generator: the same run on every machine and day."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from contextlib import suppress
from datetime import date
from typing import Any

from rasa_sdk.executor import ActionExecutor

from bot.app_context import AppContext
from bot.domain.nik import parse_nik
from bot.infra.settings import PROJECT_ROOT
from nlu.parsing.identifiers import normalise_phone
from nlu.parsing.lookups import occupations
from tests.robustness import residents as gen
from tests.robustness.conftest import AGENT_SENDER, SUMMARY
from tests.robustness.rasa_loop import (
    REGISTRATION_FORM,
    ActionFailed,
    Conversation,
    Failure,
    Turn,
    parse,
)
from tests.support.clock import fixed_clock

SEED = 20_261_120
MESSAGES = 5_000
DIALOGUES = 1_200
MAX_TURNS = 16
FIELDS = [
    "full_name", "nik", "birth_date", "phone", "village", "occupation", "declared_income",
    "with_jht",
]  # fmt: skip
STEPS = [
    "full_name", "nik", "birth_date", "phone", "village", "district", "regency", "occupation",
    "declared_income", "with_jht", "registration_confirmed", "resident_consent",
]  # fmt: skip


class Run:
    """The whole run's tally: turns, replies, failures."""

    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.dialogues = 0
        self.messages = 0

    def add(self, turn: Turn) -> None:
        self.turns.append(turn)

    @property
    def failures(self) -> list[Failure]:
        return [f for t in self.turns for f in t.failures]

    def kinds(self) -> dict[str, tuple[int, str]]:
        """Failures by action, exception and the project line that raised: how many, and
        the first one in full."""
        kinds: dict[str, tuple[int, str]] = {}
        for f in self.failures:
            frames = [x for x in f.trace.splitlines() if str(PROJECT_ROOT) in x]
            where = [x for x in frames if "/tests/" not in x]
            kind = f"{f.action} {f.error.split(':')[0]} {(where or frames)[-1].strip()}"
            count, example = kinds.get(kind, (0, ""))
            kinds[kind] = (count + 1, example or f"{f.step!r} {f.text!r}\n{f.slots}\n{f.trace}")
        return kinds

    @property
    def silent(self) -> list[str]:
        return [t.text for t in self.turns if not t.replies and not t.failures]


def valid_slots(rng: random.Random, who: gen.Resident, context: AppContext) -> dict[str, Any]:
    """The slots a form has once a field was accepted (normalised values)."""
    nik = gen.nik_for(rng, who.birth_date, who.female)  # a slot holds only a checked NIK
    return {
        "full_name": who.full_name,
        "nik": nik,
        "birth_date": parse_nik(nik, context.clock.today()).birth_date.isoformat(),
        "phone": normalise_phone(who.phone),
        "village": who.village,
        "district": who.district or "Sukamaju",
        "regency": "Tuban",
        "occupation": rng.choice(occupations()).code,
        "declared_income": float(max(who.income, 100_000)),
        "with_jht": who.with_jht,
    }


def sender(rng: random.Random, serial: int) -> str:
    """WhatsApp, Telegram or the web chat (whose link request finds no WhatsApp sender
    configured here, as on a fresh setup)."""
    roll = rng.random()
    if roll < 0.4:
        return f"wa:+62857{serial:08d}"
    if roll < 0.8:
        return f"tg:{7_000_000 + serial}"
    return f"web:{uuid.UUID(int=rng.getrandbits(128)).hex}"


def _new_resident(
    rng: random.Random,
    serial: int,
    context: AppContext,
    executor: ActionExecutor,
    domain: dict[str, Any],
) -> tuple[date, tuple[int, int], Any, Conversation, list[str]]:
    """A generated resident, a conversation for them and what parsing their messages needs."""
    today = context.clock.today()
    limits = (context.settings.min_registration_age, context.settings.max_registration_age)
    who = gen.resident(rng, today, *limits)
    return (
        today,
        limits,
        who,
        Conversation(executor, domain, sender(rng, serial)),
        list(domain["intents"]),
    )


async def one_message(
    rng: random.Random,
    run: Run,
    serial: int,
    context: AppContext,
    executor: ActionExecutor,
    domain: dict[str, Any],
) -> None:
    """One multi-field message at a random step of a form partly filled already."""
    today, limits, who, talk, intents = _new_resident(rng, serial, context, executor, domain)
    text = gen.multi_field_message(rng, who, rng.sample(FIELDS, rng.randint(1, len(FIELDS))))
    if rng.random() < 0.2:
        # A first message with data: kept until consent, then checked as the form starts.
        turn = await talk.user(parse(rng, text, today, intents))
        if not turn.failures and talk.slots.get("early_fields"):
            talk.slots.update(talk.slots.pop("early_fields"))
            talk.slots["consent_record_id"] = None
            with suppress(ActionFailed):  # recorded in the turn
                await talk.activate_registration()
        run.add(turn)
        return
    step = rng.choice(STEPS)
    before = STEPS.index(step)
    filled = valid_slots(rng, gen.resident(rng, today, *limits), context)
    # Rasa asks the first empty required slot: those before the step are filled, and any
    # after it may be (given early).
    talk.slots = {
        name: value
        for name, value in filled.items()
        if name in STEPS[:before] or rng.random() < 0.2
    }
    talk.slots["requested_slot"] = step
    talk.slots["registering_for_resident"] = step == "resident_consent" or rng.random() < 0.1
    talk.active_loop = REGISTRATION_FORM
    likely = None
    if rng.random() < 0.3:
        text, likely = gen.answer_at(rng, step, who, FIELDS)
    if talk.slots["registering_for_resident"] and rng.random() < 0.5:
        talk.sender_id = AGENT_SENDER  # an enrolled agent registering a walk-in
    run.add(await talk.user(parse(rng, text, today, intents, likely)))


async def one_dialogue(
    rng: random.Random,
    run: Run,
    serial: int,
    context: AppContext,
    executor: ActionExecutor,
    domain: dict[str, Any],
) -> None:
    """From "daftar" (with data or not) through consent to the summary and submission."""
    today, _limits, who, talk, intents = _new_resident(rng, serial, context, executor, domain)
    first = "daftar"
    if rng.random() < 0.6:
        fields = rng.sample(FIELDS, rng.randint(1, len(FIELDS)))
        first = f"{rng.choice(['mau daftar', 'daftar', 'sy mau ikut bpjs'])}, " + (
            gen.multi_field_message(rng, who, fields)
        )
    message = parse(rng, first, today, intents)
    if rng.random() < 0.7:
        message["intent"]["name"] = "start_registration"
    if rng.random() < 0.15:
        # An enrolled agent starts a walk-in's registration from the agent menu.
        talk.sender_id = AGENT_SENDER
        talk.turn = Turn("daftarkan warga")
        run.add(talk.turn)
        try:
            await talk.call("action_agent_start_registration")
            await talk.activate_registration()
        except ActionFailed:
            return
        message = parse(rng, gen.answer_at(rng, "full_name", who, FIELDS)[0], today, intents)
    for number in range(MAX_TURNS):
        turn = await talk.user(message)
        run.add(turn)
        if turn.failures or (talk.active_loop is None and number > 0):
            break
        if talk.active_loop is None:  # told how to start: this resident starts properly
            message = parse(rng, "daftar", today, intents)
            message["intent"]["name"] = "start_registration"
            continue
        step = talk.slots.get("requested_slot")
        text, likely = gen.answer_at(rng, step, who, FIELDS)
        if step == "consent_given" and rng.random() < 0.85:
            text = rng.choice(gen.YES)
        message = parse(rng, text, today, intents, likely)


async def test_generated_messages_and_dialogues_never_raise(
    context: AppContext, executor: ActionExecutor, domain: dict[str, Any], agent: int
) -> None:
    rng = random.Random(SEED)
    run = Run()
    for serial in range(MESSAGES):
        await one_message(rng, run, serial, context, executor, domain)
        run.messages += 1
    for serial in range(DIALOGUES):
        await one_dialogue(rng, run, MESSAGES + serial, context, executor, domain)
        run.dialogues += 1
    replies = Counter(str(r.get("response")) for t in run.turns for r in t.replies)
    SUMMARY.append(
        f"in-process run: {run.messages} messages, {run.dialogues} dialogues, "
        f"{len(run.turns)} turns, {sum(replies.values())} replies, "
        f"{sum(t.left_to_rules for t in run.turns)} left to the rules, "
        f"{len(run.failures)} exceptions; "
        f"{replies['utter_registration_done'] + replies['utter_agent_resident_registered']} "
        f"registrations done, {replies['utter_not_eligible_too_old']} too old, "
        f"{replies['utter_not_eligible_too_young']} too young"
    )
    assert not run.failures, f"{len(run.failures)} actions raised:\n" + "\n".join(
        f"{count} x {kind}\n{example}" for kind, (count, example) in run.kinds().items()
    )
    assert not run.silent, f"turns without a reply: {run.silent[:10]}"
    # The run reaches what it is meant to exercise.
    assert replies["utter_not_eligible_too_old"] > 20
    assert replies["utter_not_eligible_too_young"] > 20
    assert replies["utter_registration_done"] > 10


def test_the_age_cases_sit_on_both_limits() -> None:
    """The generator's boundary residents are where the settings put the limits."""
    from datetime import date

    from bot.domain.registration import age_on

    today = date(2028, 2, 29)
    ages = {c.name: age_on(c.birth_date, today) for c in gen.age_cases(today, 18, 65)}
    assert ages == {
        "exactly the minimum": 18,
        "one day under the minimum": 17,
        "turned the maximum today": 65,
        "last day of the maximum": 65,
        "one day over the maximum": 66,
    }


def test_the_generated_run_is_the_same_every_time() -> None:
    """The generator draws only from the seeded generator it is given."""
    today = fixed_clock().today()
    first, second = random.Random(SEED), random.Random(SEED)
    assert [
        gen.multi_field_message(first, gen.resident(first, today, 18, 65), FIELDS)
        for _ in range(50)
    ] == [
        gen.multi_field_message(second, gen.resident(second, today, 18, 65), FIELDS)
        for _ in range(50)
    ]
