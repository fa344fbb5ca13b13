"""Reminder preferences ("STOP", "aktifkan pengingat") and "sudah bayar" reports."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.reading import latest_intent
from bot.app_context import get_app_context
from bot.services.payments import report_own_payment as store_own_report
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
        await asyncio.to_thread(
            get_app_context().channel_log.set_reminders_opt_out, tracker.sender_id, stop
        )
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
        await report_own_payment(dispatcher, tracker)
        return []


async def report_own_payment(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The sender says they paid: stored unverified for their own registration."""
    context = get_app_context()
    months = months_said(tracker.latest_message.get("text") or "")
    result = await asyncio.to_thread(
        store_own_report,
        context.unit_of_work(),
        context.hash_key,
        tracker.sender_id,
        months,
        context.clock.now(),
    )
    if result is None:
        dispatcher.utter_message(response="utter_payment_report_needs_registration")
        return
    details: dict[str, Any] = {"months": result.months, "receipt": result.receipt}
    dispatcher.utter_message(response="utter_payment_reported", **details)
