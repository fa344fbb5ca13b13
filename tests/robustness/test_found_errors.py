"""The exceptions the generated run found (tests/robustness/test_generated_registrations.py),
each replayed as the turn that raised, through the same in-process executor."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import ActionExecutor

from bot.app_context import AppContext
from tests.robustness.rasa_loop import REGISTRATION_FORM, Conversation, parsed

#: Born 9 September 1985 (a woman: day + 40).
NIK_1985 = "3516044909850001"


def responses(talk: Conversation) -> list[str]:
    assert talk.turn is not None
    return [str(r.get("response")) for r in talk.turn.replies]


async def test_a_field_refused_before_consent_is_emptied_and_asked(
    context: AppContext, executor: ActionExecutor, domain: dict[str, Any]
) -> None:
    """A 16-digit number that is no NIK, sent with "daftar", was kept in the NIK slot when
    the form started: the NIK was never asked, and the birth date's check (and the summary)
    raised InvalidNik on it."""
    talk = Conversation(executor, domain, "tg:7100001")
    today = context.clock.today()
    talk.latest_message = parsed("nama Nurhayati nik 0006281235226271", today, "start_registration")
    talk.turn = await talk.user(talk.latest_message)  # action_start_registration
    assert talk.slots["early_fields"]["nik"] == "0006281235226271"
    talk.slots.update(talk.slots.pop("early_fields"))  # what action_record_consent sets
    await talk.activate_registration()
    assert not talk.turn.failures, talk.turn.failures
    assert talk.slots["nik"] is None, (talk.events, talk.turn.replies)
    assert talk.slots["full_name"] == "Nurhayati"
    assert talk.slots["requested_slot"] == "nik"
    turn = await talk.user(parsed("lahir 20-11-2000", today))
    assert not turn.failures and turn.replies


async def test_a_birth_date_emptied_by_the_nik_after_it_is_not_named_back(
    context: AppContext, executor: ActionExecutor, domain: dict[str, Any]
) -> None:
    """A birth date noted first, then a NIK naming another one in the same message: the
    NIK's check empties the birth date, and naming it back raised ValueError ('None' is
    no date)."""
    talk = Conversation(executor, domain, "tg:7100002")
    talk.active_loop = REGISTRATION_FORM
    talk.slots = {"requested_slot": "full_name"}
    text = f"namaku Dewi Lestari, lahir 9 september 1982, nik {NIK_1985}"
    turn = await talk.user(parsed(text, context.clock.today()))
    assert not turn.failures
    assert talk.slots["nik"] == NIK_1985 and talk.slots.get("birth_date") is None
    noted = [r for r in turn.replies if r.get("response") == "utter_fields_noted"]
    assert all("1982" not in str(r.get("fields")) for r in noted)
    assert talk.slots["requested_slot"] == "birth_date"


async def test_a_birth_date_before_consent_is_not_checked_against_a_refused_nik(
    context: AppContext, executor: ActionExecutor, domain: dict[str, Any]
) -> None:
    """Fields kept before consent are checked as the form starts; the birth date's check
    read the NIK slot, still holding a NIK with no such month, and raised InvalidNik."""
    talk = Conversation(executor, domain, "tg:7100003")
    today = context.clock.today()
    text = "daftar, nik 3523302113604806, lahir 21-11-1960"
    talk.turn = await talk.user(parsed(text, today, "start_registration"))
    early = talk.slots.pop("early_fields")
    assert early["nik"] == "3523302113604806" and early["birth_date"] == "1960-11-21"
    talk.slots.update(early)
    await talk.activate_registration()
    assert not talk.turn.failures, talk.turn.failures
    assert talk.slots["nik"] is None and talk.slots["birth_date"] == "1960-11-21"
    assert talk.slots["requested_slot"] == "full_name"
