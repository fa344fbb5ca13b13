"""One-time consent codes: their shape, how they are found in a reply, and how a try is
judged (expiry and the attempt limit always win over a correct code)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.consent import (
    CodePolicy,
    CodeVerdict,
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    find_code,
    judge_code,
    new_code,
)
from bot.domain.senders import Channel

POLICY = CodePolicy(digits=6, valid_for=timedelta(minutes=30), max_attempts=3)
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=30)


def test_codes_are_six_digits_and_vary() -> None:
    codes = {new_code(POLICY) for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 190  # 200 draws from a million values rarely repeat


@pytest.mark.parametrize(
    ("text", "code"),
    [("482913", "482913"), ("SETUJU 482913", "482913"), ("kode 482 913 ya", "482913"),
     ("482-913", "482913"), ("setuju, kodenya: 004211.", "004211")],
)  # fmt: skip
def test_the_code_is_found_in_everyday_replies(text: str, code: str) -> None:
    assert find_code(text, POLICY) == code


@pytest.mark.parametrize(
    "text",
    ["setuju", "3571021708800001", "12345", "1234567", "081234567890", "111111 dan 222222"],
)
def test_no_code_in_replies_without_exactly_one_six_digit_number(text: str) -> None:
    assert find_code(text, POLICY) is None


def test_a_correct_code_in_time_is_accepted() -> None:
    assert judge_code(True, 0, LATER, NOW, POLICY) is CodeVerdict.ACCEPTED
    assert judge_code(True, 2, LATER, NOW, POLICY) is CodeVerdict.ACCEPTED


def test_a_wrong_code_counts_and_the_last_wrong_try_locks() -> None:
    assert judge_code(False, 0, LATER, NOW, POLICY) is CodeVerdict.WRONG
    assert judge_code(False, 1, LATER, NOW, POLICY) is CodeVerdict.WRONG
    assert judge_code(False, 2, LATER, NOW, POLICY) is CodeVerdict.LOCKED


def test_expiry_and_the_limit_win_over_a_correct_code() -> None:
    assert judge_code(True, 0, LATER, LATER, POLICY) is CodeVerdict.EXPIRED
    assert judge_code(True, 3, LATER, NOW, POLICY) is CodeVerdict.LOCKED


def test_consent_on_someone_s_behalf_names_the_agent() -> None:
    with pytest.raises(ValueError, match="needs the agent"):
        ConsentDecision(
            channel=Channel.WHATSAPP, purpose=ConsentPurpose.REGISTRATION, granted=True,
            wording="Dibacakan …", method=ConsentMethod.AGENT_READ_ALOUD,
        )  # fmt: skip
    decision = ConsentDecision(
        channel=Channel.WHATSAPP, purpose=ConsentPurpose.REGISTRATION, granted=True,
        wording="Dibacakan …", method=ConsentMethod.AGENT_READ_ALOUD, agent_id=7,
    )  # fmt: skip
    assert decision.agent_id == 7
