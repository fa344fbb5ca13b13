"""The partner API driven from the database (issue 29, SADAR_REGISTRY=api), on PostgreSQL
against the registry stand-in on a real socket: pending registrations are claimed,
submitted and answered; transient failures back off until an operator must look; a reply
lost after the registry accepted never makes a second membership; a dead worker's claim
expires; a registration erased while its call is in flight is owed a withdrawal."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app_context import AppContext
from bot.db.migrate import upgrade
from bot.db.models import Participant, Submission
from bot.domain.submissions import Accepted, registry_rules
from bot.gateway.app import create_app
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.services.erasure import delete_for_sender
from bot.services.registry.api_client import PartnerApiClient, RegistryConfigError
from bot.services.registry.driver import (
    claim_pending,
    hand_over_pending,
    poll_promised,
    record_reply,
    withdraw_owed,
)
from bot.services.registry.port import RegistrationRecord, RegistryClient, RegistryReply
from bot.services.registry.signing import sign
from bot.services.registry.submissions import claim_acceptance_notices
from tests.conftest import TEST_PII_KEY
from tests.support.clock import WIB, clock_environment, fixed_clock
from tests.support.participants import make_participant
from tests.support.registry_standin import (
    REGISTRY_CONSUMER_ID,
    REGISTRY_SECRET,
    SADAR_CONSUMER_ID,
    SADAR_SECRET,
    Mode,
    RegistryStandIn,
)

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=WIB)


class Clock:
    """The driver's clock, moved by the test."""

    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def context(pg_url: str) -> Iterator[AppContext]:
    settings = Settings(_env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    yield context
    context.engine.dispose()


@pytest.fixture
async def client(standin: RegistryStandIn) -> AsyncIterator[PartnerApiClient]:
    api = PartnerApiClient(standin.url, SADAR_CONSUMER_ID, SADAR_SECRET, timeout_seconds=2)
    try:
        yield api
    finally:
        await api.aclose()


def register(context: AppContext) -> tuple[int, str, str]:
    """A pending registration: (participant id, reference, sender)."""
    sender = f"wa:+62812{uuid.uuid4().int % 10**8:08d}"
    participant_id = make_participant(context, sender, accepted=False)
    with context.sessions() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        return participant_id, participant.reference, sender


def submission(context: AppContext, reference: str) -> Submission:
    with context.sessions() as session:
        found = session.scalar(select(Submission).where(Submission.reference == reference))
        assert found is not None
        session.expunge(found)
        return found


async def drive(context: AppContext, client: PartnerApiClient, clock: Clock) -> dict[str, int]:
    report = await hand_over_pending(
        context.unit_of_work, context.cipher, client, clock, draw=lambda: 0.5
    )
    return dict(report.outcomes)


async def test_pending_registrations_come_back_with_their_kpj_numbers(
    context: AppContext, standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    registered = [register(context) for _ in range(3)]
    refused_id, refused_ref, _ = registered[2]
    with context.sessions() as session:
        refused = session.get(Participant, refused_id)
        assert refused is not None
        standin.rejected_niks[context.cipher.decrypt(refused.nik_encrypted)] = "nik_not_found"
    clock = Clock()

    assert await drive(context, client, clock) == {"accepted": 2, "rejected": 1}
    for _, reference, _ in registered[:2]:
        accepted = submission(context, reference)
        assert accepted.state == "accepted" and accepted.kpj_encrypted is not None
        assert context.cipher.decrypt(accepted.kpj_encrypted) == standin.memberships[reference]
    assert submission(context, refused_ref).reason_code == "nik_not_found"
    calls = standin.submit_calls
    assert await drive(context, client, clock) == {}  # nothing pending: nothing sent
    assert standin.submit_calls == calls


class HoldingFirstCall:
    """The real client, except that its first submit waits until every other registration
    was answered: the hand-over must go on around a call that hangs."""

    def __init__(self, client: PartnerApiClient, others: int) -> None:
        self.client = client
        self.others = others
        self.answered = 0
        self.released = asyncio.Event()
        self.held: str | None = None

    async def submit(self, record: RegistrationRecord) -> RegistryReply:
        if self.held is None:
            self.held = record.reference
            await self.released.wait()
            return await self.client.submit(record)
        reply = await self.client.submit(record)
        self.answered += 1
        if self.answered == self.others:
            self.released.set()
        return reply

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


async def test_a_hanging_call_holds_up_nothing_but_itself(
    context: AppContext, standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    """Pages are claimed ahead: the other pages go while the first page's first call hangs
    (a pass that waited for each page's slowest call would never end here)."""
    registered = [register(context) for _ in range(12)]
    holding = HoldingFirstCall(client, others=len(registered) - 1)
    replies: list[int] = []

    passing = hand_over_pending(
        context.unit_of_work, context.cipher, cast(RegistryClient, holding), Clock(),
        page=5, concurrency=2, draw=lambda: 0.5, progress=replies.append,
    )  # fmt: skip
    report = await asyncio.wait_for(passing, timeout=60)

    assert dict(report.outcomes) == {"accepted": 12}
    assert holding.held == registered[0][1]  # the oldest went first and was answered last
    assert set(standin.memberships) == {reference for _, reference, _ in registered}
    assert sum(replies) == 12  # progress: one per reply


async def test_transient_failures_back_off_until_an_operator_must_look(
    context: AppContext, standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    _, reference, _ = register(context)
    clock = Clock()
    standin.arm(Mode.RATE_LIMITED, times=1, retry_after=600)
    assert await drive(context, client, clock) == {"retry": 1}
    waiting = submission(context, reference)
    assert waiting.state == "pending" and waiting.attempts == 1
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at >= NOW + timedelta(seconds=600)  # as long as it was told
    assert await drive(context, client, clock) == {}  # not before its time

    standin.arm(Mode.ERROR_5XX)
    limit = registry_rules().attempts_before_attention
    for _ in range(limit - 2):
        clock.at += timedelta(hours=2)  # past the cap
        assert await drive(context, client, clock) == {"retry": 1}
    clock.at += timedelta(hours=2)
    assert await drive(context, client, clock) == {"needs_attention": 1}
    stuck = submission(context, reference)
    assert (stuck.state, stuck.attempts, stuck.next_attempt_at) == ("needs_attention", limit, None)
    clock.at += timedelta(days=1)
    assert await drive(context, client, clock) == {}  # an operator's, not the worker's


async def test_a_reply_lost_after_acceptance_makes_no_second_membership(
    context: AppContext, standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    _, reference, _ = register(context)
    clock = Clock()
    standin.arm(Mode.DROP_AFTER_ACCEPT, times=1)
    assert await drive(context, client, clock) == {"retry": 1}
    assert reference in standin.memberships  # the registry has it; Sadar does not know
    clock.at += timedelta(minutes=5)
    assert await drive(context, client, clock) == {"accepted": 1}
    assert len(standin.memberships) == 1
    kpj = submission(context, reference).kpj_encrypted
    assert kpj is not None and context.cipher.decrypt(kpj) == standin.memberships[reference]


async def poll(context: AppContext, client: PartnerApiClient, clock: Clock) -> dict[str, int]:
    report = await poll_promised(context.unit_of_work, context.cipher, client, clock)
    return dict(report.outcomes)


async def test_a_promised_answer_is_asked_for_when_no_callback_comes(
    context: AppContext, standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    _, reference, _ = register(context)
    clock = Clock()
    standin.arm(Mode.PENDING_FIRST, times=1)
    assert await drive(context, client, clock) == {"waiting": 1}
    assert await poll(context, client, clock) == {}  # not yet: the registry is deciding
    clock.at += timedelta(minutes=15)
    standin.arm(Mode.UNDECIDED, times=1)
    assert await poll(context, client, clock) == {"still_waiting": 1}
    assert await poll(context, client, clock) == {}  # asked again later, not in a loop
    waiting = submission(context, reference)
    assert waiting.state == "submitted" and waiting.next_attempt_at is not None
    assert waiting.next_attempt_at > clock.at
    clock.at = waiting.next_attempt_at
    assert await poll(context, client, clock) == {"accepted": 1}
    accepted = submission(context, reference)
    assert accepted.kpj_encrypted is not None and accepted.next_attempt_at is None
    assert context.cipher.decrypt(accepted.kpj_encrypted) == standin.memberships[reference]
    clock.at += timedelta(days=1)
    assert await poll(context, client, clock) == {}  # decided: never asked again
    assert standin.calls["status"] == 2
    (notice,) = claim_acceptance_notices(context.unit_of_work(), context.cipher, clock.at)
    assert notice.reference == reference


async def test_a_promise_the_registry_lost_is_submitted_again_once(
    context: AppContext, standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    _, reference, _ = register(context)
    clock = Clock()
    standin.arm(Mode.PENDING_FIRST, times=1)
    assert await drive(context, client, clock) == {"waiting": 1}
    standin.lose(reference)
    clock.at += timedelta(hours=1)
    assert await poll(context, client, clock) == {"resubmit": 1}
    again = submission(context, reference)
    assert (again.state, again.request_id) == ("pending", None)
    assert await drive(context, client, clock) == {"accepted": 1}
    assert list(standin.memberships) == [reference]


async def test_a_dead_workers_claim_expires(
    context: AppContext, standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    _, reference, _ = register(context)
    # A worker claims it and dies before the call.
    claimed = claim_pending(context.unit_of_work(), context.cipher, NOW, 10, timedelta(minutes=10))
    assert [r.reference for r in claimed] == [reference]
    clock = Clock()
    clock.at = NOW + timedelta(minutes=1)
    assert await drive(context, client, clock) == {}  # still claimed
    assert standin.submit_calls == 0
    clock.at = NOW + timedelta(minutes=11)
    assert await drive(context, client, clock) == {"accepted": 1}


async def test_erased_while_in_flight_is_owed_a_withdrawal(context: AppContext) -> None:
    _, reference, sender = register(context)
    (record,) = claim_pending(
        context.unit_of_work(), context.cipher, NOW, 10, timedelta(minutes=10)
    )
    erased = delete_for_sender(
        context.unit_of_work(), context.cipher, context.hash_key, sender, NOW
    )
    assert erased is not None and erased.handover == "withdrawal"
    uow = context.unit_of_work()
    with uow:
        outcome = record_reply(
            uow.session, context.cipher, record.reference, NOW, Accepted("26012345678"), NOW, 0.5
        )
        uow.commit()
    assert outcome == "erased"
    after = submission(context, reference)
    assert (after.state, after.withdrawal, after.kpj_encrypted) == ("accepted", "due", None)


async def test_a_registration_erased_after_acceptance_is_withdrawn_at_the_registry(
    context: AppContext, standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    _, reference, sender = register(context)
    clock = Clock()
    assert await drive(context, client, clock) == {"accepted": 1}
    erased = delete_for_sender(
        context.unit_of_work(), context.cipher, context.hash_key, sender, NOW
    )
    assert erased is not None and erased.handover == "withdrawal"
    standin.arm(Mode.ERROR_5XX, times=1)
    assert await withdraw_owed(context.unit_of_work, client, clock) == 0  # next pass retries
    assert await withdraw_owed(context.unit_of_work, client, clock) == 1
    assert standin.withdrawn == [reference]
    with context.sessions() as session:
        assert session.scalar(select(Submission).where(Submission.reference == reference)) is None
    assert await withdraw_owed(context.unit_of_work, client, clock) == 0


async def test_a_refused_credential_stops_the_pass_and_keeps_nothing_claimed(
    context: AppContext, standin: RegistryStandIn
) -> None:
    _, reference, _ = register(context)
    wrong = PartnerApiClient(standin.url, SADAR_CONSUMER_ID, "not-the-secret", timeout_seconds=2)
    try:
        with pytest.raises(RegistryConfigError):
            await hand_over_pending(context.unit_of_work, context.cipher, wrong, Clock())
    finally:
        await wrong.aclose()
    released = submission(context, reference)
    assert (released.state, released.claimed_at) == ("pending", None)


def test_sadar_submissions_send_hands_over_through_the_configured_api(
    tmp_path: Path, standin: RegistryStandIn
) -> None:
    """The operator's command, as configured by environment variables (SQLite, no channel
    configured: the KPJ message cannot be delivered and says so)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SADAR_")} | {
        "SADAR_ENV": "test",
        "SADAR_DATA_DIR": str(tmp_path),
        "SADAR_PII_HASH_KEY": TEST_PII_KEY,
        **clock_environment(NOW),
    }
    settings = Settings(_env_file=None, data_dir=tmp_path, pii_hash_key=TEST_PII_KEY)
    upgrade(settings.database_url)
    local = AppContext.from_settings(settings, fixed_clock(NOW))
    try:
        _, reference, _ = register(local)
    finally:
        local.engine.dispose()

    def sadar(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "submissions", *args],
            env=environ | extra, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip

    batch = sadar("send")
    assert batch.returncode == 2 and "sadar submissions export" in batch.stderr
    incomplete = sadar("send", SADAR_REGISTRY="api")
    assert incomplete.returncode != 0 and "SADAR_REGISTRY_URL" in incomplete.stderr
    api = {
        "SADAR_REGISTRY": "api",
        "SADAR_REGISTRY_URL": standin.url,
        "SADAR_REGISTRY_CONSUMER_ID": SADAR_CONSUMER_ID,
        "SADAR_REGISTRY_SECRET": SADAR_SECRET,
    }
    sent = sadar("send", **api)
    assert sent.returncode == 0, sent.stderr[-2000:]
    assert "accepted 1" in sent.stdout and "not delivered: 1" in sent.stdout
    assert reference in standin.memberships
    again = sadar("send", **api)
    assert again.returncode == 0 and "nothing pending" in again.stdout

    register_more = AppContext.from_settings(settings, fixed_clock(NOW))
    try:
        register(register_more)
    finally:
        register_more.engine.dispose()
    refused = sadar("send", **(api | {"SADAR_REGISTRY_SECRET": "wrong"}))
    assert refused.returncode == 1 and "SADAR_REGISTRY_SECRET" in refused.stderr
    fixed = sadar("send", **api)  # its claim was released: no lease to wait out
    assert fixed.returncode == 0 and "accepted 1" in fixed.stdout


async def test_a_signed_callback_brings_the_answer_and_a_replay_or_forgery_is_refused(
    pg_url: str, standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    settings = Settings(
        _env_file=None,
        database_url=pg_url,
        pii_hash_key=TEST_PII_KEY,
        registry_callback_consumer_id=REGISTRY_CONSUMER_ID,
        registry_callback_secret=REGISTRY_SECRET,
    )
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    try:
        _, reference, _ = register(context)
        standin.arm(Mode.PENDING_FIRST, times=1)
        assert await drive(context, client, Clock()) == {"waiting": 1}
        assert submission(context, reference).state == "submitted"
        payload = standin.settle(reference)  # a branch officer accepts it later
        with TestClient(create_app(settings, clock=context.clock)) as gateway:
            body, headers = standin.signed_callback(payload)
            first = gateway.post("/webhooks/registry", content=body, headers=headers)
            assert first.status_code == 200 and first.json()["recorded"] == "accepted"
            replay = gateway.post("/webhooks/registry", content=body, headers=headers)
            assert replay.status_code == 409 and replay.json()["error"] == "replayed"
            forged = sign(REGISTRY_CONSUMER_ID, "not-the-key", body, int(time.time()))
            assert (
                gateway.post("/webhooks/registry", content=body, headers=forged).status_code == 401
            )
            stale = sign(REGISTRY_CONSUMER_ID, REGISTRY_SECRET, body, int(time.time()) - 3600)
            answer = gateway.post("/webhooks/registry", content=body, headers=stale)
            assert (answer.status_code, answer.json()["error"]) == (401, "outside_window")
            unknown = json.dumps({**payload, "reference": "SDR-ZZZZ-ZZZZ"}).encode()
            headers = sign(REGISTRY_CONSUMER_ID, REGISTRY_SECRET, unknown, int(time.time()))
            assert (
                gateway.post("/webhooks/registry", content=unknown, headers=headers).status_code
                == 404
            )
        accepted = submission(context, reference)
        assert accepted.kpj_encrypted is not None
        assert context.cipher.decrypt(accepted.kpj_encrypted) == standin.memberships[reference]
        (notice,) = claim_acceptance_notices(context.unit_of_work(), context.cipher, NOW)
        assert notice.reference == reference  # told once, in the worker's next pass
    finally:
        context.engine.dispose()
