"""The hand-over lifecycle's rules (bot.domain.submissions): which moves exist, the
registry's reason codes, KPJ shapes from the data file, and the retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from bot import messages
from bot.domain.submissions import (
    InvalidMove,
    RejectionReason,
    SubmissionState,
    after_transient_failure,
    check_move,
    clean_kpj,
    clean_payment_code,
    is_correctable,
    next_poll,
    owes_contributions,
    registry_rules,
    rejection_reason,
    retry_delay,
)

S = SubmissionState


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING, S.SUBMITTED),
        (S.SUBMITTED, S.ACCEPTED),
        (S.SUBMITTED, S.REJECTED),
        (S.SUBMITTED, S.PENDING),
        (S.REJECTED, S.PENDING),
        (S.NEEDS_ATTENTION, S.PENDING),
        (S.PENDING, S.CANCELLED),
    ],
)
def test_the_lifecycle_allows(current: SubmissionState, target: SubmissionState) -> None:
    check_move(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING, S.ACCEPTED),  # an answer for what was never handed over
        (S.ACCEPTED, S.REJECTED),
        (S.ACCEPTED, S.PENDING),
        (S.CANCELLED, S.PENDING),
        (S.REJECTED, S.ACCEPTED),
    ],
)
def test_the_lifecycle_refuses(current: SubmissionState, target: SubmissionState) -> None:
    with pytest.raises(InvalidMove):
        check_move(current, target)


def test_reason_codes_are_read_in_any_spelling_and_unknown_ones_kept_as_other() -> None:
    assert rejection_reason("IDENTITY-MISMATCH") is RejectionReason.IDENTITY_MISMATCH
    assert rejection_reason(" already participant ") is RejectionReason.ALREADY_PARTICIPANT
    assert rejection_reason("kantor tutup") is RejectionReason.OTHER


def test_only_what_the_resident_can_fix_is_correctable() -> None:
    assert is_correctable(RejectionReason.IDENTITY_MISMATCH)
    assert is_correctable(RejectionReason.INCOMPLETE_DATA)
    assert not is_correctable(RejectionReason.ALREADY_PARTICIPANT)
    assert not is_correctable(RejectionReason.OVER_AGE)


def test_kpj_and_payment_code_shapes_come_from_the_data_file() -> None:
    assert clean_kpj("260 1234-5678") == "26012345678"
    assert clean_kpj("12") is None
    assert clean_kpj("KPJ 1234 5678 901 ABC") is None  # too long once cleaned
    assert clean_payment_code("8890 1234 5678") == "889012345678"
    assert clean_payment_code("x") is None


def test_backoff_doubles_with_jitter_and_stops_at_the_cap() -> None:
    rules = registry_rules()
    assert retry_delay(1, 0.999, rules) < rules.first_delay
    assert retry_delay(3, 0.999, rules) <= rules.first_delay * 4
    assert retry_delay(3, 0.999, rules) > rules.first_delay * 3
    assert retry_delay(30, 0.999, rules) <= rules.delay_cap
    assert retry_delay(2, 0.0, rules) == timedelta(seconds=1)  # never a busy loop


def test_repeated_transient_failures_wait_for_an_operator() -> None:
    rules = registry_rules()
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    state, when = after_transient_failure(1, now, 0.5, rules)
    assert state is S.PENDING and when is not None and when > now
    state, when = after_transient_failure(rules.attempts_before_attention, now, 0.5, rules)
    assert state is S.NEEDS_ATTENTION and when is None


def test_a_promised_answer_is_asked_for_less_and_less_often() -> None:
    rules = registry_rules()
    promised = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert next_poll(promised, promised) == promised + rules.first_poll
    polls, at = [], promised + rules.first_poll
    for _ in range(12):
        polls.append(at)
        at = next_poll(promised, at)
    gaps = [later - earlier for earlier, later in pairwise(polls)]
    assert gaps == sorted(gaps) and gaps[0] == rules.first_poll
    assert gaps[1] == 2 * rules.first_poll  # as long again as it has waited
    assert max(gaps) == rules.poll_cap  # and never further apart than the cap


def test_perbaiki_data_may_change_only_what_bpjs_has_not_taken() -> None:
    from bot.domain.submissions import correctable_in_chat

    assert correctable_in_chat(SubmissionState.PENDING, None)
    assert correctable_in_chat(SubmissionState.REJECTED, RejectionReason.IDENTITY_MISMATCH)
    assert correctable_in_chat(SubmissionState.REJECTED, RejectionReason.INCOMPLETE_DATA)
    assert not correctable_in_chat(SubmissionState.REJECTED, RejectionReason.NIK_NOT_FOUND)
    assert not correctable_in_chat(SubmissionState.REJECTED, RejectionReason.ALREADY_PARTICIPANT)
    for state in (
        SubmissionState.SUBMITTED,
        SubmissionState.ACCEPTED,
        SubmissionState.NEEDS_ATTENTION,
    ):
        assert not correctable_in_chat(state, None)


@pytest.mark.parametrize(
    ("state", "reason", "owes"),
    [
        ("accepted", None, True),
        # BPJS knows them from an earlier registration: they pay, reminders go.
        ("rejected", "already_participant", True),
        ("rejected", "identity_mismatch", False),
        ("rejected", None, False),
        ("pending", None, False),
        ("submitted", None, False),
        ("needs_attention", None, False),
        ("cancelled", None, False),
        (None, None, False),
    ],
)
def test_contributions_are_due_only_once_bpjs_knows_the_resident(
    state: str | None, reason: str | None, owes: bool
) -> None:
    assert owes_contributions(state, reason) is owes


def test_every_reason_has_words_for_the_resident_and_for_the_agent() -> None:
    for reason in RejectionReason:
        assert messages.REJECTION_FOR_RESIDENT[reason].strip()
        assert messages.REJECTION_FOR_AGENT[reason].strip()
    assert set(messages.REJECTION_FOR_RESIDENT) == {r.value for r in RejectionReason}
    assert set(messages.REJECTION_FOR_AGENT) == {r.value for r in RejectionReason}
