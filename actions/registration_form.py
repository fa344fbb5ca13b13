"""The registration form's validator: what each message means (decided by the interpreter
in bot/understanding) and the checks of each field. Rules live in bot.domain; this module
only turns readings and verdicts into slots and replies. The actions around the form (its
start, questions, summary, submission) are in actions/registration.py."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, NamedTuple

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.agents import enrolled_agent
from actions.ktp_photo import PhotoShown, as_filled, as_given, photo_answers, photo_turn
from actions.on_behalf import (
    CODE,
    CODE_ON_CONTACT,
    READ_ALOUD,
    masked_phone,
    send_consent_code,
)
from actions.places import (
    agent_village_code,
    assumed_village_message,
    deployed_village_codes,
    village_slots,
)
from actions.questions import answer_or_hand_over
from actions.reading import gateway_metadata, message_from
from actions.registration_slots import (
    CORRECTING_SUMMARY_SLOT,
    INCOME_OFFERED_SLOT,
    PHONE_PROOF_SLOT,
    PHOTO_CONFIRMED_SLOT,
    PHOTO_PENDING_SLOT,
    RESIDENT_CONSENT_SLOT,
    STOPPED_SLOT,
    SUMMARY_STEPS,
    VILLAGE_CHOICES_SLOT,
    VILLAGE_PENDING_SLOT,
    correcting,
    for_resident,
    registration_from_slots,
    show_date,
)
from actions.responses import response_text
from bot.app_context import AppContext, get_app_context
from bot.domain.addresses import SHARED_CONTACT_METADATA, Proof
from bot.domain.formatting import programmes, rupiah
from bot.domain.income import IncomePerPeriod, load_factors, monthly_estimate
from bot.domain.ktp import PHOTO_READ_INTENT, PHOTO_SENT_INTENT
from bot.domain.nik import InvalidNik, parse_nik
from bot.domain.places import nik_district_code
from bot.domain.registration import (
    RegistrationProblem,
    age_on,
    check_age,
    check_income,
    clean_full_name,
)
from bot.domain.senders import Channel, SenderId, channel_of
from bot.infra.region_register import place_register
from bot.infra.settings import Settings
from bot.services.on_behalf import AgentNumber
from bot.services.participants import NikHolder, nik_holder
from bot.understanding.interpreter import (
    FIELDS,
    AgreedToOffer,
    Meaning,
    PartialDate,
    Unparsed,
    interpret,
)
from bot.understanding.places import read_place
from nlu.parsing.dates import find_dates, merge_date
from nlu.parsing.identifiers import normalise_phone
from nlu.parsing.lookups import occupation_label, occupations

MAX_FAILURES_BEFORE_HELP = 3

Verdict = dict[str, Any]


class Step(NamedTuple):
    """What a field's check may use besides the value."""

    dispatcher: CollectingDispatcher
    tracker: Tracker
    domain: DomainDict
    pending: Verdict
    #: The process context, read once at the top of ``run``.
    context: AppContext


#: A verdict that refused the value (the reply saying why was already sent).
REFUSED: Verdict = {}


class ValidateRegistrationForm(FormValidationAction):
    """Each message is read once by ``interpret``; this class applies the reading: checks
    the values, acknowledges fields given out of turn and corrections in one short line,
    answers questions, and stops early (cancel, not eligible) without storing anything."""

    def name(self) -> str:
        return "validate_registration_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot(STOPPED_SLOT):
            return []  # the form closes; action_submit_registration only tidies up
        # Fields read from a KTP photo wait for "Benar?" before any other question.
        photo = [PHOTO_CONFIRMED_SLOT] if tracker.get_slot(PHOTO_PENDING_SLOT) else []
        if for_resident(tracker):
            return [*photo, *domain_slots, RESIDENT_CONSENT_SLOT]
        return [*photo, *domain_slots]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        asking = tracker.get_slot("requested_slot")
        known = _number_of_this_chat(tracker)
        if known:
            tracker.add_slots(known)
        events: list[EventType] | None
        if message_from(tracker).intent in (PHOTO_SENT_INTENT, PHOTO_READ_INTENT):
            events = photo_turn(dispatcher, tracker, context.settings, asking)
        elif asking is None and correcting(tracker):
            # The stored registration's answers, checked when it was made: straight to the
            # summary, where the resident sends what to correct.
            events = []
        elif asking is None:
            # The form is starting with answers given before consent: check them now.
            given = {k: v for k, v in tracker.slots_to_validate().items() if k in FIELDS}
            # Unchecked until now: no check may read one of them as an accepted slot (the
            # birth date's check parsed a NIK that its own check was about to refuse).
            tracker.add_slots([SlotSet(name, None) for name in given])
            events = await self._apply(context, dispatcher, tracker, domain, None, None, given, {})
            # Those slots are already set (action_record_consent): a value its check refused
            # is emptied, or the form would keep it and never ask for it.
            kept = {e["name"] for e in events if e.get("event") == "slot"}
            events += [SlotSet(name, None) for name in given if name not in kept]
        else:
            events = await self._read(context, dispatcher, tracker, domain, asking)
        if events is None:
            return []  # left to the dialogue rules (stop reminders, "are you a bot?")
        events = [*known, *events]
        tracker.add_slots(events)
        next_slot = await self.next_requested_slot(dispatcher, tracker, domain)
        return [*events, next_slot] if next_slot else events

    async def _read(
        self,
        context: AppContext,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        asking: str,
    ) -> list[EventType] | None:
        message = message_from(tracker)
        filled = {name: tracker.get_slot(name) for name in FIELDS}
        photo: dict[str, str] = {}
        if asking == PHOTO_CONFIRMED_SLOT:
            photo = photo_answers(tracker, context.settings)
            if not photo:  # forgotten meanwhile (15 minutes): the message is read anyway
                dispatcher.utter_message(response="utter_ktp_photo_expired")
                done = [SlotSet(PHOTO_PENDING_SLOT, None), SlotSet(asking, None)]
                tracker.add_slots(done)
                return [
                    *done,
                    *(await self._read_without_question(context, dispatcher, tracker, domain)),
                ]
            filled |= as_filled(photo)  # what "Benar?" is about, as if it were answered
        reading = interpret(message, asking, filled, context.clock.today())
        again = [SlotSet(asking, None)]  # the form asks the pending question again
        if reading.meaning is Meaning.LEAVE_TO_RULES:
            return None
        if reading.meaning is Meaning.QUESTION:
            income = message.entity("money")
            await answer_or_hand_over(
                context, dispatcher, tracker, domain, reading.topic, int(income) if income else None
            )
            return again
        if reading.meaning is Meaning.CANCEL:
            dispatcher.utter_message(response="utter_registration_cancelled")
            return [*again, SlotSet(STOPPED_SLOT, "cancelled")]
        if reading.meaning is Meaning.SMALL_TALK:
            return again
        if reading.meaning is Meaning.WHAT_TO_CORRECT:
            dispatcher.utter_message(response="utter_what_to_correct")
            return again
        if reading.meaning is Meaning.NOT_UNDERSTOOD:
            return [*again, *self._refuse(asking, f"utter_{reading.problem}", dispatcher, tracker)]
        if photo:
            if reading.answer is False and not reading.corrections:
                if tracker.get_slot(PHOTO_PENDING_SLOT) == PhotoShown.ASKED_WHICH:
                    # "tidak" again (or "semua salah"): the reading is dropped, the resident
                    # types; the question that was pending follows.
                    dispatcher.utter_message(response="utter_ktp_photo_dropped")
                    return [SlotSet(PHOTO_PENDING_SLOT, None), SlotSet(asking, None)]
                return [
                    *again,
                    SlotSet(CORRECTING_SUMMARY_SLOT, True),  # "which is wrong?"
                    SlotSet(PHOTO_PENDING_SLOT, PhotoShown.ASKED_WHICH.value),
                ]
            # Confirmed (or corrected in the same breath): the photo's fields are answers
            # now, checked like typed ones; what the resident said overrides them.
            given = {**as_given(photo), **reading.given}
            given = {k: v for k, v in given.items() if k not in reading.corrections}
            events = await self._apply(
                context, dispatcher, tracker, domain, None, None, given, reading.corrections
            )
            return [*events, SlotSet(PHOTO_PENDING_SLOT, None), SlotSet(asking, True)]
        if asking in SUMMARY_STEPS and reading.answer is False and not reading.corrections:
            if asking == "registration_confirmed":
                # The summary's question becomes "which data is wrong?", without showing the
                # whole summary again (action_ask_registration_confirmed).
                return [*again, SlotSet(CORRECTING_SUMMARY_SLOT, True)]
            dispatcher.utter_message(response="utter_what_to_correct")
            return again
        return await self._apply(
            context, dispatcher, tracker, domain, asking, reading.answer, reading.given,
            reading.corrections,
        )  # fmt: skip

    async def _read_without_question(
        self,
        context: AppContext,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        """A message that came when no question was pending (the photo's "Benar?" lapsed):
        a cancel still cancels, fields given are still taken; the form then asks on."""
        filled = {name: tracker.get_slot(name) for name in FIELDS}
        reading = interpret(message_from(tracker), None, filled, context.clock.today())
        if reading.meaning is Meaning.CANCEL:
            dispatcher.utter_message(response="utter_registration_cancelled")
            return [SlotSet(STOPPED_SLOT, "cancelled")]
        if reading.meaning is not Meaning.ANSWER:
            return []
        return await self._apply(
            context, dispatcher, tracker, domain, None, None, reading.given, reading.corrections
        )

    async def _apply(
        self,
        context: AppContext,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        asking: str | None,
        answer: Any,
        given: dict[str, Any],
        corrections: dict[str, Any],
    ) -> list[EventType]:
        events: list[EventType] = []
        values: dict[str, Any] = {}
        quiet = CollectingDispatcher()  # a field given out of turn is refused silently
        fixed, noted = [], []
        # A verdict may set other slots instead of the field (a NIK showing an age past the
        # limit stops the registration): only a field the verdict sets is named back.
        for name, value in corrections.items():
            verdict = await self._check(context, name, value, dispatcher, tracker, domain, values)
            if verdict:
                values.update(verdict)
                if name in verdict:
                    fixed.append(name)
        # In the form's order: a NIK given with a village ranks the village's candidates.
        for name, value in sorted(given.items(), key=lambda item: _form_order(item[0])):
            verdict = await self._check(context, name, value, quiet, tracker, domain, values)
            if verdict:
                values.update(verdict)
                if name in verdict:
                    noted.append(name)
        # A later check may empty a field checked before it (a NIK whose birth date differs
        # from the one just given): only what is still set is named back.
        fixed = [name for name in fixed if values.get(name) is not None]
        noted = [name for name in noted if values.get(name) is not None]
        for name in fixed:
            dispatcher.utter_message(
                response="utter_field_corrected",
                field=_label(domain, name).capitalize(),
                value=_shown(name, values[name], values.get("district")),
            )
        # Of an unasked field only "not eligible" is said, and the other villages of a name.
        for message in quiet.messages:
            response = str(message.get("response", ""))
            if response.startswith("utter_not_eligible") or response == "utter_village_assumed":
                dispatcher.messages.append(message)
        if noted:
            dispatcher.utter_message(
                response="utter_fields_noted",
                fields=", ".join(
                    f"{_label(domain, n)} {_shown(n, values[n], values.get('district'))}"
                    for n in noted
                ),
            )
        if values.get(STOPPED_SLOT):
            return [SlotSet(k, v) for k, v in values.items()]
        if asking is not None and answer is not None:
            verdict = await self._check(
                context, asking, answer, dispatcher, tracker, domain, values
            )
            values.update(verdict or {asking: None})
            if not verdict:
                events += self._count_failure(asking, dispatcher, tracker)
        elif asking is not None:
            values.setdefault(asking, None)  # nothing for the question: it is asked again
        if asking in SUMMARY_STEPS and (fixed or noted):
            values["registration_confirmed"] = None  # show the summary with the new values
        await self._read_pending_village(context, dispatcher, tracker, domain, values)
        return [*events, *(SlotSet(k, v) for k, v in values.items())]

    async def _read_pending_village(
        self,
        context: AppContext,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        values: dict[str, Any],
    ) -> None:
        """A village given before the NIK that could not be settled is read again once the
        NIK names the kecamatan: nothing the resident gave is lost."""
        pending = values.get(VILLAGE_PENDING_SLOT, tracker.get_slot(VILLAGE_PENDING_SLOT))
        village_known = values.get("village") or tracker.get_slot("village")
        if not pending or not values.get("nik") or village_known:
            return
        values[VILLAGE_PENDING_SLOT] = None
        verdict = await self._check(
            context, "village", pending, CollectingDispatcher(), tracker, domain, values
        )
        values.update(verdict)
        if verdict.get("village"):
            dispatcher.utter_message(
                response="utter_fields_noted",
                fields=(
                    f"{_label(domain, 'village')} "
                    f"{_shown('village', verdict['village'], verdict.get('district'))}"
                ),
            )

    # --- checks: a verdict is the slots to set, or REFUSED after saying what to send ------

    async def _check(
        self,
        context: AppContext,
        name: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        pending: dict[str, Any],
    ) -> Verdict:
        if isinstance(value, PartialDate) and name == "birth_date":
            value = _merged_with_last_date(tracker, value, context.clock.today())
            if value is None:  # nothing to merge with: no guess, the whole date is asked
                dispatcher.utter_message(response="utter_ask_full_birth_date")
                return REFUSED
        if isinstance(value, Unparsed):
            dispatcher.utter_message(response=f"utter_invalid_{name}")
            return REFUSED
        check = getattr(self, f"check_{name}", None)
        if check is None:
            return {name: value}
        result = check(value, Step(dispatcher, tracker, domain, pending, context))
        if hasattr(result, "__await__"):
            result = await result
        return dict(result)

    def _refuse(
        self, slot: str, response: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        dispatcher.utter_message(response=response)
        return self._count_failure(slot, dispatcher, tracker)

    @staticmethod
    def _count_failure(
        slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """The third failed answer to one question offers a person's help."""
        failures = dict(tracker.get_slot("registration_failures") or {})
        failures[slot] = failures.get(slot, 0) + 1
        if failures[slot] >= MAX_FAILURES_BEFORE_HELP:
            dispatcher.utter_message(response="utter_offer_human_help")
            failures[slot] = 0
        return [SlotSet("registration_failures", failures)]

    def check_full_name(self, value: Any, step: Step) -> Verdict:
        try:
            return {"full_name": clean_full_name(str(value))}
        except RegistrationProblem:
            step.dispatcher.utter_message(response="utter_invalid_full_name")
            return REFUSED

    async def check_nik(self, value: Any, step: Step) -> Verdict:
        context = step.context
        today = context.clock.today()
        try:
            nik = parse_nik(str(value), today)
        except InvalidNik as error:
            step.dispatcher.utter_message(response=f"utter_invalid_nik_{error.problem.value}")
            return REFUSED
        if correcting(step.tracker):
            if nik.value == step.tracker.get_slot("nik"):
                return {"nik": nik.value}
            step.dispatcher.utter_message(response="utter_correction_keeps_nik")
            return REFUSED
        stopped = self._eligibility(
            nik.birth_date, today, context.settings, step.dispatcher, source="nik"
        )
        if stopped:
            return stopped
        holder = await asyncio.to_thread(
            nik_holder, context.unit_of_work(), context.hash_key, nik.value, step.tracker.sender_id
        )
        if holder is NikHolder.THIS_SENDER or (
            holder is not NikHolder.NOBODY and for_resident(step.tracker)
        ):
            # Its own holder (or an agent, who can mark a disputed registration) is told.
            step.dispatcher.utter_message(response="utter_nik_already_registered")
            return REFUSED
        if holder is NikHolder.SOMEONE_ELSE:
            # Nothing that confirms someone else's registration: where to get help instead.
            step.dispatcher.utter_message(response="utter_nik_not_in_chat")
            return REFUSED
        result: Verdict = {"nik": nik.value}
        birth = step.pending.get("birth_date") or step.tracker.get_slot("birth_date")
        if birth and birth != nik.birth_date.isoformat():
            step.dispatcher.utter_message(**_mismatch_message(birth, nik.birth_date.isoformat()))
            result["birth_date"] = None
        return result

    def check_birth_date(self, value: Any, step: Step) -> Verdict:
        birth = date.fromisoformat(str(value))
        today = step.context.clock.today()
        stopped = self._eligibility(
            birth, today, step.context.settings, step.dispatcher, source="birth_date"
        )
        if stopped:
            return stopped
        nik = step.pending.get("nik") or step.tracker.get_slot("nik")
        if nik:
            encoded = parse_nik(nik, today).birth_date
            if encoded != birth:
                step.dispatcher.utter_message(
                    **_mismatch_message(birth.isoformat(), encoded.isoformat())
                )
                return REFUSED
        return {"birth_date": birth.isoformat()}

    @staticmethod
    def _eligibility(
        birth: date, today: date, settings: Settings, dispatcher: CollectingDispatcher, source: str
    ) -> Verdict:
        """Too young or too old ends the registration at once, kindly, storing nothing."""
        try:
            check_age(birth, today, settings.min_registration_age, settings.max_registration_age)
        except RegistrationProblem as problem:
            dispatcher.utter_message(
                response=f"utter_not_eligible_{problem.code}",
                age=age_on(birth, today),
                minimum=settings.min_registration_age,
                maximum=settings.max_registration_age,
                source=source,
            )
            return {STOPPED_SLOT: problem.code}
        return {}

    async def check_phone(self, value: Any, step: Step) -> Verdict:
        phone = normalise_phone(str(value))
        if phone is None:
            step.dispatcher.utter_message(response="utter_invalid_phone")
            return REFUSED
        if for_resident(step.tracker) and await _is_an_agents_number(
            step.context, step.tracker, phone
        ):
            step.dispatcher.utter_message(response="utter_walk_in_phone_is_agent")
            return REFUSED
        # Telegram's adapter passes the number of a contact the sender shared of themselves:
        # Telegram verified it, so it counts as proven (typed numbers do not). Only metadata
        # the gateway signed counts: anyone else reaching Rasa could claim any number.
        metadata = gateway_metadata(step.tracker, step.context.settings)
        shared = normalise_phone(str(metadata.get(SHARED_CONTACT_METADATA) or ""))
        proven = Proof.TELEGRAM_CONTACT.value if shared == phone else None
        return {"phone": phone, PHONE_PROOF_SLOT: proven}

    async def check_village(self, value: Any, step: Step) -> Verdict:
        """Only a desa/kelurahan of the national register is stored, with its kecamatan,
        regency and code; close candidates are offered; anything else is asked again."""
        nik = step.pending.get("nik") or step.tracker.get_slot("nik")
        near = nik_district_code(str(nik)) if nik else None
        agent = (
            await enrolled_agent(step.context, step.tracker) if for_resident(step.tracker) else None
        )
        register = place_register()
        preferred = [code for code in [agent_village_code(agent, register)] if code]
        reading = read_place(str(value), register, near, preferred, deployed_village_codes())
        if reading.place is not None:
            if reading.choices:  # the nearest of several with that name: the others offered
                step.dispatcher.utter_message(**assumed_village_message(reading))
            return village_slots(reading.place)
        if near is None and step.tracker.get_slot("requested_slot") != "village":
            # Given before the NIK: read again once the NIK says where to look first.
            return {VILLAGE_PENDING_SLOT: str(value)}
        if reading.choices:
            # Offered by the village question itself (action_ask_village), as its buttons.
            return {VILLAGE_CHOICES_SLOT: [place.code for place in reading.choices]}
        if reading.district is not None:
            step.dispatcher.utter_message(
                response="utter_village_in_district", district=reading.district.name
            )
        else:
            step.dispatcher.utter_message(response="utter_invalid_village")
        return REFUSED

    def check_district(self, value: Any, step: Step) -> Verdict:
        """Asked only when a village was stored without one (never from the register)."""
        found = read_place(f"kec {value}", place_register()).district
        if found is None:
            step.dispatcher.utter_message(response="utter_invalid_district")
            return REFUSED
        return {"district": found.name}

    def check_regency(self, value: Any, step: Step) -> Verdict:
        text = str(value).strip()
        if len(text) < 3:
            step.dispatcher.utter_message(response="utter_invalid_regency")
            return REFUSED
        return {"regency": text}

    def check_occupation(self, value: Any, step: Step) -> Verdict:
        if str(value) not in {o.code for o in occupations()}:  # only codes of the lookup
            step.dispatcher.utter_message(response="utter_invalid_occupation")
            return REFUSED
        return {"occupation": str(value)}

    def check_declared_income(self, value: Any, step: Step) -> Verdict:
        if isinstance(value, AgreedToOffer):
            # "iya segitu" to the monthly figure offered for a day's or a week's income.
            offered = step.tracker.get_slot(INCOME_OFFERED_SLOT)
            if offered is None:
                step.dispatcher.utter_message(response="utter_invalid_declared_income")
                return REFUSED
            value = offered
        if isinstance(value, IncomePerPeriod):
            # A day's or a week's earnings are never the month's: the resident confirms the
            # monthly figure (a button carrying it) or types their own.
            factors = load_factors()
            monthly = monthly_estimate(value, factors)
            step.dispatcher.utter_message(
                response=f"utter_income_per_{value.period}",
                amount=rupiah(value.amount),
                monthly=rupiah(monthly),
                monthly_value=monthly,
                days=f"{factors.days_worked_per_month:g}",
                weeks=f"{factors.weeks_per_month:g}".replace(".", ","),
            )
            return {INCOME_OFFERED_SLOT: monthly}
        try:
            return {"declared_income": float(check_income(int(value))), INCOME_OFFERED_SLOT: None}
        except RegistrationProblem as problem:
            step.dispatcher.utter_message(response=f"utter_{problem.code}")
            return REFUSED

    def check_with_jht(self, value: Any, step: Step) -> Verdict:
        return {"with_jht": bool(value)}

    def check_registration_confirmed(self, value: Any, step: Step) -> Verdict:
        return {"registration_confirmed": True} if value else REFUSED

    async def check_resident_consent(self, value: Any, step: Step) -> Verdict:
        """The code is sent here, inside the form, so that a number it cannot reach keeps
        every answer and simply asks again (the agent may choose reading aloud)."""
        if value != CODE:
            return {RESIDENT_CONSENT_SLOT: READ_ALOUD}
        context = step.context
        agent = await enrolled_agent(context, step.tracker)
        if agent is None:
            return {RESIDENT_CONSENT_SLOT: value}  # refused at submission
        try:
            held = await send_consent_code(
                context,
                step.domain,
                agent,
                step.tracker.sender_id,
                registration_from_slots(step.tracker, context.clock.today()),
            )
        except AgentNumber:  # checked at the phone question too: never sent to an agent
            step.dispatcher.utter_message(response="utter_walk_in_phone_is_agent")
            return {"phone": None, RESIDENT_CONSENT_SLOT: None}
        if held is None:
            step.dispatcher.utter_message(
                response="utter_resident_code_not_sent",
                phone=masked_phone(str(step.tracker.get_slot("phone"))),
            )
            return REFUSED
        return {RESIDENT_CONSENT_SLOT: CODE_ON_CONTACT if held.awaiting_contact else CODE}


async def _is_an_agents_number(context: AppContext, tracker: Tracker, phone: str) -> bool:
    """A walk-in's WhatsApp number that is an enrolled agent's (any agent's, audited)."""
    agent = await enrolled_agent(context, tracker)
    if agent is None:
        return False  # not an agent: refused at submission anyway
    try:
        await asyncio.to_thread(
            context.on_behalf.refuse_agent_number, agent.id, phone, context.clock.now()
        )
    except AgentNumber:
        return True
    return False


def _number_of_this_chat(tracker: Tracker) -> list[EventType]:
    """On WhatsApp the resident's number is known: it is never asked (unless an agent is
    registering someone else, whose number the agent types)."""
    own_chat = channel_of(tracker.sender_id) is Channel.WHATSAPP and not for_resident(tracker)
    if own_chat and tracker.get_slot("phone") is None:
        return [SlotSet("phone", SenderId.parse(tracker.sender_id).address)]
    return []


def _merged_with_last_date(tracker: Tracker, partial: PartialDate, today: date) -> str | None:
    """'tahunnya 82' after a refused date: that date with the part changed. The date is the
    last one the resident typed before this message (the refused one is in no slot)."""
    previous = tracker.get_slot("birth_date")
    if not previous:
        users = [e for e in tracker.events if e.get("event") == "user"][:-1]
        for event in reversed(users[-5:]):
            entities = (event.get("parse_data") or {}).get("entities") or []
            typed = [e.get("value") for e in entities if e.get("entity") == "date"]
            typed = typed or [f.value for f in find_dates(str(event.get("text") or ""), today)]
            if typed:
                previous = typed[-1]
                break
    return merge_date(str(previous), list(partial.parts)) if previous else None


def _mismatch_message(typed: str, encoded: str) -> dict[str, Any]:
    """A birth date the NIK contradicts: both shown, the NIK's one a tap away (its button
    sends the date as text, read like a typed one)."""
    return {
        "response": "utter_birth_date_mismatch",
        "birth_date": show_date(typed),
        "nik_birth_date": show_date(encoded),
        "buttons": [{"title": show_date(encoded), "payload": show_date(encoded)}],
    }


def _form_order(field: str) -> int:
    return FIELDS.index(field) if field in FIELDS else len(FIELDS)


def _label(domain: DomainDict, field: str) -> str:
    return response_text(domain, f"utter_label_{field}")


def _shown(field: str, value: Any, district: str | None = None) -> str:
    """A field's value as the resident reads it back (a village with its kecamatan, when
    known: one name may be a village in several)."""
    if field == "village" and district:
        return f"{value}, Kec. {district}"
    if field == "declared_income":
        return rupiah(int(value))
    if field == "birth_date":
        return show_date(str(value))
    if field == "occupation":
        return occupation_label(str(value))
    if field == "with_jht":
        return programmes(bool(value))
    return str(value)
