"""The one-time code service (issue 26): linking, number change and walk-in consent are
purposes of one flow. What a conversation waits for is looked up in one place, one purge
clears every purpose, and the audit trail keeps each purpose's names. (Each purpose's
own behaviour: test_addresses.py and test_on_behalf.py.)"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app_context import AppContext
from bot.db.models import AddressLink, AuditEvent, CodeSend, PendingConsent
from bot.domain.addresses import LinkPurpose
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.services.agents import AgentRef, enrol_agent
from bot.services.on_behalf import CodeResult
from bot.services.one_time_codes import (
    LINKING,
    CodeEvent,
    CodePurpose,
    audit_action,
)
from tests.conftest import TEST_PII_KEY
from tests.integration.test_on_behalf import AGENT_CHAT, NOW, RESIDENT, walk_in
from tests.support.clock import fixed_clock
from tests.support.participants import make_participant

PHONE = "+6281200000000"  # the number make_participant registers


@pytest.fixture
def context(pg_url: str) -> Iterator[AppContext]:
    context = AppContext.from_settings(
        Settings(_env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY),
        fixed_clock(NOW),
    )
    yield context
    context.engine.dispose()


def agent(context: AppContext) -> AgentRef:
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Perisai",
        phone="+6281300000001", telegram_user_id=700100, village="Karanglo", district="Kerek",
        regency="Tuban",
    )  # fmt: skip
    return AgentRef(agent_id, "Siti Perisai", "Karanglo", "Kerek", "Tuban")


def hold_consent(context: AppContext, agent_id: int, nik: str = "3523031708800101") -> str:
    code = context.one_time_codes.new_code()
    context.on_behalf.hold_for_code(agent_id, AGENT_CHAT, walk_in(nik), code, "…", NOW)
    return code


def count(context: AppContext, model: type) -> int:
    with context.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_conversation_is_told_which_purpose_it_waits_for(context: AppContext) -> None:
    codes, book = context.one_time_codes, context.address_book
    web = "web:kiosk-codes-1"
    make_participant(context, web)
    assert codes.awaited_by(web) is None
    assert codes.awaited_by(f"wa:{RESIDENT}") is None

    book.hold(web, None, LinkPurpose.ADD, codes.new_code(), NOW)
    # The conversation that asked, and the number being added, may both answer a link.
    assert codes.awaited_by(web) is CodePurpose.LINK
    assert codes.awaited_by(f"wa:{PHONE}") is CodePurpose.LINK
    book.hold(web, "+6285612340000", LinkPurpose.REPLACE, codes.new_code(), NOW)
    assert codes.awaited_by(web) is CodePurpose.NUMBER_CHANGE
    # A number change is answered only where it was asked.
    assert codes.awaited_by("wa:+6285612340000") is None
    assert {CodePurpose.LINK, CodePurpose.NUMBER_CHANGE} == LINKING

    siti = agent(context)
    hold_consent(context, siti.id)
    assert codes.awaited_by(f"wa:{RESIDENT}") is CodePurpose.WALK_IN_CONSENT
    # Only the resident's own WhatsApp answers a walk-in's code.
    assert codes.awaited_by(f"tg:{RESIDENT[1:]}") is None
    assert codes.awaited_by(AGENT_CHAT) is None


def test_a_waiting_link_is_answered_before_a_walk_in_s_consent(context: AppContext) -> None:
    """One phone waiting for both (the resident adds the number an agent's code also went
    to): the link goes first, as it always did."""
    resident = f"wa:{RESIDENT}"
    siti = agent(context)
    hold_consent(context, siti.id)
    make_participant(context, "web:kiosk-codes-2", nik="3523031708800109")
    context.address_book.hold(
        "web:kiosk-codes-2", RESIDENT, LinkPurpose.ADD, context.one_time_codes.new_code(), NOW
    )
    assert context.one_time_codes.awaited_by(resident) is CodePurpose.LINK


def test_one_purge_clears_every_purpose_and_the_spent_day_of_sends(context: AppContext) -> None:
    codes = context.one_time_codes
    web = "web:kiosk-codes-3"
    make_participant(context, web)
    context.address_book.hold(web, None, LinkPurpose.ADD, codes.new_code(), NOW)
    siti = agent(context)
    hold_consent(context, siti.id)
    assert (count(context, AddressLink), count(context, PendingConsent)) == (1, 1)
    assert count(context, CodeSend) == 1  # the link's send; a held consent took none here

    assert codes.purge_expired(NOW + timedelta(minutes=29)) == 0
    assert codes.purge_expired(NOW + timedelta(minutes=30)) == 2
    assert (count(context, AddressLink), count(context, PendingConsent)) == (0, 0)
    assert count(context, CodeSend) == 1  # sends count for a day
    codes.purge_expired(NOW + timedelta(days=1))
    assert count(context, CodeSend) == 0
    with context.sessions() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    # Each purpose keeps its audit names: a link's expiry is not audited, a consent's is.
    assert actions[-1] == "consent_code_expired" and "link_code_add" in actions


def test_a_reply_when_only_expired_codes_wait_ends_them(context: AppContext) -> None:
    """The rule every purpose shares: once nothing waiting is live, any reply ends what
    expired (and the agent hears it), whatever was typed."""
    siti = agent(context)
    hold_consent(context, siti.id)
    late = NOW + timedelta(minutes=31)
    outcome = context.on_behalf.confirm(f"wa:{RESIDENT}", "kodenya belum masuk", late)
    assert (outcome.result, outcome.agent_sender_id) == (CodeResult.EXPIRED, AGENT_CHAT)
    assert count(context, PendingConsent) == 0
    assert context.one_time_codes.awaited_by(f"wa:{RESIDENT}") is None


def test_each_purpose_keeps_its_audit_names() -> None:
    consent, link, change = (
        CodePurpose.WALK_IN_CONSENT,
        CodePurpose.LINK,
        CodePurpose.NUMBER_CHANGE,
    )
    assert [audit_action(consent, event) for event in CodeEvent] == [
        "consent_code_held",
        "consent_code_accepted",
        "consent_code_expired",
        "consent_code_locked",
        "consent_code_not_sent",
    ]
    # The per-participant cap counts link_code_add/replace; a lock is audited too.
    assert [audit_action(link, event) for event in CodeEvent] == [
        "link_code_add", None, None, "link_code_locked", None,
    ]  # fmt: skip
    assert audit_action(change, CodeEvent.HELD) == "link_code_replace"


#: The code mechanics: judging a typed code, and the per-number daily cap.
MECHANICS = {
    "bot.domain.consent": {"find_code", "judge_code", "matching", "attempts_left"},
    "bot.services.code_quota": {"take_code_slot", "purge_code_sends"},
}


def test_only_the_code_service_judges_codes_and_counts_sends() -> None:
    """One code flow: no other module of the application judges a typed code or counts a
    send against a number's cap (tests may, to set up or check the rules)."""
    users = set()
    for package in ("bot", "actions"):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module in MECHANICS:
                    names = {alias.name for alias in node.names} & MECHANICS[node.module]
                    if names:
                        users.add(path.relative_to(PROJECT_ROOT).as_posix())
    assert users == {"bot/services/one_time_codes.py"}
