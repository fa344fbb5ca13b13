"""Reminder preferences ("STOP", "aktifkan pengingat") and "sudah bayar" reports."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.actions import latest_intent
from bot.app_context import get_app_context
from bot.services.participants import participant_id_for_sender
from bot.services.payments import PaymentSource, record_payment
from bot.understanding.payment_messages import months_mentioned


def months_said(text: str) -> int:
    """The months a resident says they paid ("sudah bayar 3 bulan"); 1 when not said."""
    return months_mentioned(text) or 1


class ActionReminderPreference(Action):
    """Opt out of or back into monthly reminders, for this chat address, at any moment."""

    def name(self) -> str:
        return "action_reminder_preference"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        stop = latest_intent(tracker) == "stop_reminders"
        get_app_context().channel_log.set_reminders_opt_out(tracker.sender_id, opted_out=stop)
        dispatcher.utter_message(
            response="utter_reminders_stopped" if stop else "utter_reminders_resumed"
        )
        return []


class ActionReportPayment(Action):
    """Stores the resident's own report as an unverified payment, to be confirmed."""

    def name(self) -> str:
        return "action_report_payment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        report_own_payment(dispatcher, tracker)
        return []


def report_own_payment(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The sender says they paid: stored unverified for their own registration."""
    context = get_app_context()
    participant_id = participant_id_for_sender(
        context.sessions, context.hash_key, tracker.sender_id
    )
    if participant_id is None:
        dispatcher.utter_message(response="utter_payment_report_needs_registration")
        return
    months = months_said(tracker.latest_message.get("text") or "")
    result = record_payment(
        context.sessions,
        participant_id,
        source=PaymentSource.PARTICIPANT_REPORT,
        recorded_by=f"participant:{tracker.sender_id.split(':')[0]}",
        months=months,
        now=context.clock.now(),
    )
    details: dict[str, Any] = {"months": result.months, "receipt": result.receipt}
    dispatcher.utter_message(response="utter_payment_reported", **details)
