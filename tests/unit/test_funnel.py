"""The funnel read from action calls (bot/domain/funnel.py): each call as the action server
receives it and the answer it sends back, and the funnel's rows from journeys' furthest
steps."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.funnel import (
    ActionCall,
    Kind,
    Mark,
    Outcome,
    Step,
    funnel_counts,
    funnel_position,
    observe,
    where_most_gave_up,
)


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def call(
    action: str,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    responses: tuple[str, ...] = (),
    loop: str | None = None,
) -> ActionCall:
    return ActionCall(action, slots or {}, loop, events or [], responses)


def test_daftar_starts_a_journey_and_asks_consent() -> None:
    seen = observe(call("action_start_registration", events=[slot("early_fields", None)]))
    assert seen.started and seen.marks == (Mark(Step.STARTED), Mark(Step.CONSENT_ASKED))


def test_a_cost_question_taken_for_daftar_starts_nothing() -> None:
    answered = [{"event": "followup", "name": "action_listen"}]
    seen = observe(call("action_start_registration", events=answered))
    assert not seen.started and seen.marks == () and not seen.in_registration


def test_information_outside_a_registration_starts_one_only_when_it_asks_to() -> None:
    asked = call(
        "action_inform_outside_registration", events=[slot("registration_requested", True)]
    )
    told = call("action_inform_outside_registration", events=[slot("registration_requested", None)])
    assert observe(asked).started
    assert not observe(told).in_registration


#: What action_record_consent returns: the consent slots it read are reset.
RECORDED = [
    slot("consent_given", None),
    slot("registering_for_resident", None),
    slot("early_fields", None),
    slot("registration_requested", None),
]


def test_consent_given_reaches_the_first_question_not_already_answered() -> None:
    given = observe(call("action_record_consent", {"consent_given": True}, RECORDED))
    assert given.marks == (Mark(Step.CONSENT_GIVEN), Mark(Step.FULL_NAME))
    early = {"consent_given": True, "early_fields": {"full_name": "Sutini", "nik": "3523…"}}
    assert observe(call("action_record_consent", early, RECORDED)).marks[1] == Mark(Step.BIRTH_DATE)


def test_a_no_to_consent_declines_and_batal_cancels() -> None:
    declined = observe(call("action_record_consent", {"consent_given": False}, RECORDED))
    assert declined.marks == (Mark(Step.CONSENT_ASKED, outcome=Outcome.DECLINED),)
    cancelled = observe(
        call(
            "action_record_consent",
            {"consent_given": False, "registration_stopped": "cancelled"},
            [*RECORDED, slot("registration_stopped", None)],
        )
    )
    assert cancelled.marks[0].outcome is Outcome.CANCELLED


def test_an_answer_reaches_the_first_question_still_empty() -> None:
    """The form asks the first empty slot (Rasa sets requested_slot itself, unseen here)."""
    seen = observe(
        call(
            "validate_registration_form",
            {"requested_slot": "nik", "full_name": "Sutini"},
            [slot("nik", "3523011201800001")],
            loop="registration_form",
        )
    )
    assert seen.marks == (Mark(Step.NIK), Mark(Step.BIRTH_DATE))
    # "tidak" to JHT is an answer (False), not an empty slot: the summary is next.
    filled = {name: "x" for name in ("full_name", "nik", "birth_date", "phone", "village",
              "district", "regency", "occupation", "declared_income")}  # fmt: skip
    jht = observe(
        call(
            "validate_registration_form",
            {**filled, "requested_slot": "with_jht"},
            [slot("with_jht", False)],
            loop="registration_form",
        )
    )
    assert jht.marks == (Mark(Step.WITH_JHT), Mark(Step.SUMMARY_SHOWN))
    # A walk-in's consent code comes after the summary.
    walk_in = observe(
        call(
            "validate_registration_form",
            {**filled, "with_jht": True, "registering_for_resident": True,
             "requested_slot": "registration_confirmed"},
            [slot("registration_confirmed", True)],
            loop="registration_form",
        )
    )  # fmt: skip
    assert walk_in.marks[-1] == Mark(Step.RESIDENT_CONSENT)


def test_a_refused_answer_is_a_retry_at_its_step() -> None:
    seen = observe(
        call(
            "validate_registration_form",
            {"requested_slot": "nik", "registration_failures": {"nik": 1}},
            [
                slot("registration_failures", {"nik": 2}),
                slot("nik", None),
                slot("requested_slot", "nik"),
            ],
            ("utter_invalid_nik",),
            loop="registration_form",
        )
    )
    assert Mark(Step.NIK, Kind.RETRY) in seen.marks
    # The third failure offers help and starts the count again: still a retry.
    third = observe(
        call(
            "validate_registration_form",
            {"requested_slot": "nik", "registration_failures": {"nik": 2, "phone": 1}},
            [slot("registration_failures", {"nik": 0, "phone": 1})],
            loop="registration_form",
        )
    )
    assert [m for m in third.marks if m.kind is Kind.RETRY] == [Mark(Step.NIK, Kind.RETRY)]


def test_batal_in_the_form_and_too_old_end_the_journey_where_they_happen() -> None:
    cancelled = observe(
        call(
            "validate_registration_form",
            {"requested_slot": "phone"},
            [slot("registration_stopped", "cancelled")],
            loop="registration_form",
        )
    )
    assert Mark(Step.PHONE, outcome=Outcome.CANCELLED) in cancelled.marks
    too_old = observe(
        call(
            "validate_registration_form",
            {"requested_slot": "nik"},
            [slot("registration_stopped", "not_eligible")],
            ("utter_not_eligible_age",),
            loop="registration_form",
        )
    )
    assert Mark(Step.NIK, outcome=Outcome.NOT_ELIGIBLE) in too_old.marks


def test_the_summary_and_the_registration_done_are_marked() -> None:
    assert observe(call("action_ask_registration_confirmed")).marks == (Mark(Step.SUMMARY_SHOWN),)
    done = observe(call("action_submit_registration", responses=("utter_registration_done",)))
    assert done.marks == (Mark(Step.CONFIRMED, outcome=Outcome.CONFIRMED),)
    walk_in = observe(
        call(
            "action_submit_registration",
            {"registering_for_resident": True},
            responses=("utter_agent_resident_registered",),
        )
    )
    assert walk_in.marks[0].outcome is Outcome.CONFIRMED and walk_in.on_behalf
    refused = observe(call("action_submit_registration", responses=("utter_nik_not_in_chat",)))
    assert refused.marks == ()


@pytest.mark.parametrize(
    ("requested", "response", "loop", "step"),
    [
        ("declared_income", "utter_handoff_to_agent", "registration_form", Step.DECLARED_INCOME),
        ("consent_given", "utter_handoff_to_admins", "consent_form", Step.CONSENT_ASKED),
    ],
)
def test_asking_for_a_person_in_a_form_is_a_hand_over_at_that_question(
    requested: str, response: str, loop: str, step: Step
) -> None:
    asked = call("action_answer_question", {"requested_slot": requested},
                 responses=(response,), loop=loop)  # fmt: skip
    assert observe(asked).marks == (Mark(step, Kind.HANDOFF),)
    outside = observe(call("action_answer_question", responses=(response,)))
    assert not outside.in_registration


def test_a_correction_of_a_stored_registration_is_not_a_new_one() -> None:
    seen = observe(call("action_ask_registration_confirmed", {"correcting_registration": True}))
    assert seen.marks == () and not seen.in_registration


def test_the_area_is_known_once_village_district_and_regency_are() -> None:
    seen = observe(
        call(
            "validate_registration_form",
            {"requested_slot": "village"},
            [slot("village", "Karanglo"), slot("district", "Kerek"), slot("regency", "Tuban")],
            loop="registration_form",
        )
    )
    assert seen.area == ("Karanglo", "Kerek", "Tuban")


def test_the_funnel_counts_a_skipped_step_as_passed() -> None:
    # 10 started; 2 stopped at the consent question; 3 gave consent and went no further;
    # 5 reached the NIK (one of them by giving the name in the first message).
    rows = funnel_counts({Step.CONSENT_ASKED: 2, Step.CONSENT_GIVEN: 3, Step.NIK: 5})
    by_step = {row.step: row for row in rows}
    assert by_step[Step.STARTED].reached == 10
    assert by_step[Step.CONSENT_GIVEN].reached == 8 and by_step[Step.CONSENT_GIVEN].lost == 2
    assert by_step[Step.FULL_NAME].reached == 5 and by_step[Step.FULL_NAME].lost == 3
    assert by_step[Step.NIK].reached == 5 and by_step[Step.BIRTH_DATE].reached == 0
    assert by_step[Step.FULL_NAME].share_lost == 3 / 8


def test_steps_off_the_funnel_count_as_the_row_before() -> None:
    assert funnel_position(Step.DISTRICT) == funnel_position(Step.VILLAGE)
    assert funnel_position(Step.RESIDENT_CONSENT) == funnel_position(Step.SUMMARY_SHOWN)


def test_residents_gave_up_at_the_question_before_the_step_they_never_reached() -> None:
    # 10 started; 2 stopped at the consent question, 1 at the name, 4 at the NIK.
    rows = funnel_counts({Step.CONSENT_ASKED: 2, Step.FULL_NAME: 1, Step.NIK: 4, Step.PHONE: 3})
    question, row = where_most_gave_up(rows) or (None, None)
    assert question is Step.NIK and row is not None and row.step is Step.BIRTH_DATE
    assert row.lost == 4
    assert where_most_gave_up(funnel_counts({Step.CONFIRMED: 5})) is None


def test_the_submission_after_a_stop_in_the_form_adds_nothing() -> None:
    """The form's own turn ended the journey (cancelled, not eligible); the submission
    that tidies up after it must not count a summary nobody saw."""
    stopped = {"registration_stopped": "not_eligible", "requested_slot": None}
    assert observe(call("action_submit_registration", stopped)).marks == ()


def test_a_walk_in_sent_for_the_resident_s_code_ends_the_agent_s_journey() -> None:
    sent = observe(
        call(
            "action_submit_registration",
            {"registering_for_resident": True},
            responses=("utter_agent_code_sent",),
        )
    )
    assert sent.marks == (Mark(Step.RESIDENT_CONSENT, outcome=Outcome.AWAITING_CODE),)
