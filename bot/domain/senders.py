"""Conversation identities. Every sender id is namespaced by the channel it came from,
so the same number on WhatsApp and Telegram never shares a conversation by accident."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    WEB = "web"
    TELEGRAM = "tg"
    WHATSAPP = "wa"


class InvalidSenderId(ValueError):
    pass


def make_sender_id(channel: Channel, local_id: str) -> str:
    local_id = local_id.strip()
    if not local_id:
        raise InvalidSenderId("a sender id needs a non-empty local part")
    return f"{channel.value}:{local_id}"


@dataclass(frozen=True)
class SenderId:
    """A sender id taken apart once: the channel, and the address on it (a WhatsApp number
    in E.164, a Telegram chat id, a web chat's random id)."""

    channel: Channel
    address: str

    @classmethod
    def parse(cls, sender_id: str) -> SenderId:
        """Raises ``InvalidSenderId`` for an id without a known 'channel:' prefix."""
        prefix, sep, address = sender_id.partition(":")
        if not sep or not address:
            raise InvalidSenderId(f"sender id {sender_id!r} lacks a 'channel:' prefix")
        try:
            channel = Channel(prefix)
        except ValueError as error:
            known = ", ".join(c.value for c in Channel)
            raise InvalidSenderId(f"unknown channel {prefix!r}; expected one of {known}") from error
        return cls(channel, address)

    def __str__(self) -> str:
        return f"{self.channel.value}:{self.address}"


def channel_of(sender_id: str) -> Channel:
    """The channel a namespaced sender id belongs to; raises for an un-namespaced id."""
    return SenderId.parse(sender_id).channel
