"""What a consent decision is. Under UU PDP 27/2022 consent is explicit, for a stated
purpose, and provable later: so the exact wording shown is kept with the decision."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.senders import Channel


class ConsentPurpose(StrEnum):
    #: Processing the registration data and sending monthly reminders.
    REGISTRATION = "registration"


@dataclass(frozen=True)
class ConsentDecision:
    channel: Channel
    purpose: ConsentPurpose
    granted: bool
    wording: str

    def __post_init__(self) -> None:
        if not self.wording.strip():
            raise ValueError("a consent decision must keep the wording the person answered")

    @property
    def wording_sha256(self) -> str:
        return hashlib.sha256(self.wording.encode()).hexdigest()
