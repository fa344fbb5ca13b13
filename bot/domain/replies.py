"""What the bot says, whichever channel carries it: text, buttons, a contact request, or an
approved WhatsApp template. Channels translate these to and from their wire formats; Rasa's
replies become these in bot/conversation.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class MessageTemplate:
    """A pre-approved WhatsApp template (Twilio Content API): its ContentSid and variables."""

    content_sid: str
    variables: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class BotReply:
    """One message from the bot, whichever channel carries it."""

    text: str | None = None
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    #: Title of a "share my phone number" button, where the channel has one (Telegram);
    #: set by a response's `custom: {request_contact: "<title>"}` in domain.yml.
    request_contact: str | None = None
    #: For WhatsApp outside the 24-hour window: send this template instead of the text.
    template: MessageTemplate | None = None
    #: Rasa's word to the gateway about a photo (``custom: {ktp_photo: ...}``: read it now,
    #: or keep the fields read while "Benar?" waits); never shown to anyone.
    photo_step: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.text and not self.buttons and self.template is None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.buttons:
            data["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        return data

    @classmethod
    def from_rasa(cls, message: dict[str, Any]) -> BotReply:
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", b.get("title", ""))))
            for b in message.get("buttons") or []
        )
        custom = message.get("custom") or {}
        if not isinstance(custom, dict):
            custom = {}
        photo_step = custom.get("ktp_photo")
        return cls(
            text=message.get("text"),
            buttons=buttons,
            request_contact=custom.get("request_contact"),
            photo_step=photo_step if isinstance(photo_step, str) else None,
        )


def for_delivery(replies: list[BotReply]) -> list[BotReply]:
    """Drop empty replies and carry a contact request to the last text, where the
    channel can attach its one-tap button."""
    contact_title = next((r.request_contact for r in replies if r.request_contact), None)
    texts = [replace(r, request_contact=None) for r in replies if not r.is_empty]
    if texts and contact_title and not texts[-1].buttons:
        texts[-1] = replace(texts[-1], request_contact=contact_title)
    return texts
