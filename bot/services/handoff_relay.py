"""The gateway's side of talking to a person: before a message goes to Rasa, the relay
decides whether it belongs to a ticket (bot/services/handoff.py). A resident with an open
ticket talks to their agent; "selesai" gives them the bot back; an agent's "balas T-1042 …"
reaches the resident on their own channel. Anyone else's message (a non-agent typing
"balas T-…" included) goes to Rasa as usual. Sends go through the Courier (the Outbox:
WhatsApp's 24-hour window and the pacing apply as to every message)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from bot import messages
from bot.domain.clock import Clock
from bot.domain.replies import BotReply
from bot.domain.senders import Channel, channel_of
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import mask_sender
from bot.services.agents import AgentRef, agent_for_sender
from bot.services.courier import Courier
from bot.services.handoff import (
    ClosedBecause,
    HandoffPolicy,
    TicketBrief,
    answer,
    close_overdue,
    close_ticket,
    masked_text,
    open_ticket_of,
    pass_ticket,
    queue_for_web,
    reassign,
    record_resident_message,
    take_ticket,
    ticket_label,
)
from bot.services.unit_of_work import UnitOfWork
from bot.understanding.handoff_messages import (
    TicketAction,
    read_agent_reply,
    wants_the_bot_back,
)

log = logging.getLogger(__name__)


def handed_to_you(label: str, brief: TicketBrief | None) -> str:
    """What an agent reads when a ticket becomes theirs: its village and last messages."""
    recent = brief.recent if brief else ()
    return messages.HANDOFF_REASSIGNED.format(
        ticket=label,
        village=(brief.village if brief else None) or "-",
        context="\n".join(f"• {line}" for line in recent) or "-",
    )


@dataclass(frozen=True)
class HandoffRelay:
    units: Callable[[], UnitOfWork]
    cipher: PiiCipher
    hash_key: str
    courier: Courier
    clock: Clock
    policy: HandoffPolicy

    async def intercept(self, sender_id: str, text: str) -> list[BotReply] | None:
        """The replies for the sender when the message belongs to a ticket; None when it
        is for Rasa. Runs inside the sender's turn, so a ticket's messages keep their order.
        A database that cannot be read leaves the message to the bot: the chat goes on."""
        try:
            return await self._intercept(sender_id, text)
        except SQLAlchemyError as error:
            log.error("tickets not readable for %s: %r", mask_sender(sender_id), error)
            return None

    async def in_conversation(self, sender_id: str) -> bool:
        """The sender talks with a person now (an open ticket): a photo is not the bot's."""
        try:
            ticket = await asyncio.to_thread(
                open_ticket_of, self.units(), self.cipher, self.hash_key, sender_id
            )
        except SQLAlchemyError as error:
            log.error("tickets not readable for %s: %r", mask_sender(sender_id), error)
            return False
        return ticket is not None

    async def _intercept(self, sender_id: str, text: str) -> list[BotReply] | None:
        reply = read_agent_reply(text)
        if reply is not None:
            agent = await asyncio.to_thread(
                agent_for_sender, self.units(), self.hash_key, sender_id
            )
            if agent is not None and reply.action is TicketAction.TAKE:
                return await self._take(agent, reply.ticket_number)
            if agent is not None and reply.action is TicketAction.PASS:
                return await self._pass(agent, reply.ticket_number)
            if agent is not None:
                return await self._agent_answers(agent, reply.ticket_number, reply.text)
        ticket = await asyncio.to_thread(
            open_ticket_of, self.units(), self.cipher, self.hash_key, sender_id
        )
        if ticket is None:
            return None
        label = ticket_label(ticket.number)
        now = self.clock.now()
        if wants_the_bot_back(text):
            closed = await asyncio.to_thread(
                close_ticket, self.units(), self.cipher, ticket.number,
                ClosedBecause.RESIDENT_DONE, now,
            )  # fmt: skip
            if closed is not None and closed.agent_address:
                await self._send(
                    closed.agent_address,
                    messages.HANDOFF_CLOSED_FOR_AGENT["resident_done"].format(ticket=label),
                )
            return [BotReply(text=messages.HANDOFF_BACK_TO_BOT)]
        await asyncio.to_thread(
            record_resident_message, self.units(), self.cipher, ticket.number, text, now
        )
        if ticket.agent_address:
            await self._send(
                ticket.agent_address,
                messages.HANDOFF_TO_AGENT.format(ticket=label, text=masked_text(text)),
            )
        return []  # the agent answers; the bot stays quiet meanwhile

    async def _agent_answers(self, agent: AgentRef, number: int, text: str) -> list[BotReply]:
        label = ticket_label(number)
        outcome = await asyncio.to_thread(
            answer, self.units(), self.cipher, agent, number, text, self.clock.now()
        )
        if outcome.refused is not None:
            return [BotReply(text=messages.HANDOFF_REFUSED[outcome.refused].format(ticket=label))]
        assert outcome.delivered_to is not None
        if not outcome.queued_for_web:
            first_name = agent.name.split()[0]
            delivered = await self._send(
                outcome.delivered_to,
                messages.HANDOFF_FROM_AGENT.format(agent=first_name, text=text),
            )
            if not delivered:
                log.warning(
                    "answer to %s not delivered to %s", label, mask_sender(outcome.delivered_to)
                )
        log.info("agent %d answered %s", agent.id, label)
        return [BotReply(text=messages.HANDOFF_SENT.format(ticket=label))]

    async def _take(self, agent: AgentRef, number: int) -> list[BotReply]:
        label = ticket_label(number)
        taken = await asyncio.to_thread(
            take_ticket, self.units(), self.cipher, agent, number, self.clock.now()
        )
        if taken.refused is not None:
            return [BotReply(text=messages.HANDOFF_REFUSED[taken.refused].format(ticket=label))]
        if taken.agent_address:
            await self._send(
                taken.agent_address,
                messages.HANDOFF_TAKEN_FROM_YOU.format(ticket=label, agent=agent.name),
            )
        if taken.resident_address:
            await self.announce_agent(number, taken.resident_address, agent.name.split()[0])
        return [BotReply(text=handed_to_you(label, taken.brief))]

    async def _pass(self, agent: AgentRef, number: int) -> list[BotReply]:
        label = ticket_label(number)
        passed = await asyncio.to_thread(
            pass_ticket, self.units(), self.cipher, agent, number, self.clock.now()
        )
        if passed.refused is not None:
            return [BotReply(text=messages.HANDOFF_REFUSED[passed.refused].format(ticket=label))]
        if passed.agent_address:
            await self._send(passed.agent_address, handed_to_you(label, passed.brief))
        if passed.resident_address:
            await self.announce_agent(number, passed.resident_address, passed.agent_first_name)
        to = passed.agent_first_name or messages.HANDOFF_ADMINS
        return [BotReply(text=messages.HANDOFF_PASSED.format(ticket=label, to=to))]

    async def reassign(self, number: int, agent_id: int) -> bool:
        """An administrator gives the ticket to an agent: the agent and the resident are
        told. False when the ticket is closed or unknown, or the agent not active."""
        moved = await asyncio.to_thread(
            reassign, self.units(), self.cipher, number, agent_id, self.clock.now()
        )
        if moved is None:
            return False
        label = ticket_label(number)
        await self._send(moved.agent_address, handed_to_you(label, moved.brief))
        if moved.previous_agent_address:
            await self._send(
                moved.previous_agent_address,
                messages.HANDOFF_MOVED_AWAY.format(ticket=label, agent=moved.agent_first_name),
            )
        await self.announce_agent(number, moved.resident_address, moved.agent_first_name)
        return True

    async def announce_agent(
        self, number: int, resident_address: str, agent_first_name: str | None
    ) -> None:
        """The resident hears who answers them now (None: the administrators), on their
        own channel (the web page picks it up)."""
        text = (
            messages.HANDOFF_NOW_ANSWERING.format(agent=agent_first_name)
            if agent_first_name
            else messages.HANDOFF_NOW_ADMINS
        )
        if channel_of(resident_address) is Channel.WEB:
            await asyncio.to_thread(
                queue_for_web, self.units(), self.cipher, number, text, self.clock.now()
            )
        else:
            await self._send(resident_address, text)

    async def close_overdue(self, office_hours: str) -> int:
        """Tickets nobody answered in time get an apology with the office hours; quiet ones
        a short note; the agent hears either way. The resident has the bot back."""
        closed = await asyncio.to_thread(
            close_overdue, self.units(), self.cipher, self.policy, self.clock.now()
        )
        minutes = int(self.policy.answer_within.total_seconds() // 60)
        for ticket in closed:
            label = ticket_label(ticket.number)
            to_resident = (
                messages.HANDOFF_NO_ANSWER.format(office_hours=office_hours)
                if ticket.because is ClosedBecause.NO_ANSWER
                else messages.HANDOFF_INACTIVE
            )
            if channel_of(ticket.resident_address) is Channel.WEB:
                await asyncio.to_thread(
                    queue_for_web, self.units(), self.cipher, ticket.number, to_resident,
                    self.clock.now(),
                )  # fmt: skip
            else:
                await self._send(ticket.resident_address, to_resident)
            if ticket.agent_address:
                await self._send(
                    ticket.agent_address,
                    messages.HANDOFF_CLOSED_FOR_AGENT[ticket.because.value].format(
                        ticket=label, minutes=minutes
                    ),
                )
        return len(closed)

    async def _send(self, recipient: str, text: str) -> bool:
        if not self.courier.has_channel(channel_of(recipient)):
            log.info("no channel to reach %s on", mask_sender(recipient))
            return False
        delivery = await self.courier.send(recipient, BotReply(text=text), purpose="handoff")
        return delivery.ok
