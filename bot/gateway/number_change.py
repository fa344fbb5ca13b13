"""A WhatsApp number that a number change left answers "BUKAN SAYA": reported at the
channel, before Rasa, because that number belongs to nobody's conversation any more (its
address was removed). The report is an audit event and a ticket for the village agent
(bot.services.addresses.AddressBook.report_not_me); the agent is told at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot import messages
from bot.app_context import AppContext
from bot.channels.outbound import Outbox
from bot.domain.replies import BotReply
from bot.services.handoff import ticket_label
from bot.understanding.address_messages import says_not_me

log = logging.getLogger(__name__)

#: Replies for a report, or None when the message is an ordinary one (for Rasa).
NotMeHandler = Callable[[str, str], Awaitable[list[BotReply] | None]]


def not_me_handler(context: AppContext, outbox: Outbox) -> NotMeHandler:
    async def handle(sender_id: str, text: str) -> list[BotReply] | None:
        if not says_not_me(text):
            return None
        report = await asyncio.to_thread(
            context.address_book.report_not_me, sender_id, text, context.clock.now()
        )
        if report is None:
            return None
        ticket = ticket_label(report.ticket_number)
        if report.agent_address is not None:
            notice = messages.NUMBER_CHANGE_REPORTED_AGENT.format(
                ticket=ticket, reference=report.reference
            )
            await outbox.send(report.agent_address, BotReply(text=notice))
        return [BotReply(text=messages.NUMBER_CHANGE_REPORTED.format(ticket=ticket))]

    return handle
