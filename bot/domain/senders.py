"""Conversation identities. Every sender id is namespaced by the channel it came from,
so the same number on WhatsApp and Telegram never shares a conversation by accident."""

from __future__ import annotations

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


def channel_of(sender_id: str) -> Channel:
    """The channel a namespaced sender id belongs to; raises for an un-namespaced id."""
    prefix, sep, local_id = sender_id.partition(":")
    if not sep or not local_id:
        raise InvalidSenderId(f"sender id {sender_id!r} lacks a 'channel:' prefix")
    try:
        return Channel(prefix)
    except ValueError as error:
        known = ", ".join(c.value for c in Channel)
        raise InvalidSenderId(f"unknown channel {prefix!r}; expected one of {known}") from error
