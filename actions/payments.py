"""Reminder preferences ("STOP", "aktifkan pengingat"), "sudah bayar" reports, and the
members line of an agent's jimpitan receipt."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.reading import latest_intent, message_text
from actions.responses import response_text
from bot.app_context import AppContext, get_app_context
from bot.domain.formatting import bulan
from bot.domain.senders import channel_of
from bot.services.agent_payments import PaidMember
from bot.services.payments import report_own_payment as store_own_report
from bot.services.reminder_preferences import PreferenceScope, set_reminders
from bot.understanding.address_messages import reminder_scope
from bot.understanding.payment_messages import months_mentioned


def months_said(text: str) -> int:
    """The months a resident says they paid ("sudah bayar 3 bulan"); 1 when not said."""
    return months_mentioned(text) or 1


def jimpitan_members(members: Sequence[PaidMember]) -> str:
    """One line per member for utter_agent_group_payment_recorded's {members}: masked name,
    reference and the month now paid through, so the agent can tell each one."""
    return "\n".join(
        f"- {m.name} ({m.reference}): {bulan(m.paid_through) if m.paid_through else '-'}"
        for m in members
    )


class ActionReminderPreference(Action):
    """Opt out of or back into monthly reminders, for this chat address, at any moment."""

    def name(self) -> str:
        return "action_reminder_preference"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = get_app_context()
        stop = latest_intent(tracker) == "stop_reminders"
        only = reminder_scope(message_text(tracker), channel_of(tracker.sender_id))
        change = await asyncio.to_thread(
            set_reminders, context.channel_log, tracker.sender_id, stop, only, context.clock.now()
        )
        verb = "stopped" if stop else "resumed"
        if change.scope is PreferenceScope.CONVERSATION:
            dispatcher.utter_message(response=f"utter_reminders_{verb}")
        elif change.scope is PreferenceScope.PARTICIPANT:
            dispatcher.utter_message(response=f"utter_reminders_{verb}_all")
        else:
            assert change.channel is not None
            channel = response_text(domain, f"utter_channel_label_{change.channel.value}")
            missing = change.scope is PreferenceScope.NO_SUCH_CHANNEL
            response = (
                "utter_reminders_no_such_channel" if missing else f"utter_reminders_{verb}_channel"
            )
            dispatcher.utter_message(response=response, channel=channel)
        return []


async def report_own_payment(
    context: AppContext, dispatcher: CollectingDispatcher, tracker: Tracker
) -> None:
    """The sender says they paid: stored unverified for their own registration."""
    months = months_said(message_text(tracker))
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
