"""The registration funnel: how far each registration got, read from what the action server
sees of a turn (the action run, the slots before it, the events and replies it returned).

No personal data is in a mark: a step's name, a kind, and the village once known. The
console and ``sadar report funnel`` count journeys per step; a journey with no message for
``ABANDONED_AFTER`` and no outcome has been abandoned.

Reading marks here, in one pure function over the action call, keeps the actions free of
bookkeeping: the registration's actions stay as they are and this module is unit-tested
against the calls they make."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any

#: No message for this long and no outcome: the journey counts as abandoned.
ABANDONED_AFTER = timedelta(hours=24)


class Step(StrEnum):
    """The steps of a registration, in the order a resident meets them."""

    STARTED = "started"
    CONSENT_ASKED = "consent_asked"
    CONSENT_GIVEN = "consent_given"
    KTP_PHOTO = "ktp_photo_confirmed"
    FULL_NAME = "full_name"
    NIK = "nik"
    BIRTH_DATE = "birth_date"
    PHONE = "phone"
    VILLAGE = "village"
    DISTRICT = "district"
    REGENCY = "regency"
    OCCUPATION = "occupation"
    DECLARED_INCOME = "declared_income"
    WITH_JHT = "with_jht"
    SUMMARY_SHOWN = "registration_confirmed"
    RESIDENT_CONSENT = "resident_consent"
    CONFIRMED = "confirmed"


#: The funnel's rows. The photo, the kecamatan and kabupaten (asked only when the village
#: did not settle them) and a walk-in's consent code are not every resident's steps: they
#: are reported with the retries and hand-overs, not as funnel rows.
FUNNEL: tuple[Step, ...] = (
    Step.STARTED,
    Step.CONSENT_ASKED,
    Step.CONSENT_GIVEN,
    Step.FULL_NAME,
    Step.NIK,
    Step.BIRTH_DATE,
    Step.PHONE,
    Step.VILLAGE,
    Step.OCCUPATION,
    Step.DECLARED_INCOME,
    Step.WITH_JHT,
    Step.SUMMARY_SHOWN,
    Step.CONFIRMED,
)
#: The registration form's questions in the order it asks them (domain.yml's
#: registration_form; a walk-in's consent code last): the form asks the first one empty.
FORM_ORDER = (
    Step.FULL_NAME,
    Step.NIK,
    Step.BIRTH_DATE,
    Step.PHONE,
    Step.VILLAGE,
    Step.DISTRICT,
    Step.REGENCY,
    Step.OCCUPATION,
    Step.DECLARED_INCOME,
    Step.WITH_JHT,
    Step.SUMMARY_SHOWN,
    Step.RESIDENT_CONSENT,
)


class Kind(StrEnum):
    REACHED = "reached"
    #: The answer to the step was refused and asked again.
    RETRY = "retry"
    #: The resident asked for a person at this step.
    HANDOFF = "handoff"


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    #: Said no to the consent question.
    DECLINED = "declined"
    #: Too old, or otherwise outside the programme's rules.
    NOT_ELIGIBLE = "not_eligible"
    #: An agent's walk-in sent to the resident's phone for their consent code.
    AWAITING_CODE = "awaiting_code"
    #: Not recorded: counted where no message came for ``ABANDONED_AFTER``.
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class Mark:
    step: Step
    kind: Kind = Kind.REACHED
    #: Set on the mark that ends the journey.
    outcome: Outcome | None = None


@dataclass(frozen=True)
class ActionCall:
    """What the action server knows of one action run."""

    action: str
    slots: Mapping[str, Any]
    active_loop: str | None
    #: The events the action returned, as sent to Rasa ({"event": "slot", "name": …}).
    events: Sequence[Mapping[str, Any]]
    #: The responses (domain template names) the action asked Rasa to send.
    responses: Sequence[str] = ()

    def slots_after(self) -> dict[str, Any]:
        after = dict(self.slots)
        for event in self.events:
            if event.get("event") == "slot":
                after[str(event.get("name"))] = event.get("value")
        return after

    def returned_slot(self, name: str) -> tuple[bool, Any]:
        """Whether the action set ``name``, and the last value it set."""
        found, value = False, None
        for event in self.events:
            if event.get("event") == "slot" and event.get("name") == name:
                found, value = True, event.get("value")
        return found, value


@dataclass(frozen=True)
class Observation:
    """What one action call says about the registration: its marks, whether it concerns
    a registration at all (a form turn: the journey is still alive), and the area once
    known (village, kecamatan, kabupaten)."""

    marks: tuple[Mark, ...] = ()
    in_registration: bool = False
    on_behalf: bool = False
    area: tuple[str, str, str] | None = None
    #: The registration starts with this call.
    started: bool = False


_STARTING_ACTIONS = frozenset(
    {"action_start_registration", "action_inform_outside_registration", "action_suggest_topics"}
)
_HANDOFF_RESPONSES = frozenset(
    {"utter_handoff_to_admins", "utter_handoff_to_agent", "utter_handoff_already_open"}
)
_FORMS = frozenset({"consent_form", "registration_form"})


def _step(value: Any) -> Step | None:
    try:
        return Step(str(value))
    except ValueError:
        return None


def observe(call: ActionCall) -> Observation:
    """The funnel marks of one action call. A correction of a stored registration
    ("perbaiki data") is not a new registration and yields nothing."""
    after = call.slots_after()
    if call.slots.get("correcting_registration") or after.get("correcting_registration"):
        return Observation()
    on_behalf = bool(after.get("registering_for_resident"))
    marks: list[Mark] = []
    started = False
    if call.action in _STARTING_ACTIONS:
        # The rules ask for consent next whenever one of these asks to register.
        listening = any(
            e.get("event") == "followup" and e.get("name") == "action_listen" for e in call.events
        )
        requested = call.action == "action_start_registration" or bool(
            call.returned_slot("registration_requested")[1]
        )
        if requested and not listening:
            started = True
            marks += [Mark(Step.STARTED), Mark(Step.CONSENT_ASKED)]
    elif call.action == "action_agent_start_registration" and on_behalf:
        started = True
        marks += [Mark(Step.STARTED), _first_question(after)]
    elif call.action == "action_record_consent":
        # It resets the consent slots it reads: the decision is in the slots before it.
        if call.slots.get("consent_given"):
            held = {**after, "early_fields": call.slots.get("early_fields")}
            marks += [Mark(Step.CONSENT_GIVEN), _first_question(held)]
        else:
            stopped = call.slots.get("registration_stopped") == "cancelled"
            outcome = Outcome.CANCELLED if stopped else Outcome.DECLINED
            marks.append(Mark(Step.CONSENT_ASKED, outcome=outcome))
    elif call.action == "validate_registration_form":
        marks += _form_marks(call, after)
    elif call.action == "action_ask_registration_confirmed":
        marks.append(Mark(Step.SUMMARY_SHOWN))
    elif call.action == "action_submit_registration":
        marks += _end_marks(call, after)
    elif call.action == "action_cancel_registration":
        where = _step(call.slots.get("requested_slot")) or Step.STARTED
        marks.append(Mark(where, outcome=Outcome.CANCELLED))
    in_form = call.active_loop in _FORMS or started
    if in_form and any(r in _HANDOFF_RESPONSES for r in call.responses):
        asked = call.slots.get("requested_slot")
        at = Step.CONSENT_ASKED if asked == "consent_given" else _step(asked)
        marks.append(Mark(at or Step.CONSENT_ASKED, Kind.HANDOFF))
    return Observation(
        marks=tuple(marks),
        in_registration=in_form or bool(marks),
        on_behalf=on_behalf,
        area=_area(after),
        started=started,
    )


def _first_question(slots: Mapping[str, Any]) -> Mark:
    """The form's first question after consent: the first field not already given (in the
    first message, kept in early_fields until consent)."""
    given = {
        **{k: v for k, v in slots.items() if v is not None},
        **(slots.get("early_fields") or {}),
    }
    return _next_question(given) or Mark(Step.FULL_NAME)


def _next_question(slots: Mapping[str, Any]) -> Mark | None:
    """The question the form asks next, as Rasa's form does: the first empty slot (a photo's
    "Benar?" before any)."""
    if slots.get("ktp_photo_pending"):
        return Mark(Step.KTP_PHOTO)
    for step in FORM_ORDER:
        if step is Step.RESIDENT_CONSENT and not slots.get("registering_for_resident"):
            return None
        if slots.get(step.value) is None:
            return Mark(step)
    return None


def _form_marks(call: ActionCall, after: Mapping[str, Any]) -> list[Mark]:
    marks: list[Mark] = []
    asked = _step(call.slots.get("requested_slot"))
    if asked is not None:
        marks.append(Mark(asked))  # answered, so it was asked (the form's first question)
    before = dict(call.slots.get("registration_failures") or {})
    set_failures, failures = call.returned_slot("registration_failures")
    if set_failures:
        for slot, count in dict(failures or {}).items():
            # The third failure offers help and starts the count again at 0.
            if int(count) > int(before.get(slot, 0)) or (int(count) == 0 and before.get(slot)):
                step = _step(slot)
                if step is not None:
                    marks.append(Mark(step, Kind.RETRY))
    stopped = after.get("registration_stopped")
    if stopped:
        if not call.slots.get("registration_stopped"):
            marks.append(Mark(asked or Step.STARTED, outcome=_stop_outcome(stopped)))
        return marks
    following = _next_question(after)
    if following is not None:
        marks.append(following)
    return marks


def _stop_outcome(stopped: Any) -> Outcome:
    return Outcome.CANCELLED if stopped == "cancelled" else Outcome.NOT_ELIGIBLE


def _end_marks(call: ActionCall, after: Mapping[str, Any]) -> list[Mark]:
    if call.slots.get("registration_stopped"):
        return []  # stopped in the form's last turn, and marked there
    if "utter_registration_done" in call.responses or _walk_in_done(call.responses):
        return [Mark(Step.CONFIRMED, outcome=Outcome.CONFIRMED)]
    if "utter_agent_code_sent" in call.responses:
        # A walk-in waits for the resident's code, sent from the resident's own phone (a
        # conversation of its own): the agent's journey ends here.
        return [Mark(Step.RESIDENT_CONSENT, outcome=Outcome.AWAITING_CODE)]
    return []


def _walk_in_done(responses: Sequence[str]) -> bool:
    return "utter_agent_resident_registered" in responses


def _area(slots: Mapping[str, Any]) -> tuple[str, str, str] | None:
    village, district, regency = (slots.get(k) for k in ("village", "district", "regency"))
    if village and district and regency:
        return str(village), str(district), str(regency)
    return None


@dataclass(frozen=True)
class StepCount:
    step: Step
    reached: int
    #: Of those who reached the step before it, how many did not reach this one.
    lost: int
    retries: int = 0
    handoffs: int = 0

    @property
    def share_lost(self) -> float | None:
        before = self.reached + self.lost
        return self.lost / before if before else None


def funnel_counts(
    furthest: Mapping[Step, int],
    retries: Mapping[Step, int] | None = None,
    handoffs: Mapping[Step, int] | None = None,
) -> list[StepCount]:
    """The funnel's rows from how many journeys got no further than each step. A journey
    that skipped a step (a first message that gave the name) has passed it all the same."""
    retries, handoffs = retries or {}, handoffs or {}
    rows: list[StepCount] = []
    previous: int | None = None
    for index, step in enumerate(FUNNEL):
        reached = sum(count for s, count in furthest.items() if FUNNEL.index(s) >= index)
        rows.append(
            StepCount(
                step,
                reached,
                lost=(previous - reached) if previous is not None else 0,
                retries=retries.get(step, 0),
                handoffs=handoffs.get(step, 0),
            )
        )
        previous = reached
    return rows


def funnel_position(step: Step) -> int:
    """A step's row in the funnel; a step off the funnel counts as the row before it (the
    photo's confirmation as consent given, the kecamatan as the village, a walk-in's
    consent code as the summary)."""
    if step in FUNNEL:
        return FUNNEL.index(step)
    return FUNNEL.index(_OFF_FUNNEL[step])


_OFF_FUNNEL = {
    Step.KTP_PHOTO: Step.CONSENT_GIVEN,
    Step.DISTRICT: Step.VILLAGE,
    Step.REGENCY: Step.VILLAGE,
    Step.RESIDENT_CONSENT: Step.SUMMARY_SHOWN,
}


def where_most_gave_up(rows: Sequence[StepCount]) -> tuple[Step, StepCount] | None:
    """The question most residents stopped at, and the row after it that counts them. A
    step is reached when it is asked, so those lost before a row were asked the row before
    it and never answered."""
    worst: tuple[Step, StepCount] | None = None
    for before, row in pairwise(rows):
        if row.lost and (worst is None or row.lost > worst[1].lost):
            worst = (before.step, row)
    return worst
