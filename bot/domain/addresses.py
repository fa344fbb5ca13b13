"""One participant, several chat addresses (web chat, Telegram, WhatsApp), each proven to
be theirs; which of them a reminder goes to, and in what order it falls back. Pure: the
services load the addresses and apply the answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from bot.domain.senders import Channel


class Proof(StrEnum):
    """How an address (or a phone number) was shown to belong to the participant."""

    #: The conversation the resident registered in (on WhatsApp: their own number).
    REGISTERED_HERE = "registered_here"
    #: Their WhatsApp number, given to a Perisai agent who registered them (with a code sent
    #: there, or the consent read aloud and attested by the agent).
    AGENT_WALK_IN = "agent_walk_in"
    #: The village's own records, imported by an administrator (officials).
    VILLAGE_RECORDS = "village_records"
    #: A one-time code sent to the number came back.
    ONE_TIME_CODE = "one_time_code"
    #: The resident shared their own Telegram contact: Telegram verified the number.
    TELEGRAM_CONTACT = "telegram_contact"
    #: A number change: the code sent to the new number was read out to the village agent.
    AGENT_CONFIRMED = "agent_confirmed"


class LinkPurpose(StrEnum):
    #: One more address (the web chat's WhatsApp, Telegram's WhatsApp too).
    ADD = "add"
    #: A new number: the old WhatsApp address stops receiving anything.
    REPLACE = "replace"


T = TypeVar("T")

#: The message metadata key under which the Telegram adapter passes the number of a contact
#: the sender shared of themselves (never set from typed text).
SHARED_CONTACT_METADATA = "shared_contact"

#: Channels Sadar can start a conversation on. The web chat only answers while it is open.
REMINDER_CHANNELS = (Channel.WHATSAPP, Channel.TELEGRAM)


@dataclass(frozen=True)
class AddressState:
    """What deciding on a route needs to know of one linked address."""

    channel: Channel
    preferred: bool
    verified_at: datetime
    #: The person asked to stop reminders on this address only ("STOP" on WhatsApp).
    stopped: bool = False
    #: Why the last send here failed for good, until they write from it again.
    undeliverable: str | None = None

    @property
    def reachable(self) -> bool:
        return self.channel in REMINDER_CHANNELS and not self.stopped and not self.undeliverable


def reminder_route(addresses: Iterable[T], state_of: Callable[[T], AddressState]) -> list[T]:
    """The addresses a reminder tries, in order: the preferred one, then WhatsApp before
    Telegram (where villagers live), then the most recently verified. Empty when nothing
    can be reached. ``state_of`` reads each item's state (items may carry more)."""
    order = {channel: rank for rank, channel in enumerate(REMINDER_CHANNELS)}

    def rank(item: T) -> tuple[bool, int, float]:
        state = state_of(item)
        return (not state.preferred, order[state.channel], -state.verified_at.timestamp())

    return sorted((item for item in addresses if state_of(item).reachable), key=rank)


class Unreachable(StrEnum):
    """Why no reminder can reach a participant (what operators and agents are shown)."""

    WEB_ONLY = "web_only"
    STOPPED = "stopped"
    UNDELIVERABLE = "undeliverable"


def why_unreachable(addresses: Iterable[AddressState]) -> Unreachable | None:
    """None when a reminder has somewhere to go."""
    found = list(addresses)
    if any(a.reachable for a in found):
        return None
    reminder_capable = [a for a in found if a.channel in REMINDER_CHANNELS]
    if not reminder_capable:
        return Unreachable.WEB_ONLY
    if all(a.stopped for a in reminder_capable):
        return Unreachable.STOPPED
    return Unreachable.UNDELIVERABLE


def becomes_preferred(existing: Iterable[AddressState], new_channel: Channel) -> bool:
    """A newly linked address takes the lead when no address reminders can use leads."""
    return new_channel in REMINDER_CHANNELS and not any(
        a.preferred and a.reachable for a in existing
    )
