"""What Sadar hands over for one registration and what the registry can answer, the same
for the branch batch file and the partner API: the rest of Sadar never knows which one is
configured (SADAR_REGISTRY=batch|api)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from bot.domain.submissions import Accepted, Rejected


@dataclass(frozen=True)
class RegistrationRecord:
    """One confirmed registration as the registry needs it. Built from the decrypted
    participant only at the moment of hand-over; never logged (``__repr__`` masks it)."""

    #: Sadar's reference: the idempotency key everywhere (one membership per reference).
    reference: str
    nik: str
    full_name: str
    #: "L" or "P", from the NIK.
    sex: str
    birth_date: date
    village: str
    village_code: str | None
    district: str
    regency: str
    occupation: str
    declared_income: int
    #: ("JKK", "JKM") or ("JKK", "JKM", "JHT").
    programmes: tuple[str, ...]
    #: E.164, "+62...".
    phone: str
    consent_date: date

    def __repr__(self) -> str:
        return f"RegistrationRecord(reference={self.reference!r}, ...)"


@dataclass(frozen=True)
class Waiting:
    """The registry took it and will answer later (poll or signed callback)."""

    request_id: str


@dataclass(frozen=True)
class Transient:
    """Not taken this time (timeout, 5xx, 429, connection dropped): try again later."""

    detail: str
    #: Seconds the registry asked to wait (HTTP 429 Retry-After), if it said.
    retry_after: float | None = None
    #: The registry does not hold the reference (HTTP 404): what it promised to decide
    #: must be submitted again (the reference keeps it to one membership).
    resubmit: bool = False


#: What one submit or status call ended with.
RegistryReply = Accepted | Rejected | Waiting | Transient


class RegistryClient(Protocol):
    """A registry that answers over the network (the partner API adapter). Submitting the
    same reference twice must never create two memberships: the reference is sent as the
    idempotency key."""

    async def submit(self, record: RegistrationRecord) -> RegistryReply: ...

    async def status(self, reference: str) -> RegistryReply: ...

    async def withdraw(self, reference: str) -> Literal[True] | Transient:
        """Tell the registry the resident erased their data after the hand-over."""
        ...

    async def aclose(self) -> None: ...
