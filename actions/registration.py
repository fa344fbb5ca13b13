"""The registration form: extraction and validation of each field, the summary, the
submission. Rules live in bot.domain; this module only maps them to slots and replies."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.actions import (
    DIGRESSION_INTENTS,
    latest_entity_value,
    latest_intent,
    response_text,
)
from actions.agents import enrolled_agent
from actions.on_behalf import (
    CODE,
    READ_ALOUD,
    masked_phone,
    read_aloud_wording,
    send_consent_code,
)
from bot.app_context import get_app_context
from bot.domain.formatting import bulan, programmes, rupiah, tanggal
from bot.domain.nik import InvalidNik, parse_nik
from bot.domain.registration import (
    Registration,
    RegistrationProblem,
    check_age,
    check_income,
    clean_full_name,
    name_from_message,
)
from bot.domain.senders import Channel, channel_of
from bot.domain.tariff import monthly_contribution
from bot.services.agents import audit_agent
from bot.services.participants import (
    DuplicateNik,
    delete_for_sender,
    find_for_sender,
    nik_is_registered,
    register_participant,
)
from nlu.parsing.dates import find_dates
from nlu.parsing.identifiers import normalise_phone
from nlu.parsing.lookups import (
    closest_occupation,
    occupation_label,
    village_by_name,
    villages_in_regency,
)
from nlu.parsing.money import find_money

REGISTRATION_SLOTS = (
    "full_name",
    "nik",
    "birth_date",
    "phone",
    "village",
    "district",
    "regency",
    "occupation",
    "declared_income",
    "with_jht",
    "registration_confirmed",
)
#: Asked last, only when an agent registers a walk-in: how the resident consents.
RESIDENT_CONSENT_SLOT = "resident_consent"
MAX_FAILURES_BEFORE_HELP = 3
_VILLAGE_PREFIXES = ("desa ", "ds. ", "ds ", "kelurahan ", "kel. ", "kel ", "dari ", "di ")


#: Small talk is never taken as a name, a village or any other free-text answer.
SMALL_TALK_INTENTS = frozenset({"greet", "goodbye", "thank", "affirm", "deny"})
YES_NO_SLOTS = frozenset({"with_jht", "registration_confirmed"})
YES_WORDS = frozenset(
    {"ya", "iya", "y", "yes", "ok", "oke", "betul", "benar", "bener", "nggih", "sip"}
)


def _answering(tracker: Tracker, slot: str) -> bool:
    """True when the latest message answers the pending question for ``slot``."""
    if tracker.get_slot("requested_slot") != slot or _is_digression(tracker):
        return False
    return slot in YES_NO_SLOTS or latest_intent(tracker) not in SMALL_TALK_INTENTS


#: The entity that answers each question; a short message carrying it is an answer even
#: when the classifier reads it as a question ("ojek" alone may look like "can ojek join?").
ANSWER_ENTITY = {
    "nik": "nik",
    "birth_date": "date",
    "phone": "phone",
    "village": "village",
    "occupation": "occupation",
    "declared_income": "money",
}
QUESTION_WORDS = frozenset(
    {
        "apa",
        "apakah",
        "berapa",
        "brp",
        "bagaimana",
        "gimana",
        "gmn",
        "kapan",
        "mana",
        "dimana",
        "kenapa",
        "bisa",
        "boleh",
        "piye",
        "pinten",
        "pripun",
        "opo",
        "sabaraha",
        "naon",
    }
)


def _is_digression(tracker: Tracker) -> bool:
    if latest_intent(tracker) not in DIGRESSION_INTENTS:
        return False
    entity = ANSWER_ENTITY.get(tracker.get_slot("requested_slot") or "")
    text = _text(tracker).lower()
    is_question = "?" in text or bool(set(text.split()) & QUESTION_WORDS)
    return not (entity and latest_entity_value(tracker, entity) is not None and not is_question)


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "").strip()


class ValidateRegistrationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_registration_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if _for_resident(tracker):
            return [*domain_slots, RESIDENT_CONSENT_SLOT]
        return domain_slots

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        previous = {slot: tracker.get_slot(slot) for slot in REGISTRATION_SLOTS}
        events = await super().run(dispatcher, tracker, domain)
        changed = {
            e["name"]
            for e in events
            if e.get("event") == "slot"
            and e["name"] in REGISTRATION_SLOTS
            and e.get("value") is not None
            and e.get("value") != previous.get(e["name"])
        }
        requested = tracker.get_slot("requested_slot")
        confirming = ("registration_confirmed", RESIDENT_CONSENT_SLOT)
        if requested in confirming and changed - {*confirming}:
            # A correction at the summary: show the summary again with the new value.
            events.append(SlotSet("registration_confirmed", None))
        answered = any(e.get("event") == "slot" and e.get("name") == requested for e in events)
        if requested and not answered and not _is_digression(tracker):
            # Nothing usable for a yes/no question: say what to send, then ask again.
            if not dispatcher.messages:
                dispatcher.utter_message(response=f"utter_invalid_{requested}")
            events.append(SlotSet(requested, None))
        return events

    # --- a rejected answer says what to send instead; the third offers a person ------------

    def _reject(
        self,
        slot: str,
        response: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        **values: Any,
    ) -> dict[str, Any]:
        dispatcher.utter_message(response=response, **values)
        failures = dict(tracker.get_slot("registration_failures") or {})
        failures[slot] = failures.get(slot, 0) + 1
        if failures[slot] >= MAX_FAILURES_BEFORE_HELP:
            dispatcher.utter_message(response="utter_offer_human_help")
            failures[slot] = 0
        return {slot: None, "registration_failures": failures}

    # --- extraction: entities from any message, free text only for the pending question ----

    async def extract_full_name(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if _answering(tracker, "full_name"):
            return {"full_name": name_from_message(_text(tracker))}
        text = _text(tracker)
        if not _is_digression(tracker) and text.lower().startswith(("nama ", "nama:", "namaku")):
            return {"full_name": name_from_message(text)}
        return {}

    async def extract_nik(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if _is_digression(tracker):
            return {}
        nik = latest_entity_value(tracker, "nik")
        if nik is not None:
            return {"nik": nik}
        if _answering(tracker, "nik"):
            digits = "".join(ch for ch in _text(tracker) if ch.isdigit())
            return {"nik": digits or _text(tracker)}
        return {}

    async def extract_birth_date(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if _is_digression(tracker):
            return {}
        value = latest_entity_value(tracker, "date")
        if value is not None:
            return {"birth_date": value}
        if _answering(tracker, "birth_date"):
            return {"birth_date": "?" + _text(tracker)}
        return {}

    async def extract_phone(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if _is_digression(tracker):
            return {}
        value = latest_entity_value(tracker, "phone")
        if value is not None:
            return {"phone": value}
        own_chat = channel_of(tracker.sender_id) is Channel.WHATSAPP and not _for_resident(tracker)
        if tracker.get_slot("phone") is None and own_chat:
            # WhatsApp tells us the number: never ask for it (unless an agent is typing it).
            return {"phone": tracker.sender_id.split(":", 1)[1]}
        if _answering(tracker, "phone"):
            return {"phone": "?" + _text(tracker)}
        return {}

    async def extract_village(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if _is_digression(tracker):
            return {}
        value = latest_entity_value(tracker, "village")
        if value is not None:
            return {"village": value}
        if _answering(tracker, "village"):
            text = _text(tracker)
            for prefix in _VILLAGE_PREFIXES:
                if text.lower().startswith(prefix):
                    text = text[len(prefix) :]
            return {"village": text.strip(" .,").title()}
        return {}

    async def extract_district(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if _answering(tracker, "district"):
            return {"district": _text(tracker).removeprefix("kec ").strip(" .,").title()}
        return {}

    async def extract_regency(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if _answering(tracker, "regency"):
            return {"regency": _text(tracker).removeprefix("kab ").strip(" .,").title()}
        return {}

    async def extract_occupation(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if _is_digression(tracker):
            return {}
        value = latest_entity_value(tracker, "occupation")
        if value is not None:
            return {"occupation": value}
        if _answering(tracker, "occupation"):
            return {"occupation": closest_occupation(_text(tracker)) or "?" + _text(tracker)}
        return {}

    async def extract_declared_income(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if _is_digression(tracker):
            return {}
        value = latest_entity_value(tracker, "money")
        if value is not None:
            return {"declared_income": float(value)}
        if _answering(tracker, "declared_income"):
            # "1500000" or "1,5" alone answer the question even without a unit word.
            found = find_money("penghasilan " + _text(tracker))
            if found:
                return {"declared_income": float(found[0].value)}
            return {"declared_income": -1.0}
        return {}

    async def extract_with_jht(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if not _answering(tracker, "with_jht") and "jht" not in _text(tracker).lower():
            return {}
        intent, text = latest_intent(tracker), _text(tracker).lower()
        if intent == "deny" or any(
            w in text for w in ("tanpa jht", "tidak", "gak", "nggak", "saja")
        ):
            return {"with_jht": False}
        if intent in ("affirm", "inform") or "jht" in text:
            return {"with_jht": True}
        return {}

    async def extract_registration_confirmed(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if not _answering(tracker, "registration_confirmed"):
            return {}
        intent = latest_intent(tracker)
        first_word = (_text(tracker).lower().split() or [""])[0].strip(",.!")
        # "ya, daftarkan" reads as start_registration to the classifier; it is a yes here.
        if intent in ("affirm", "start_registration") or first_word in YES_WORDS:
            return {"registration_confirmed": True}
        if intent in ("deny", "correct") and not self._carries_a_field(tracker):
            dispatcher.utter_message(response="utter_what_to_correct")
        return {}

    async def extract_resident_consent(self, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if tracker.get_slot("requested_slot") != RESIDENT_CONSENT_SLOT or _is_digression(tracker):
            return {}
        value = latest_entity_value(tracker, "consent_method")
        text = _text(tracker).lower()
        if value in (CODE, READ_ALOUD):
            return {RESIDENT_CONSENT_SLOT: value}
        if "kode" in text:
            return {RESIDENT_CONSENT_SLOT: CODE}
        if "baca" in text:
            return {RESIDENT_CONSENT_SLOT: READ_ALOUD}
        return {}

    @staticmethod
    def _carries_a_field(tracker: Tracker) -> bool:
        return bool(tracker.latest_message.get("entities")) or _text(tracker).lower().startswith(
            "nama"
        )

    # --- validation: domain rules, and a reply that says what to send instead --------------

    def validate_full_name(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        try:
            return {"full_name": clean_full_name(str(value))}
        except RegistrationProblem:
            return self._reject("full_name", "utter_invalid_full_name", dispatcher, tracker)

    def validate_nik(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        try:
            nik = parse_nik(str(value), get_app_context().clock.today())
        except InvalidNik as error:
            return self._reject(
                "nik", f"utter_invalid_nik_{error.problem.value}", dispatcher, tracker
            )
        context = get_app_context()
        if nik_is_registered(context.sessions, context.hash_key, nik.value):
            dispatcher.utter_message(response="utter_nik_already_registered")
            return {"nik": None}
        result: dict[str, Any] = {"nik": nik.value}
        birth = tracker.get_slot("birth_date")
        if birth and not str(birth).startswith("?") and birth != nik.birth_date.isoformat():
            dispatcher.utter_message(
                response="utter_birth_date_mismatch",
                birth_date=_show_date(birth),
                nik_birth_date=_show_date(nik.birth_date.isoformat()),
            )
            result["birth_date"] = None
        return result

    def validate_birth_date(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        text = str(value)
        if text.startswith("?"):
            found = find_dates(text[1:], get_app_context().clock.today())
            if not found:
                return self._reject("birth_date", "utter_invalid_birth_date", dispatcher, tracker)
            text = str(found[0].value)
        birth = date.fromisoformat(text)
        context = get_app_context()
        settings = context.settings
        today = context.clock.today()
        try:
            check_age(birth, today, settings.min_registration_age, settings.max_registration_age)
        except RegistrationProblem as problem:
            response = "utter_too_young" if problem.code == "too_young" else "utter_too_old"
            dispatcher.utter_message(
                response=response,
                minimum=settings.min_registration_age,
                maximum=settings.max_registration_age,
            )
            return {"birth_date": None}
        nik = tracker.get_slot("nik")
        if nik:
            encoded = parse_nik(nik, today).birth_date
            if encoded != birth:
                dispatcher.utter_message(
                    response="utter_birth_date_mismatch",
                    birth_date=_show_date(text),
                    nik_birth_date=_show_date(encoded.isoformat()),
                )
                return {"birth_date": None}
        return {"birth_date": text}

    def validate_phone(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        phone = normalise_phone(str(value).lstrip("?"))
        if phone is None:
            return self._reject("phone", "utter_invalid_phone", dispatcher, tracker)
        return {"phone": phone}

    def validate_village(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        name = str(value).strip()
        if len(name) < 3:
            return self._reject("village", "utter_ask_village", dispatcher, tracker)
        known = village_by_name(name)
        if known is not None:
            return {"village": known.name, "district": known.district, "regency": known.regency}
        # An unknown village: the NIK still tells the regency when we know its code.
        nik = tracker.get_slot("nik")
        same_regency = villages_in_regency(str(nik)[:4]) if nik else []
        if same_regency:
            return {"village": name, "regency": same_regency[0].regency}
        return {"village": name}

    def validate_district(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return {"district": str(value)} if len(str(value)) >= 3 else {"district": None}

    def validate_regency(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return {"regency": str(value)} if len(str(value)) >= 3 else {"regency": None}

    def validate_occupation(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if str(value).startswith("?"):
            return self._reject("occupation", "utter_invalid_occupation", dispatcher, tracker)
        return {"occupation": str(value)}

    def validate_declared_income(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        amount = int(value)
        if amount < 0:
            return self._reject(
                "declared_income", "utter_invalid_declared_income", dispatcher, tracker
            )
        try:
            return {"declared_income": float(check_income(amount))}
        except RegistrationProblem as problem:
            return self._reject("declared_income", f"utter_{problem.code}", dispatcher, tracker)

    def validate_with_jht(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return {"with_jht": bool(value)}

    def validate_registration_confirmed(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return {"registration_confirmed": True if value else None}

    async def validate_resident_consent(self, value, dispatcher, tracker, domain) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        """The code is sent here, inside the form, so that a number it cannot reach keeps
        every answer and simply asks again (the agent may choose reading aloud)."""
        if value != CODE:
            return {RESIDENT_CONSENT_SLOT: READ_ALOUD}
        context = get_app_context()
        agent = enrolled_agent(tracker)
        if agent is None:
            return {RESIDENT_CONSENT_SLOT: value}  # refused at submission
        held = await send_consent_code(
            context, domain, agent, tracker.sender_id, registration_from_slots(tracker)
        )
        if held is None:
            dispatcher.utter_message(
                response="utter_resident_code_not_sent",
                phone=masked_phone(str(tracker.get_slot("phone"))),
            )
            return {RESIDENT_CONSENT_SLOT: None}
        return {RESIDENT_CONSENT_SLOT: CODE}


def _for_resident(tracker: Tracker) -> bool:
    """An agent is registering someone else (set only after the agent check)."""
    return bool(tracker.get_slot("registering_for_resident"))


def registration_from_slots(tracker: Tracker) -> Registration:
    """The form's answers as a registration. A walk-in belongs to the resident's own
    WhatsApp number, whatever channel the agent uses."""
    channel = Channel.WHATSAPP if _for_resident(tracker) else channel_of(tracker.sender_id)
    return Registration(
        full_name=tracker.get_slot("full_name"),
        nik=parse_nik(tracker.get_slot("nik"), get_app_context().clock.today()),
        birth_date=date.fromisoformat(tracker.get_slot("birth_date")),
        phone=tracker.get_slot("phone"),
        village=tracker.get_slot("village"),
        district=tracker.get_slot("district"),
        regency=tracker.get_slot("regency"),
        occupation=tracker.get_slot("occupation"),
        declared_income=int(tracker.get_slot("declared_income")),
        with_jht=bool(tracker.get_slot("with_jht")),
        channel=channel,
    )


def _show_date(iso: str) -> str:
    return tanggal(date.fromisoformat(iso))


def _contribution(tracker: Tracker) -> tuple[int, bool]:
    with_jht = bool(tracker.get_slot("with_jht"))
    income = int(tracker.get_slot("declared_income") or 0)
    return monthly_contribution(income, with_jht).total, with_jht


class ActionAskVillage(Action):
    """Asks for the village, offering the known villages of the NIK's regency as buttons."""

    def name(self) -> str:
        return "action_ask_village"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        nik = tracker.get_slot("nik")
        nearby = villages_in_regency(str(nik)[:4]) if nik else []
        if not nearby:
            dispatcher.utter_message(response="utter_ask_village")
            return []
        buttons = [
            {"title": v.name, "payload": "/inform" + json.dumps({"village": v.name})}
            for v in nearby[:5]
        ]
        dispatcher.utter_message(
            response="utter_ask_village_suggest", regency=nearby[0].regency, buttons=buttons
        )
        return []


class ActionAskRegistrationConfirmed(Action):
    """The summary, with the monthly contribution, before anything is stored."""

    def name(self) -> str:
        return "action_ask_registration_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        total, with_jht = _contribution(tracker)
        dispatcher.utter_message(
            response="utter_registration_summary",
            full_name=tracker.get_slot("full_name"),
            nik=tracker.get_slot("nik"),
            birth_date=_show_date(tracker.get_slot("birth_date")),
            phone=tracker.get_slot("phone"),
            village=tracker.get_slot("village"),
            district=tracker.get_slot("district"),
            regency=tracker.get_slot("regency"),
            occupation=occupation_label(tracker.get_slot("occupation")),
            income=rupiah(int(tracker.get_slot("declared_income"))),
            programmes=programmes(with_jht),
            contribution=rupiah(total),
        )
        return []


def _reset_registration() -> list[EventType]:
    return [
        SlotSet(slot, None)
        for slot in (
            *REGISTRATION_SLOTS,
            "registration_failures",
            "consent_granted",
            "registering_for_resident",
            RESIDENT_CONSENT_SLOT,
        )
    ]


class ActionAgentStartRegistration(Action):
    """ "Daftarkan warga" from the agent menu. Only an enrolled agent's conversation gets
    the on-behalf form; the slot that marks it is set here and nowhere else."""

    def name(self) -> str:
        return "action_agent_start_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        agent = enrolled_agent(tracker)
        if agent is None:
            dispatcher.utter_message(response="utter_agent_only")
            return [SlotSet("registering_for_resident", None)]
        audit_agent(context.sessions, agent, "agent_register_resident")
        dispatcher.utter_message(response="utter_agent_registration_start")
        # A rule starts registration_form on this (nlu/rules.yml).
        return [*_reset_registration(), SlotSet("registering_for_resident", True)]


class ActionSubmitRegistration(Action):
    def name(self) -> str:
        return "action_submit_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        registration = registration_from_slots(tracker)
        if _for_resident(tracker):
            self._submit_for_resident(dispatcher, tracker, domain, registration)
            return _reset_registration()
        try:
            result = register_participant(
                context.sessions,
                context.cipher,
                context.hash_key,
                registration,
                tracker.sender_id,
                context.clock.now(),
                consent_record_id=tracker.get_slot("consent_record_id"),
            )
        except DuplicateNik:
            dispatcher.utter_message(response="utter_nik_already_registered")
            return _reset_registration()
        dispatcher.utter_message(
            response="utter_registration_done",
            reference=result.reference,
            contribution=rupiah(result.monthly_contribution),
            due_date=tanggal(result.first_due_date),
        )
        return _reset_registration()

    @staticmethod
    def _submit_for_resident(
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        registration: Registration,
    ) -> None:
        context = get_app_context()
        # Checked again: an agent suspended during the form registers nobody.
        agent = enrolled_agent(tracker)
        if agent is None:
            dispatcher.utter_message(response="utter_agent_only")
            return
        if tracker.get_slot(RESIDENT_CONSENT_SLOT) == CODE:
            dispatcher.utter_message(
                response="utter_agent_code_sent",
                name=registration.full_name,
                phone=masked_phone(registration.phone),
                minutes=context.settings.consent_code_valid_minutes,
            )
            return
        try:
            result = context.on_behalf.register_read_aloud(
                agent.id, registration, read_aloud_wording(domain, agent), context.clock.now()
            )
        except DuplicateNik:
            dispatcher.utter_message(response="utter_nik_already_registered")
            return
        dispatcher.utter_message(
            response="utter_agent_resident_registered",
            name=registration.full_name,
            reference=result.reference,
            contribution=rupiah(result.monthly_contribution),
            due_date=tanggal(result.first_due_date),
            phone=masked_phone(registration.phone),
        )


class ActionCancelRegistration(Action):
    """ "batal" during registration: nothing is stored, every field given is forgotten."""

    def name(self) -> str:
        return "action_cancel_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_registration_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_reset_registration()]


class ActionCheckStatus(Action):
    """ "cek status": the sender's own registration, without repeating personal data."""

    def name(self) -> str:
        return "action_check_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        view = find_for_sender(
            context.sessions,
            context.cipher,
            context.hash_key,
            tracker.sender_id,
        )
        if view is None:
            dispatcher.utter_message(response="utter_status_not_registered")
            return []
        now = view.standing(context.clock.today())
        arrears = (
            response_text(domain, "utter_status_arrears").format(
                months=now.months_owed, amount=rupiah(now.months_owed * view.monthly_contribution)
            )
            if now.months_owed
            else response_text(domain, "utter_status_arrears_none")
        )
        dispatcher.utter_message(
            response="utter_status",
            reference=view.reference,
            status=response_text(domain, f"utter_status_label_{now.status.value}"),
            programmes=programmes(view.with_jht),
            contribution=rupiah(view.monthly_contribution),
            paid_through=bulan(view.paid_through)
            if view.paid_through
            else response_text(domain, "utter_status_paid_through_none"),
            arrears=arrears,
            due_date=tanggal(view.next_due_date),
        )
        return []


class ActionDeleteMyData(Action):
    """ "hapus data saya": asks once for confirmation, then erases (see delete_for_sender)."""

    def name(self) -> str:
        return "action_delete_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        key = context.hash_key
        pending = bool(tracker.get_slot("deletion_requested"))
        intent = latest_intent(tracker)
        if pending and intent == "affirm":
            reference = delete_for_sender(context.sessions, key, tracker.sender_id)
            dispatcher.utter_message(
                response="utter_data_deleted" if reference else "utter_nothing_to_delete"
            )
            return [SlotSet("deletion_requested", None)]
        if pending and intent == "deny":
            dispatcher.utter_message(response="utter_deletion_cancelled")
            return [SlotSet("deletion_requested", None)]
        if find_for_sender(context.sessions, context.cipher, key, tracker.sender_id) is None:
            dispatcher.utter_message(response="utter_nothing_to_delete")
            return []
        dispatcher.utter_message(response="utter_confirm_delete")
        return [SlotSet("deletion_requested", True)]
