"""The registration's slots, shared by the form validator (actions/registration_form.py)
and the registration actions (actions/registration.py): their names, whose registration
it is, and the answers read back as a ``Registration``."""

from __future__ import annotations

from datetime import date

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot.domain.formatting import tanggal
from bot.domain.nik import parse_nik
from bot.domain.registration import Registration
from bot.domain.senders import Channel, channel_of

#: The Kemendagri code of the village read from the register (bot/domain/places.py).
VILLAGE_CODE_SLOT = "village_code"
#: Codes of the villages the resident's last answer could mean: the village question offers
#: them as its buttons (actions/registration.py, ActionAskVillage).
VILLAGE_CHOICES_SLOT = "village_choices"
#: The resident said the summary is wrong: its question asks what to correct instead.
CORRECTING_SUMMARY_SLOT = "correcting_summary"
#: A village given before the NIK that the register could not settle: read again with it.
VILLAGE_PENDING_SLOT = "village_pending"
#: The monthly income offered for a day's or a week's earnings: a typed yes takes it.
INCOME_OFFERED_SLOT = "income_offered"
REGISTRATION_SLOTS = (
    "full_name",
    "nik",
    "birth_date",
    "phone",
    "village",
    "district",
    "regency",
    VILLAGE_CODE_SLOT,
    "occupation",
    "declared_income",
    "with_jht",
    "registration_confirmed",
)
#: How the phone slot's number was proven the resident's (bot.domain.addresses.Proof).
PHONE_PROOF_SLOT = "phone_verified_by"
#: Asked last, only when an agent registers a walk-in: how the resident consents.
RESIDENT_CONSENT_SLOT = "resident_consent"
#: Set when the registration ends early (cancelled, not eligible): the form then closes.
STOPPED_SLOT = "registration_stopped"
#: "perbaiki data": the form holds a stored registration's answers, to replace them.
CORRECTING_REGISTRATION_SLOT = "correcting_registration"


#: The form's last steps: the data is complete (the summary; a walk-in's consent after it).
SUMMARY_STEPS = ("registration_confirmed", RESIDENT_CONSENT_SLOT)
#: A KTP photo's fields wait for "Benar?" (actions/ktp_photo.py: PhotoShown); the
#: confirmation step; and the unreadable photos so far.
PHOTO_PENDING_SLOT = "ktp_photo_pending"
PHOTO_CONFIRMED_SLOT = "ktp_photo_confirmed"
PHOTO_TRIES_SLOT = "ktp_photo_tries"


def correcting(tracker: Tracker) -> bool:
    """Whether the form is correcting this chat's stored registration ("perbaiki data")."""
    return bool(tracker.get_slot(CORRECTING_REGISTRATION_SLOT))


def for_resident(tracker: Tracker) -> bool:
    """An agent is registering someone else (set only after the agent check)."""
    return bool(tracker.get_slot("registering_for_resident"))


def registration_from_slots(tracker: Tracker, today: date) -> Registration:
    """The form's answers as a registration. A walk-in belongs to the resident's own
    WhatsApp number, whatever channel the agent uses."""
    channel = Channel.WHATSAPP if for_resident(tracker) else channel_of(tracker.sender_id)
    return Registration(
        full_name=tracker.get_slot("full_name"),
        nik=parse_nik(tracker.get_slot("nik"), today),
        birth_date=date.fromisoformat(tracker.get_slot("birth_date")),
        phone=tracker.get_slot("phone"),
        village=tracker.get_slot("village"),
        district=tracker.get_slot("district"),
        regency=tracker.get_slot("regency"),
        occupation=tracker.get_slot("occupation"),
        declared_income=int(tracker.get_slot("declared_income")),
        with_jht=bool(tracker.get_slot("with_jht")),
        channel=channel,
        village_code=tracker.get_slot(VILLAGE_CODE_SLOT),
    )


def reset_registration() -> list[EventType]:
    """Every slot a registration fills, emptied (done, cancelled or stopped)."""
    return [
        SlotSet(slot, None)
        for slot in (
            *REGISTRATION_SLOTS,
            "registration_failures",
            "consent_granted",
            "registering_for_resident",
            RESIDENT_CONSENT_SLOT,
            STOPPED_SLOT,
            "early_fields",
            PHONE_PROOF_SLOT,
            VILLAGE_CHOICES_SLOT,
            VILLAGE_PENDING_SLOT,
            INCOME_OFFERED_SLOT,
            CORRECTING_SUMMARY_SLOT,
            CORRECTING_REGISTRATION_SLOT,
            PHOTO_PENDING_SLOT,
            PHOTO_CONFIRMED_SLOT,
            PHOTO_TRIES_SLOT,
        )
    ]


def show_date(iso: str) -> str:
    """A stored ISO date as the resident reads it."""
    return tanggal(date.fromisoformat(iso))
