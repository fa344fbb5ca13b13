"""A registration's hand-over to BPJS Ketenagakerjaan (issue 29): its states, the moves
between them, the registry's answers and the retry schedule. Pure: no database, no clock
(the caller passes times and the random draw), whichever adapter (branch batch file or
partner API) carries it."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path

REGISTRY_FILE = Path(__file__).parent / "data" / "registry.toml"


class SubmissionState(StrEnum):
    #: Confirmed in Sadar, not yet handed over.
    PENDING = "pending"
    #: In a batch file given to the branch, or sent to the partner API; waiting for the answer.
    SUBMITTED = "submitted"
    #: BPJS Ketenagakerjaan knows the resident: the KPJ number came back.
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    #: Transient failures kept coming: an operator looks before it is tried again.
    NEEDS_ATTENTION = "needs_attention"
    #: The resident erased their data before it was handed over: nothing goes.
    CANCELLED = "cancelled"


#: Which state may follow which. ACCEPTED and CANCELLED are final; a rejection goes back to
#: PENDING once the resident fixed their data; SUBMITTED may go back to PENDING when a
#: transient failure means the registry never took it.
_MOVES: dict[SubmissionState, frozenset[SubmissionState]] = {
    SubmissionState.PENDING: frozenset(
        {SubmissionState.SUBMITTED, SubmissionState.CANCELLED, SubmissionState.NEEDS_ATTENTION}
    ),
    SubmissionState.SUBMITTED: frozenset(
        {
            SubmissionState.ACCEPTED,
            SubmissionState.REJECTED,
            SubmissionState.PENDING,
            SubmissionState.NEEDS_ATTENTION,
        }
    ),
    SubmissionState.REJECTED: frozenset({SubmissionState.PENDING, SubmissionState.CANCELLED}),
    SubmissionState.NEEDS_ATTENTION: frozenset(
        {SubmissionState.PENDING, SubmissionState.CANCELLED}
    ),
    SubmissionState.ACCEPTED: frozenset(),
    SubmissionState.CANCELLED: frozenset(),
}


class InvalidMove(ValueError):
    """A move the lifecycle does not allow (an answer for a registration never handed over,
    a second acceptance...): the caller reports it, nothing changes."""


def check_move(current: SubmissionState, target: SubmissionState) -> None:
    if target not in _MOVES[current]:
        raise InvalidMove(f"a submission cannot go from {current.value} to {target.value}")


class RejectionReason(StrEnum):
    NIK_NOT_FOUND = "nik_not_found"
    #: The name or birth date differ from the civil registry (Dukcapil).
    IDENTITY_MISMATCH = "identity_mismatch"
    INCOMPLETE_DATA = "incomplete_data"
    #: Already a BPJS Ketenagakerjaan participant: there is no second membership.
    ALREADY_PARTICIPANT = "already_participant"
    OVER_AGE = "over_age"
    OTHER = "other"


@dataclass(frozen=True)
class RegistryRules:
    kpj_pattern: re.Pattern[str]
    payment_code_pattern: re.Pattern[str]
    correctable: frozenset[RejectionReason]
    #: Put right in the same registration ("perbaiki data"), not by registering again.
    fixed_in_chat: frozenset[RejectionReason]
    #: Refusals that still mean BPJS Ketenagakerjaan knows the resident (already a
    #: participant): contributions are due and reminders go, on the earlier membership.
    member_anyway: frozenset[RejectionReason]
    first_delay: timedelta
    delay_cap: timedelta
    attempts_before_attention: int
    first_poll: timedelta
    poll_cap: timedelta


@cache
def registry_rules(path: Path = REGISTRY_FILE) -> RegistryRules:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    reasons = data["reasons"]
    missing = {reason.value for reason in RejectionReason} - set(reasons)
    if missing:
        raise ValueError(f"{path.name} has no [reasons.*] entry for {sorted(missing)}")
    retry = data["retry"]
    return RegistryRules(
        kpj_pattern=re.compile(data["kpj"]["pattern"]),
        payment_code_pattern=re.compile(data["payment_code"]["pattern"]),
        correctable=frozenset(
            RejectionReason(code) for code, rule in reasons.items() if rule["correctable"]
        ),
        fixed_in_chat=frozenset(
            RejectionReason(code) for code, rule in reasons.items() if rule.get("in_chat")
        ),
        member_anyway=frozenset(
            RejectionReason(code) for code, rule in reasons.items() if rule.get("member")
        ),
        first_delay=timedelta(seconds=int(retry["first_delay_seconds"])),
        delay_cap=timedelta(seconds=int(retry["cap_seconds"])),
        attempts_before_attention=int(retry["attempts_before_attention"]),
        first_poll=timedelta(seconds=int(data["poll"]["first_after_seconds"])),
        poll_cap=timedelta(seconds=int(data["poll"]["cap_seconds"])),
    )


def is_correctable(reason: RejectionReason, rules: RegistryRules | None = None) -> bool:
    """Whether the resident can fix it in chat and have it sent again."""
    return reason in (rules or registry_rules()).correctable


def is_fixed_in_chat(reason: RejectionReason, rules: RegistryRules | None = None) -> bool:
    """Whether "perbaiki data" puts it right in the same registration."""
    return reason in (rules or registry_rules()).fixed_in_chat


def correctable_in_chat(
    state: SubmissionState, reason: RejectionReason | None, rules: RegistryRules | None = None
) -> bool:
    """Whether "perbaiki data" may change the registration: not yet handed over, or
    refused for a reason put right in place."""
    if state is SubmissionState.PENDING:
        return True
    return (
        state is SubmissionState.REJECTED and reason is not None and is_fixed_in_chat(reason, rules)
    )


#: The states in which ``owes_contributions`` may hold (to narrow a query first).
CONTRIBUTING_STATES = (SubmissionState.ACCEPTED.value, SubmissionState.REJECTED.value)


def owes_contributions(
    state: str | None, reason: str | None, rules: RegistryRules | None = None
) -> bool:
    """Whether contributions are due (arrears counted, reminders sent): BPJS Ketenagakerjaan
    knows the resident, by this registration (accepted) or an earlier one (refused as
    already a participant). Before that there is nothing to pay with. Takes the stored
    values (a SubmissionState and a RejectionReason code, or None)."""
    if state == SubmissionState.ACCEPTED:
        return True
    return (
        state == SubmissionState.REJECTED
        and reason is not None
        and reason in (rules or registry_rules()).member_anyway
    )


def rejection_reason(code: str) -> RejectionReason:
    """The reason a registry or an answer file names, in any case; an unknown code is OTHER
    (kept, so the text the branch wrote still reaches the operator)."""
    try:
        return RejectionReason(code.strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        return RejectionReason.OTHER


def _identifier(raw: str) -> str:
    return re.sub(r"[\s.\-]", "", raw or "").upper()


def clean_kpj(raw: str, rules: RegistryRules | None = None) -> str | None:
    """The KPJ number as stored, or None when it does not look like one."""
    value = _identifier(raw)
    return value if (rules or registry_rules()).kpj_pattern.match(value) else None


def clean_payment_code(raw: str, rules: RegistryRules | None = None) -> str | None:
    value = _identifier(raw)
    return value if (rules or registry_rules()).payment_code_pattern.match(value) else None


@dataclass(frozen=True)
class Accepted:
    kpj: str
    payment_code: str | None = None


@dataclass(frozen=True)
class Rejected:
    reason: RejectionReason
    #: What the registry or the branch wrote, for the operator (never shown as-is to the
    #: resident: their explanation comes from the reason).
    detail: str = ""


#: The registry's final word on one registration.
Answer = Accepted | Rejected


def retry_delay(attempt: int, draw: float, rules: RegistryRules | None = None) -> timedelta:
    """How long to wait before try number ``attempt + 1`` after ``attempt`` transient
    failures: exponential with full jitter (``draw`` in [0, 1) from the caller's random
    source), never above the cap, never zero."""
    rules = rules or registry_rules()
    doubled: timedelta = rules.first_delay * (2 ** max(attempt - 1, 0))
    ceiling = min(rules.delay_cap, doubled)
    return max(timedelta(seconds=1), ceiling * draw)


def after_transient_failure(
    attempts: int, now: datetime, draw: float, rules: RegistryRules | None = None
) -> tuple[SubmissionState, datetime | None]:
    """Where a submission goes after its ``attempts``-th transient failure in a row: back to
    PENDING with the time of the next try, or NEEDS_ATTENTION (no next try) at the limit."""
    rules = rules or registry_rules()
    if attempts >= rules.attempts_before_attention:
        return SubmissionState.NEEDS_ATTENTION, None
    return SubmissionState.PENDING, now + retry_delay(attempts, draw, rules)


def next_poll(promised_at: datetime, now: datetime, rules: RegistryRules | None = None) -> datetime:
    """When to ask the registry again about a registration it promised to decide: the first
    ask ``first_poll`` after the promise, then after as long again as it has waited so far
    (the interval doubles), never more than ``poll_cap`` apart."""
    rules = rules or registry_rules()
    waited = max(now - promised_at, timedelta(0))
    return now + min(max(rules.first_poll, waited), rules.poll_cap)
