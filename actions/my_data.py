"""A participant's own data from chat: "cek status", and "hapus data saya" (asked once for
confirmation, then erased: bot.services.erasure.delete_for_sender)."""

from __future__ import annotations

import asyncio

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.reading import message_from
from actions.responses import response_text
from bot import messages
from bot.app_context import get_app_context
from bot.domain.clock import local_date
from bot.domain.formatting import bulan, programmes, rupiah, tanggal
from bot.domain.submissions import RejectionReason, SubmissionState
from bot.services.conversations import erase_conversations
from bot.services.erasure import delete_for_sender
from bot.services.participants import ParticipantView, find_for_sender
from bot.services.registry.submissions import Stage
from bot.understanding.interpreter import yes_no


def handover_reason(stage: Stage) -> str:
    return messages.REJECTION_FOR_RESIDENT[stage.reason or RejectionReason.OTHER]


#: Stages a resident waits in: "cek status" says since when.
_WAITING = (SubmissionState.PENDING, SubmissionState.SUBMITTED, SubmissionState.NEEDS_ATTENTION)


def handover_line(domain: DomainDict, stage: Stage | None, with_since: bool = False) -> str:
    """Where the hand-over to BPJS Ketenagakerjaan stands, in one line of "cek status"."""
    if stage is None or stage.state is SubmissionState.CANCELLED:
        return "-"
    line = response_text(domain, f"utter_handover_{stage.state.value}").format(
        kpj=stage.kpj or "-", reason=handover_reason(stage) if stage.reason else ""
    )
    if with_since and stage.state in _WAITING:
        line = response_text(domain, "utter_handover_since").format(
            stage=line, since=tanggal(local_date(stage.since))
        )
    return line


def tell_rejection(
    dispatcher: CollectingDispatcher, domain: DomainDict, reference: str, stage: Stage
) -> None:
    """Why BPJS Ketenagakerjaan refused the registration, and what to do about it."""
    dispatcher.utter_message(
        response="utter_kpj_rejected", reference=reference, reason=handover_reason(stage)
    )


def tell_kpj(dispatcher: CollectingDispatcher, domain: DomainDict, view: ParticipantView) -> None:
    """ "nomor KPJ saya berapa?" answered from the record: the number, or where it is."""
    stage = view.handover
    if stage is None or stage.state is SubmissionState.CANCELLED:
        dispatcher.utter_message(response="utter_answer_ask_kpj")
    elif stage.state is SubmissionState.ACCEPTED:
        code = (
            response_text(domain, "utter_kpj_payment_code").format(payment_code=stage.payment_code)
            if stage.payment_code
            else ""
        )
        dispatcher.utter_message(
            response="utter_kpj_accepted",
            kpj=stage.kpj,
            payment_code=code,
            reference=view.reference,
        )
    elif stage.state is SubmissionState.REJECTED:
        tell_rejection(dispatcher, domain, view.reference, stage)
    else:
        dispatcher.utter_message(
            response="utter_kpj_waiting",
            reference=view.reference,
            stage=handover_line(domain, stage),
            since=tanggal(local_date(stage.since)),
        )


class ActionCheckStatus(Action):
    """ "cek status": the sender's own registration, without repeating personal data."""

    def name(self) -> str:
        return "action_check_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        view = await asyncio.to_thread(
            find_for_sender,
            context.unit_of_work(),
            context.cipher,
            context.hash_key,
            tracker.sender_id,
        )
        if view is None:
            dispatcher.utter_message(response="utter_status_not_registered")
            return []
        if view.handover is not None and view.handover.state is not SubmissionState.ACCEPTED:
            dispatcher.utter_message(
                response="utter_status_before_kpj",
                reference=view.reference,
                programmes=programmes(view.with_jht),
                contribution=rupiah(view.monthly_contribution),
                handover=handover_line(domain, view.handover, with_since=True),
            )
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
            handover=handover_line(domain, view.handover, with_since=True),
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
        answer = yes_no(message_from(tracker))
        if pending and answer is True:
            url = context.settings.tracker_store_url
            # The participant's other conversations go in the same use case (before its
            # commit); this one is erased by Rasa's store when it saves the slot below.
            erased = await asyncio.to_thread(
                delete_for_sender,
                context.unit_of_work(),
                context.cipher,
                key,
                tracker.sender_id,
                context.clock.now(),
                lambda others: erase_conversations(url, key, others),
            )
            if erased is None:
                dispatcher.utter_message(response="utter_nothing_to_delete")
            elif erased.handover == "withdrawal":
                dispatcher.utter_message(response="utter_data_deleted_handed_over")
            else:
                dispatcher.utter_message(response="utter_data_deleted")
            # The conversation (typed NIK, name, phone) is erased with the record.
            return [SlotSet("deletion_requested", None), SlotSet("erase_conversation", True)]
        if pending and answer is False:
            dispatcher.utter_message(response="utter_deletion_cancelled")
            return [SlotSet("deletion_requested", None)]
        own = await asyncio.to_thread(
            find_for_sender, context.unit_of_work(), context.cipher, key, tracker.sender_id
        )
        if own is None:
            dispatcher.utter_message(response="utter_nothing_to_delete")
            return []
        handed_over = own.handover is not None and own.handover.state in (
            SubmissionState.SUBMITTED,
            SubmissionState.ACCEPTED,
        )
        dispatcher.utter_message(
            response="utter_confirm_delete_handed_over" if handed_over else "utter_confirm_delete"
        )
        return [SlotSet("deletion_requested", True)]
