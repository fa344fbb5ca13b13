"""The registration's actions: its start (keeping the fields a first message carries
until consent is given), the village question, the summary, an agent's start of a walk-in
registration, the submission and "batal". The form's validator, which reads each answer,
is actions/registration_form.py; consent is actions/consent.py."""

from __future__ import annotations

import asyncio

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.addresses import request_link
from actions.agents import agent_for_request, enrolled_agent, tell_residents
from actions.my_data import handover_line, tell_rejection
from actions.on_behalf import CODE, CODE_ON_CONTACT, masked_phone, read_aloud_wording
from actions.places import (
    agent_village_code,
    choice_message,
    village_buttons,
)
from actions.questions import answer_or_hand_over
from actions.reading import message_from
from actions.registration_slots import (
    CORRECTING_REGISTRATION_SLOT,
    CORRECTING_SUMMARY_SLOT,
    PHONE_PROOF_SLOT,
    RESIDENT_CONSENT_SLOT,
    STOPPED_SLOT,
    VILLAGE_CHOICES_SLOT,
    correcting,
    for_resident,
    registration_from_slots,
    reset_registration,
    show_date,
)
from actions.resident_notices import notify_resident
from actions.responses import response_text
from bot.app_context import AppContext, get_app_context
from bot.domain.addresses import LinkPurpose, Proof
from bot.domain.formatting import programmes, rupiah, tanggal
from bot.domain.places import REGENCY_CODE, nik_district_code, regency_display
from bot.domain.registration import Registration
from bot.domain.senders import Channel, channel_of
from bot.domain.submissions import SubmissionState
from bot.domain.tariff import monthly_contribution
from bot.infra.region_register import place_register
from bot.services.corrections import (
    CorrectionClosed,
    correct_registration,
    registration_to_correct,
)
from bot.services.on_behalf import AgentNumber, resident_sender_id
from bot.services.participants import ConsentMissing, DuplicateNik, register_participant
from bot.services.resident_notices import ResidentNotice
from bot.understanding.agent_messages import asks_for_own_residents
from bot.understanding.interpreter import (
    asks_how_to_join,
    early_fields,
    is_question,
    question_topic,
    wants_to_register,
)
from bot.understanding.places import read_place
from nlu.parsing.lookups import occupation_label, villages_in_regency


class ActionInformOutsideRegistration(Action):
    """Data sent outside a registration: a message that also asks to register ("sy mau
    daftar, nama …") starts it, keeping the data; anything else is told how to start."""

    def name(self) -> str:
        return "action_inform_outside_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        message = message_from(tracker)
        if not wants_to_register(message):
            dispatcher.utter_message(response="utter_inform_outside_registration")
            return [SlotSet("registration_requested", None)]
        fields = early_fields(message, context.clock.today(), place_register())
        # A rule asks for consent next (nlu/rules.yml).
        return [
            SlotSet("early_fields", fields or None),
            SlotSet("registration_stopped", None),
            SlotSet("registration_requested", True),
        ]


#: Questions a message the classifier took for "daftar" may really ask, answered instead
#: of starting (not "how do I join the programme", which starting answers).
_ANSWERED_BEFORE_REGISTERING = frozenset(
    {
        "ask_contribution",
        "ask_premium_for_income",
        "ask_jkk",
        "ask_jkm",
        "ask_jht",
        "ask_claim",
        "ask_payment_channels",
        "ask_due_date",
        "ask_requirements",
        "ask_kpj",
    }
)


class ActionStartRegistration(Action):
    """ "daftar": keeps the fields a first message carries ("sy mau daftar, nama …, nik …")
    in the conversation until consent is given; nothing is stored before it."""

    def name(self) -> str:
        return "action_start_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        message = message_from(tracker)
        joining = wants_to_register(message) or asks_how_to_join(message)
        topic = None if joining else question_topic(message)
        if is_question(message) and topic in _ANSWERED_BEFORE_REGISTERING:
            # "kalo ikut sebulan bayar berapaan?": asks what joining costs, before joining.
            income = message.entity("money")
            await answer_or_hand_over(
                context, dispatcher, tracker, domain, topic, int(income) if income else None
            )
            return [FollowupAction("action_listen")]
        fields = early_fields(message, context.clock.today(), place_register())
        # A rule asks for consent next (nlu/rules.yml).
        return [SlotSet("early_fields", fields or None), SlotSet("registration_stopped", None)]


def _contribution(tracker: Tracker) -> tuple[int, bool]:
    with_jht = bool(tracker.get_slot("with_jht"))
    income = int(tracker.get_slot("declared_income") or 0)
    return monthly_contribution(income, with_jht).total, with_jht


class ActionAskVillage(Action):
    """Asks for the village, naming the kecamatan the NIK was issued in and offering, as
    buttons, the agent's own village (for a walk-in) and the Desa Sadar villages of the
    NIK's regency."""

    def name(self) -> str:
        return "action_ask_village"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        register = place_register()
        choices = [register.place(code) for code in tracker.get_slot(VILLAGE_CHOICES_SLOT) or []]
        offered_choices = [place for place in choices if place is not None]
        if offered_choices:
            dispatcher.utter_message(**choice_message(offered_choices))
            return [SlotSet(VILLAGE_CHOICES_SLOT, None)]
        nik = tracker.get_slot("nik")
        near = nik_district_code(str(nik)) if nik else None
        district = register.area(near) if near else None
        agent = await enrolled_agent(get_app_context(), tracker) if for_resident(tracker) else None
        own = register.place(agent_village_code(agent, register) or "")
        nearby = [
            found
            for village in (villages_in_regency(str(nik)[:4]) if nik else [])
            if (found := read_place(f"desa {village.name}, kec {village.district}", register).place)
        ]
        offered = list({p.code: p for p in ([own] if own else []) + nearby}.values())[:5]
        if district is None:
            dispatcher.utter_message(response="utter_ask_village", buttons=village_buttons(offered))
            return []
        regency = register.area(district.code[:REGENCY_CODE])
        dispatcher.utter_message(
            # "pilih di bawah" only when there is something below to choose.
            response="utter_ask_village_suggest" if offered else "utter_ask_village_near",
            district=district.name,
            regency=regency_display(regency.name) if regency else "",
            buttons=village_buttons(offered),
        )
        return []


class ActionAskRegistrationConfirmed(Action):
    """The summary, with the monthly contribution, before anything is stored."""

    def name(self) -> str:
        return "action_ask_registration_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot(CORRECTING_SUMMARY_SLOT):
            dispatcher.utter_message(response="utter_what_to_correct")
            return [SlotSet(CORRECTING_SUMMARY_SLOT, None)]
        total, with_jht = _contribution(tracker)
        dispatcher.utter_message(
            response="utter_registration_summary",
            full_name=tracker.get_slot("full_name"),
            nik=tracker.get_slot("nik"),
            birth_date=show_date(tracker.get_slot("birth_date")),
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


class ActionAgentStartRegistration(Action):
    """ "Daftarkan warga" from the agent menu. Only an enrolled agent's conversation gets
    the on-behalf form; the slot that marks it is set here and nowhere else."""

    def name(self) -> str:
        return "action_agent_start_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        if asks_for_own_residents(message_from(tracker).text):
            # "warga saya" read as a walk-in request: the agent asked for their list.
            agent = await agent_for_request(context, tracker, dispatcher, "agent_my_residents")
            if agent is not None:
                await tell_residents(context, dispatcher, domain, agent)
            return [SlotSet("registering_for_resident", None)]
        agent = await agent_for_request(context, tracker, dispatcher, "agent_register_resident")
        if agent is None:
            return [SlotSet("registering_for_resident", None)]
        dispatcher.utter_message(response="utter_agent_registration_start")
        # "ada warga mau daftar: Tarmuji, nik …": what the request carries becomes the form's
        # answers, checked as it starts (validate_registration_form) and not asked again.
        given = early_fields(message_from(tracker), context.clock.today(), place_register())
        # A rule starts registration_form on this (nlu/rules.yml).
        return [
            *reset_registration(),
            SlotSet("registering_for_resident", True),
            *(SlotSet(name, value) for name, value in given.items()),
        ]


class ActionCorrectRegistration(Action):
    """ "perbaiki data" outside a form. While BPJS Ketenagakerjaan has not taken the
    registration (not yet handed over, or refused for a reason put right in place), the
    form opens again at its summary with the stored answers (a rule starts it on the slot
    set here); otherwise it says why the data cannot change in chat."""

    def name(self) -> str:
        return "action_correct_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        found = await asyncio.to_thread(
            registration_to_correct,
            context.unit_of_work(),
            context.cipher,
            context.hash_key,
            tracker.sender_id,
        )
        closed = [SlotSet(CORRECTING_REGISTRATION_SLOT, None)]
        if found is None:
            dispatcher.utter_message(response="utter_nothing_to_correct")
            return closed
        stage = found.stage
        if not found.open:
            if stage.state is SubmissionState.REJECTED:
                # Refused for a reason a correction here cannot change: what to do instead.
                tell_rejection(dispatcher, domain, found.reference, stage)
            else:
                dispatcher.utter_message(
                    response="utter_correction_closed",
                    reference=found.reference,
                    stage=handover_line(domain, stage),
                )
            return closed
        if stage.state is SubmissionState.REJECTED and stage.reason is not None:
            dispatcher.utter_message(
                response="utter_correction_start_rejected",
                reference=found.reference,
                reason=response_text(domain, f"utter_correction_reason_{stage.reason.value}"),
            )
        else:
            dispatcher.utter_message(response="utter_correction_start", reference=found.reference)
        return [
            *reset_registration(),
            SlotSet(CORRECTING_REGISTRATION_SLOT, True),
            *(SlotSet(name, value) for name, value in found.answers.items()),
        ]


class ActionSubmitRegistration(Action):
    def name(self) -> str:
        return "action_submit_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot(STOPPED_SLOT):
            return reset_registration()  # cancelled or not eligible: already said why
        context = get_app_context()
        registration = registration_from_slots(tracker, context.clock.today())
        if correcting(tracker):
            await self._submit_correction(context, dispatcher, tracker, registration)
            return reset_registration()
        if for_resident(tracker):
            await self._submit_for_resident(context, dispatcher, tracker, domain, registration)
            return reset_registration()
        try:
            result = await asyncio.to_thread(
                register_participant,
                context.unit_of_work(),
                context.cipher,
                context.hash_key,
                registration,
                tracker.sender_id,
                context.clock.now(),
                consent_record_id=tracker.get_slot("consent_record_id"),
                phone_verified_by=_phone_proof(tracker),
            )
        except DuplicateNik:  # registered meanwhile from elsewhere
            dispatcher.utter_message(response="utter_nik_not_in_chat")
            return reset_registration()
        except ConsentMissing:
            dispatcher.utter_message(response="utter_registration_consent_missing")
            return reset_registration()
        dispatcher.utter_message(
            response="utter_registration_done",
            reference=result.reference,
            contribution=rupiah(result.monthly_contribution),
            due_date=tanggal(result.first_due_date),
        )
        await _reach_for_reminders(context, dispatcher, tracker, domain)
        return reset_registration()

    @staticmethod
    async def _submit_correction(
        context: AppContext,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        registration: Registration,
    ) -> None:
        try:
            corrected = await asyncio.to_thread(
                correct_registration,
                context.unit_of_work(),
                context.cipher,
                context.hash_key,
                registration,
                tracker.sender_id,
                context.clock.now(),
                _phone_proof(tracker),
            )
        except CorrectionClosed as closed:  # handed over while the resident was correcting
            dispatcher.utter_message(
                response="utter_correction_too_late", reference=closed.reference or "-"
            )
            return
        if not corrected.changed:
            dispatcher.utter_message(response="utter_correction_unchanged")
        elif corrected.sent_again:
            dispatcher.utter_message(
                response="utter_correction_sent_again", reference=corrected.reference
            )
        else:
            total = monthly_contribution(registration.declared_income, registration.with_jht)
            dispatcher.utter_message(
                response="utter_correction_saved",
                reference=corrected.reference,
                contribution=rupiah(total.total),
            )

    @staticmethod
    async def _submit_for_resident(
        context: AppContext,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        registration: Registration,
    ) -> None:
        # Checked again: an agent suspended during the form registers nobody.
        agent = await enrolled_agent(context, tracker)
        if agent is None:
            dispatcher.utter_message(response="utter_agent_only")
            return
        consent = tracker.get_slot(RESIDENT_CONSENT_SLOT)
        if consent in (CODE, CODE_ON_CONTACT):
            dispatcher.utter_message(
                response="utter_agent_code_sent"
                if consent == CODE
                else "utter_agent_code_awaits_contact",
                name=registration.full_name,
                phone=masked_phone(registration.phone),
                minutes=context.settings.consent_code_valid_minutes,
            )
            return
        try:
            result = await asyncio.to_thread(
                context.on_behalf.register_read_aloud,
                agent.id,
                registration,
                read_aloud_wording(domain, agent),
                context.clock.now(),
            )
        except DuplicateNik:
            dispatcher.utter_message(response="utter_nik_already_registered")
            return
        except AgentNumber:
            dispatcher.utter_message(response="utter_walk_in_phone_is_agent")
            return
        dispatcher.utter_message(
            response="utter_agent_resident_registered",
            name=registration.full_name,
            reference=result.reference,
            contribution=rupiah(result.monthly_contribution),
            due_date=tanggal(result.first_due_date),
            phone=masked_phone(registration.phone),
        )
        # The resident was not the one typing: their own WhatsApp hears what was done.
        await notify_resident(
            context,
            dispatcher,
            domain,
            [resident_sender_id(registration)],
            ResidentNotice(
                text=response_text(domain, "utter_resident_walk_in_notice").format(
                    name=registration.full_name,
                    agent=agent.name,
                    village=agent.village,
                    reference=result.reference,
                    contribution=rupiah(result.monthly_contribution),
                    due_date=tanggal(result.first_due_date),
                ),
                recorded=response_text(domain, "utter_resident_notice_registered"),
                agent_name=agent.name,
                reference=result.reference,
            ),
        )


def _phone_proof(tracker: Tracker) -> Proof | None:
    proof = tracker.get_slot(PHONE_PROOF_SLOT)
    return Proof(proof) if proof else None


async def _reach_for_reminders(
    context: AppContext, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> None:
    """A registration ends with an address reminders can reach: the web chat cannot
    receive them, so a code goes to the resident's WhatsApp at once; on Telegram, adding
    WhatsApp as well is offered. On WhatsApp the chat itself is that address."""
    channel = channel_of(tracker.sender_id)
    if channel is Channel.WEB:
        await request_link(context, dispatcher, tracker, domain, None, LinkPurpose.ADD)
    elif channel is Channel.TELEGRAM:
        dispatcher.utter_message(response="utter_link_offer_whatsapp")


class ActionCancelRegistration(Action):
    """ "batal" during registration: nothing is stored, every field given is forgotten."""

    def name(self) -> str:
        return "action_cancel_registration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_registration_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_registration()]
