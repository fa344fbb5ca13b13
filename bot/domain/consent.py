"""What a consent decision is. Under UU PDP 27/2022 consent is explicit, for a stated
purpose, and provable later: so the exact wording shown is kept with the decision, and so is
how it was given (in chat, by a code sent to the person's own phone, or read aloud by an
agent who attests to it)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from bot.domain.senders import Channel

T = TypeVar("T")


class ConsentPurpose(StrEnum):
    #: Processing the registration data and sending monthly reminders.
    REGISTRATION = "registration"


class ConsentMethod(StrEnum):
    #: The person answered the consent question in their own chat.
    IN_CHAT = "in_chat"
    #: The person replied from their own phone with a one-time code sent there.
    ONE_TIME_CODE = "one_time_code"
    #: A Perisai agent attests they read the consent text aloud and the person agreed.
    AGENT_READ_ALOUD = "agent_read_aloud"
    #: The village collected it on paper; recorded by an administrator's bulk import.
    VILLAGE_PAPER = "village_paper"


@dataclass(frozen=True)
class ConsentDecision:
    channel: Channel
    purpose: ConsentPurpose
    granted: bool
    wording: str
    method: ConsentMethod = ConsentMethod.IN_CHAT
    #: The agent who collected it, for the on-behalf methods.
    agent_id: int | None = None

    def __post_init__(self) -> None:
        if not self.wording.strip():
            raise ValueError("a consent decision must keep the wording the person answered")
        on_behalf = self.method in (ConsentMethod.ONE_TIME_CODE, ConsentMethod.AGENT_READ_ALOUD)
        if on_behalf and self.agent_id is None:
            raise ValueError(f"consent by {self.method.value} needs the agent who collected it")

    @property
    def wording_sha256(self) -> str:
        return hashlib.sha256(self.wording.encode()).hexdigest()


# --- one-time codes: a walk-in's consent, linking a number, a number change --------------


@dataclass(frozen=True)
class CodePolicy:
    """How long a code lives and how many wrong tries it survives (settings)."""

    digits: int = 6
    valid_for: timedelta = timedelta(minutes=30)
    max_attempts: int = 5


class CodeVerdict(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"
    #: Too many wrong tries: the code is dead, whoever asked for it must start again.
    LOCKED = "locked"


def new_code(policy: CodePolicy) -> str:
    """A uniformly random numeric code: easy to type on any phone keypad."""
    return f"{secrets.randbelow(10**policy.digits):0{policy.digits}d}"


def find_code(text: str, policy: CodePolicy) -> str | None:
    """The code in a reply such as "SETUJU 482913" or "482 913"; None without one.

    Spaces and dashes inside the number are forgiven (people copy codes in groups);
    a longer number (a NIK, a phone) is not a code."""
    compact = re.sub(r"(?<=\d)[ \-.](?=\d)", "", text)
    found = re.findall(rf"(?<!\d)\d{{{policy.digits}}}(?!\d)", compact)
    return found[0] if len(found) == 1 else None


def matching(
    items: Iterable[T], typed_hash: Callable[[T], str], stored_hash: Callable[[T], str]
) -> T | None:
    """The waiting item whose stored code hash is the hash of the typed code (each hash is
    bound to its row), compared in constant time."""
    return next((i for i in items if hmac.compare_digest(typed_hash(i), stored_hash(i))), None)


def attempts_left(attempts: Iterable[int], policy: CodePolicy) -> int:
    """Tries left before the first of these codes locks."""
    return min(policy.max_attempts - used for used in attempts)


def judge_code(
    matches: bool, attempts_before: int, expires_at: datetime, now: datetime, policy: CodePolicy
) -> CodeVerdict:
    """One try at a code. Expiry and the attempt limit win over a correct code, so a
    guessed or late code never registers anyone."""
    if now >= expires_at:
        return CodeVerdict.EXPIRED
    if attempts_before >= policy.max_attempts:
        return CodeVerdict.LOCKED
    if matches:
        return CodeVerdict.ACCEPTED
    return CodeVerdict.LOCKED if attempts_before + 1 >= policy.max_attempts else CodeVerdict.WRONG
