"""A KTP photo during registration (issue 30), on Rasa's side. The gateway asks whether a
photo may be read now (the registration form, after consent, before the summary) and then
hands over what it gave as signed metadata; the form shows the fields and asks "Benar?".
The fields become slots only once confirmed (actions/registration_form.py); until then they
travel with each message and the conversation store drops them (nlu/tracker_store.py)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.reading import gateway_metadata
from actions.registration_slots import (
    CORRECTING_SUMMARY_SLOT,
    PHOTO_CONFIRMED_SLOT,
    PHOTO_PENDING_SLOT,
    PHOTO_TRIES_SLOT,
    SUMMARY_STEPS,
    correcting,
    for_resident,
    show_date,
)
from actions.responses import response_text
from bot.app_context import get_app_context
from bot.domain.ktp import (
    FORM_FIELDS,
    MAX_PHOTO_TRIES,
    NOT_A_TRY,
    PHOTO_FAILURES,
    PHOTO_SENT_INTENT,
    PROBLEM_METADATA,
    READING_METADATA,
    NoReading,
    PhotoStep,
    village_answer,
)
from bot.domain.senders import Channel, channel_of
from bot.infra.privacy import mask_digits
from bot.infra.settings import Settings
from bot.infra.unstored import PHOTO_FIELDS_RESPONSE


class PhotoShown(StrEnum):
    """Where "Benar?" about a photo's fields stands (the ktp_photo_pending slot)."""

    #: The fields are shown; "Benar?" waits.
    SHOWN = "shown"
    #: "tidak" was answered and "which is wrong?" asked: another "tidak" drops the reading.
    ASKED_WHICH = "asked_which"


def photo_answers(tracker: Tracker, settings: Settings) -> dict[str, str]:
    """The fields read from the photo that came with this message (signed by the gateway),
    {} without any."""
    answers = gateway_metadata(tracker, settings).get(READING_METADATA)
    if not isinstance(answers, dict):
        return {}
    return {k: str(v) for k, v in answers.items() if k in FORM_FIELDS and isinstance(v, str)}


def as_filled(answers: dict[str, str]) -> dict[str, Any]:
    """The photo's fields as the form's answers hold them (for the interpreter)."""
    return {name: value for name, value in answers.items() if name != "district"}


def as_given(answers: dict[str, str]) -> dict[str, Any]:
    """The photo's fields as answers for the form's checks: the village with its printed
    kecamatan, which tells apart villages of one name."""
    given: dict[str, Any] = as_filled(answers)
    if (village := village_answer(answers)) is not None:
        given["village"] = village
    return given


def photo_turn(
    dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings, asking: str | None
) -> list[EventType]:
    """A photo sent while the registration form is active: read now, or why not; what it
    gave, or a tip for the next try (typing after ``MAX_PHOTO_TRIES``)."""
    again = [SlotSet(asking, None)] if asking else []
    intent = (tracker.latest_message or {}).get("intent", {}).get("name")
    if asking in SUMMARY_STEPS or correcting(tracker):
        dispatcher.utter_message(response="utter_ktp_photo_at_summary")
        return again
    tries = int(tracker.get_slot(PHOTO_TRIES_SLOT) or 0)
    if intent == PHOTO_SENT_INTENT:
        if tries >= MAX_PHOTO_TRIES:
            dispatcher.utter_message(response="utter_ktp_photo_type_instead")
        else:
            # A word to the gateway: read it. The rest of this turn is not shown.
            dispatcher.utter_message(json_message={"ktp_photo": PhotoStep.READ.value})
        return again
    if photo_answers(tracker, settings):
        return [
            SlotSet(PHOTO_PENDING_SLOT, PhotoShown.SHOWN.value),
            SlotSet(PHOTO_CONFIRMED_SLOT, None),
        ]
    problem = str(gateway_metadata(tracker, settings).get(PROBLEM_METADATA) or "")
    if problem not in PHOTO_FAILURES:
        problem = NoReading.NOT_RECEIVED.value
    dispatcher.utter_message(response=f"utter_ktp_photo_{problem}")
    if problem in NOT_A_TRY:  # not the resident's photo that failed: no try is used up
        return again
    if tries + 1 >= MAX_PHOTO_TRIES:
        dispatcher.utter_message(response="utter_ktp_photo_type_instead")
    return [*again, SlotSet(PHOTO_TRIES_SLOT, float(tries + 1))]


def shared_screen(tracker: Tracker) -> bool:
    """Where the fields are shown masked: the web chat (often the village office's
    computer) and an agent's phone, shown to the walk-in beside them."""
    return for_resident(tracker) or channel_of(tracker.sender_id) is Channel.WEB


class ActionAskKtpPhotoConfirmed(Action):
    """What the photo gave, and "Benar?"; or, after "tidak", which field is wrong."""

    def name(self) -> str:
        return "action_ask_ktp_photo_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot(CORRECTING_SUMMARY_SLOT):
            dispatcher.utter_message(response="utter_ktp_photo_what_is_wrong")
            dispatcher.utter_message(json_message={"ktp_photo": PhotoStep.CONFIRMING.value})
            return [SlotSet(CORRECTING_SUMMARY_SLOT, None)]
        answers = photo_answers(tracker, get_app_context().settings)
        if not answers:  # forgotten meanwhile (15 minutes): the next message goes on
            dispatcher.utter_message(response="utter_ktp_photo_expired")
            return [SlotSet(PHOTO_PENDING_SLOT, None)]  # the next message is read anyway
        masked = shared_screen(tracker)
        lines = []
        for name in FORM_FIELDS:
            if (value := answers.get(name)) is None:
                continue
            if name == "nik" and masked:
                value = mask_digits(value, 6, 4)
            elif name == "birth_date":
                value = show_date(value)
            label = response_text(domain, f"utter_label_{name}")
            label = label[:1].upper() + label[1:]  # "NIK" stays "NIK"
            lines.append(f"• {label}: {value}")
        dispatcher.utter_message(response=PHOTO_FIELDS_RESPONSE, fields="\n".join(lines))
        dispatcher.utter_message(json_message={"ktp_photo": PhotoStep.CONFIRMING.value})
        return []


class ActionKtpPhoto(Action):
    """A photo outside the registration form: not read, and the resident told why."""

    def name(self) -> str:
        return "action_ktp_photo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.active_loop_name == "consent_form":
            dispatcher.utter_message(response="utter_ktp_photo_consent_first")
        else:
            dispatcher.utter_message(response="utter_ktp_photo_not_now")
        return []
