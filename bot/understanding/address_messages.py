"""What a message says about a participant's addresses: which channel "stop pengingat"
is meant for ("stop pengingat di telegram saja", "… di sini aja"), the new number of
"ganti nomor 0813…", and the resident an agent means (a Sadar reference). Pure, like the
interpreter of form answers (bot/understanding/interpreter.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.senders import Channel
from nlu.parsing.common import fold
from nlu.parsing.identifiers import REFERENCE, find_phones

#: Words residents use for each channel (typos and short forms included).
_CHANNEL_WORDS: dict[Channel, tuple[str, ...]] = {
    Channel.WHATSAPP: ("whatsapp", "whatsap", "watsap", "watsapp", "wasap", "wa", "w.a"),
    Channel.TELEGRAM: ("telegram", "telegrem", "tele", "tg"),
    Channel.WEB: ("web", "website", "situs"),
}
_HERE = re.compile(
    r"\b(?:di ?sini|disini|dsini|chat ini|nomor ini|no ini|akun ini)\s*"
    r"(?:saja|aja|ja|doang|thok|tok)?\b"
)


def channel_named(text: str) -> Channel | None:
    """The one channel a message names (None for none, or for two: "wa dan telegram")."""
    folded = f" {fold(text)} "
    named = {
        channel
        for channel, words in _CHANNEL_WORDS.items()
        if any(re.search(rf"(?<![\w.]){re.escape(w)}(?![\w.])", folded) for w in words)
    }
    return named.pop() if len(named) == 1 else None


def reminder_scope(text: str, here: Channel) -> Channel | None:
    """Which channel a stop/resume request is limited to; None means every address of the
    participant. A named channel limits it ("stop pengingat wa"); so does "di sini saja"
    (this chat's channel). Anything else is about the person, not one address."""
    named = channel_named(text)
    if named is not None:
        return named
    return here if _HERE.search(fold(text)) else None


#: "BUKAN SAYA" (and its short forms) as the whole message: the answer a number change
#: notice asks for when the change was not the resident's doing.
_NOT_ME = re.compile(
    r"^(?:ini\s+)?(?:bukan|bkn|bukn)\s+(?:saya|sy|sya|aku|aq)(?:\s+yang\s+minta)?$"
)


def says_not_me(text: str) -> bool:
    """ "BUKAN SAYA" (a reply to a number change notice), nothing else in the message."""
    words = re.sub(r"[^\w\s]", " ", fold(text or "")).split()
    return bool(_NOT_ME.match(" ".join(words)))


@dataclass(frozen=True)
class NumberChange:
    #: The new number in E.164, when the message has exactly one.
    phone: str | None
    #: The resident's Sadar reference (an agent acting for them), when given.
    reference: str | None


def read_number_change(text: str) -> NumberChange:
    """ "ganti nomor 0813-…" / an agent's "ganti nomor SDR-XXXX-XXXX 0813…"."""
    phones = {str(found.value) for found in find_phones(text or "")}
    references = REFERENCE.findall((text or "").upper())
    return NumberChange(
        phone=phones.pop() if len(phones) == 1 else None,
        reference=references[0] if len(references) == 1 else None,
    )
