"""The partner API client against the registry stand-in on a real loopback socket (issue
29): each kind of answer becomes the port's reply, each failure a Transient (or, for a
refused credential, an error naming the setting to fix), and however often a registration
is sent again it never makes a second membership."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import date
from email.utils import formatdate

import httpx
import pytest

from bot.domain.submissions import Accepted, Rejected, RejectionReason, clean_kpj
from bot.services.registry.api_client import PartnerApiClient, RegistryConfigError
from bot.services.registry.port import RegistrationRecord, RegistryClient, Transient, Waiting
from bot.services.registry.signing import (
    MemoryReplayGuard,
    SignatureCheck,
    verify,
    verify_once,
)
from tests.support.registry_standin import (
    GARBLED_KPJ,
    REASON_TEXTS,
    REGISTRY_CONSUMER_ID,
    REGISTRY_SECRET,
    SADAR_CONSUMER_ID,
    SADAR_SECRET,
    Mode,
    RegistryStandIn,
    running_registry_standin,
)

_SERIALS = itertools.count(1)
#: Short enough to keep the suite fast, long enough for a loaded loopback.
TIMEOUT_SECONDS = 0.5


def person(**overrides: object) -> RegistrationRecord:
    """A generated resident: district 98 of Tuban does not exist, so the NIK is no one's."""
    serial = next(_SERIALS)
    record = RegistrationRecord(
        reference=f"SDR-TEST-{serial:04d}",
        nik=f"352398550588{serial:04d}",
        full_name="Sri Wahyuni",
        sex="P",
        birth_date=date(1988, 5, 15),
        village="Karanglo",
        village_code="3523110007",
        district="Kerek",
        regency="Tuban",
        occupation="Petani",
        declared_income=1_500_000,
        programmes=("JKK", "JKM"),
        phone=f"+628120000{serial:04d}",
        consent_date=date(2026, 11, 2),
    )
    return replace(record, **overrides)  # type: ignore[arg-type]


def make_client(standin: RegistryStandIn, **overrides: object) -> PartnerApiClient:
    options: dict[str, object] = {
        "base_url": standin.url,
        "consumer_id": SADAR_CONSUMER_ID,
        "secret": SADAR_SECRET,
        "timeout_seconds": TIMEOUT_SECONDS,
        **overrides,
    }
    return PartnerApiClient(**options)  # type: ignore[arg-type]


@pytest.fixture
async def client(standin: RegistryStandIn) -> AsyncIterator[PartnerApiClient]:
    api = make_client(standin)
    try:
        yield api
    finally:
        await api.aclose()


async def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the stand-in did not get there in time"
        await asyncio.sleep(0.02)


async def test_an_accepted_registration_brings_its_kpj_and_payment_code(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    record = person(programmes=("JKK", "JKM", "JHT"), village_code=None)
    registry: RegistryClient = client  # the port, as the submission service sees it

    reply = await registry.submit(record)

    assert isinstance(reply, Accepted)
    assert reply.kpj == standin.memberships[record.reference]
    assert len(reply.kpj) == 11 and reply.kpj.isdigit() and clean_kpj(reply.kpj) == reply.kpj
    assert reply.payment_code == f"BPU{reply.kpj}"
    assert standin.submit_calls == 1 and standin.unauthorized == []


@pytest.mark.parametrize("reason", list(RejectionReason))
async def test_a_rejection_names_its_reason_and_keeps_the_registrys_words(
    standin: RegistryStandIn, client: PartnerApiClient, reason: RejectionReason
) -> None:
    record = person()
    standin.rejected_niks[record.nik] = reason.value

    reply = await client.submit(record)

    assert reply == Rejected(reason, REASON_TEXTS[reason.value])
    assert standin.memberships == {}


async def test_an_unknown_reason_code_is_other(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    record = person()
    standin.rejected_niks[record.nik] = "kantor_tutup"

    assert await client.submit(record) == Rejected(RejectionReason.OTHER, REASON_TEXTS["other"])


async def test_a_name_the_civil_registry_spells_otherwise_is_an_identity_mismatch(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    standin.arm(Mode.MISMATCH, names={"Sri Wahyuni"})

    reply = await client.submit(person())

    assert isinstance(reply, Rejected) and reply.reason is RejectionReason.IDENTITY_MISMATCH
    assert isinstance(await client.submit(person(full_name="Sri Wahyuningsih")), Accepted)


async def test_a_rejected_reference_is_decided_afresh_once_the_data_is_corrected(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    record = person(full_name="Sri Wahyuni")
    standin.arm(Mode.MISMATCH, names={"Sri Wahyuni"})
    assert isinstance(await client.submit(record), Rejected)

    reply = await client.submit(replace(record, full_name="Sri Wahyuningsih"))

    assert isinstance(reply, Accepted)
    assert standin.memberships == {record.reference: reply.kpj}


async def test_a_pending_registration_is_accepted_on_a_later_status_call(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    record = person()
    standin.arm(Mode.PENDING_FIRST, times=1)

    first = await client.submit(record)
    again = await client.submit(record)
    later = await client.status(record.reference)

    assert isinstance(first, Waiting) and first.request_id.startswith("RQ-")
    assert again == first
    assert isinstance(later, Accepted)
    assert standin.memberships == {record.reference: later.kpj}
    assert await client.status(record.reference) == later


async def test_a_nik_already_a_member_under_another_reference_is_refused_with_409(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    standin.arm(Mode.DUPLICATE_NIK)
    first = person()
    second = person(nik=first.nik)
    assert isinstance(await client.submit(first), Accepted)

    reply = await client.submit(second)

    assert reply == Rejected(
        RejectionReason.ALREADY_PARTICIPANT, REASON_TEXTS["already_participant"]
    )
    assert list(standin.memberships) == [first.reference]
    assert await client.status(second.reference) == reply


async def test_incomplete_data_is_refused_with_422_naming_the_fields(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    reply = await client.submit(person(phone="081200001111", programmes=("JHT",)))

    assert isinstance(reply, Rejected) and reply.reason is RejectionReason.INCOMPLETE_DATA
    assert reply.detail == f"{REASON_TEXTS['incomplete_data']} (fields: phone, programmes)"
    assert standin.memberships == {}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_server_error_is_transient_and_the_next_try_goes_through(
    standin: RegistryStandIn, client: PartnerApiClient, status: int
) -> None:
    record = person()
    standin.arm(Mode.ERROR_5XX, times=1, status=status)

    reply = await client.submit(record)

    assert reply == Transient(f"HTTP {status} for {record.reference}")
    assert standin.memberships == {}
    assert isinstance(await client.submit(record), Accepted)


async def test_rate_limiting_is_transient_with_the_seconds_to_wait(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    standin.arm(Mode.RATE_LIMITED, times=1, retry_after=7)

    reply = await client.submit(person())

    assert isinstance(reply, Transient) and reply.retry_after == 7.0
    assert standin.fired[Mode.RATE_LIMITED] == 1


async def test_a_retry_after_given_as_a_date_is_counted_from_the_signing_clock(
    standin: RegistryStandIn,
) -> None:
    now = int(time.time())
    standin.arm(Mode.RATE_LIMITED, times=1, retry_after=formatdate(now + 90, usegmt=True))
    api = make_client(standin, now_unix=lambda: now)
    try:
        reply = await api.status("SDR-TEST-0000")
    finally:
        await api.aclose()

    assert isinstance(reply, Transient) and reply.retry_after == 90.0


async def test_an_answer_slower_than_the_timeout_is_transient_and_never_a_second_membership(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    record = person()
    standin.arm(Mode.SLOW, times=1, ms=int(TIMEOUT_SECONDS * 1000) + 400)

    reply = await client.submit(record)
    # The registry went on and accepted it after Sadar stopped waiting; the next try,
    # with the same reference, learns its KPJ number.
    again = await client.submit(record)

    assert isinstance(reply, Transient) and "no answer in time" in reply.detail
    assert isinstance(again, Accepted)
    await eventually(lambda: standin.duplicates_refused == 1)
    assert standin.memberships == {record.reference: again.kpj}


async def test_a_connection_dropped_after_accepting_is_transient_and_the_resend_gets_the_same_kpj(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    record = person()
    standin.arm(Mode.DROP_AFTER_ACCEPT, times=1)

    dropped = await client.submit(record)
    kpj_at_registry = standin.memberships[record.reference]
    resent = await client.submit(record)

    assert isinstance(dropped, Transient) and "connection failed" in dropped.detail
    assert resent == Accepted(kpj_at_registry, f"BPU{kpj_at_registry}")
    assert standin.memberships == {record.reference: kpj_at_registry}
    assert standin.submit_calls == 2 and standin.duplicates_refused == 1


async def test_an_accepted_answer_with_no_kpj_number_is_transient_naming_it(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    standin.arm(Mode.GARBLED_KPJ, times=1)

    reply = await client.submit(person())

    assert isinstance(reply, Transient) and repr(GARBLED_KPJ) in reply.detail


async def test_a_success_status_without_json_is_transient(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    record = person()
    standin.arm(Mode.NOT_JSON, times=1)

    reply = await client.submit(record)

    assert reply == Transient(f"HTTP 200 for {record.reference} without a JSON object")
    assert isinstance(await client.status(record.reference), Accepted)


async def test_the_status_of_a_reference_the_registry_never_got_is_transient(
    client: PartnerApiClient,
) -> None:
    reply = await client.status("SDR-NONE-0000")

    assert isinstance(reply, Transient) and "HTTP 404" in reply.detail


async def test_a_registry_that_cannot_be_reached_is_transient() -> None:
    with running_registry_standin() as gone:
        url = gone.url
    api = PartnerApiClient(url, SADAR_CONSUMER_ID, SADAR_SECRET, timeout_seconds=TIMEOUT_SECONDS)
    try:
        reply = await api.submit(person())
    finally:
        await api.aclose()

    assert isinstance(reply, Transient) and "connection failed" in reply.detail


@pytest.mark.parametrize(
    ("overrides", "check", "setting"),
    [
        (
            {"secret": "not-the-issued-secret"},
            SignatureCheck.BAD_SIGNATURE,
            "SADAR_REGISTRY_SECRET",
        ),
        ({"consumer_id": "someone-else"}, SignatureCheck.WRONG_CONSUMER, "CONSUMER_ID"),
        (
            {"now_unix": lambda: int(time.time()) - 400},
            SignatureCheck.OUTSIDE_WINDOW,
            "clock",
        ),
    ],
)
async def test_refused_credentials_raise_naming_the_setting_to_fix(
    standin: RegistryStandIn, overrides: dict[str, object], check: SignatureCheck, setting: str
) -> None:
    api = make_client(standin, **overrides)
    try:
        with pytest.raises(RegistryConfigError, match=setting) as raised:
            await api.submit(person())
    finally:
        await api.aclose()

    assert standin.unauthorized == [check]
    assert SADAR_SECRET not in str(raised.value) and "not-the-issued" not in str(raised.value)
    assert standin.memberships == {}


async def test_a_withdrawal_is_done_whether_or_not_the_registry_still_holds_it(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    record = person()
    await client.submit(record)

    assert await client.withdraw(record.reference) is True
    assert await client.withdraw(record.reference) is True
    assert standin.withdrawn == [record.reference]
    assert isinstance(await client.status(record.reference), Transient)


async def test_a_withdrawal_the_registry_could_not_take_is_transient(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    standin.arm(Mode.ERROR_5XX, times=1)

    reply = await client.withdraw("SDR-TEST-0000")

    assert reply == Transient("HTTP 503 for SDR-TEST-0000")


async def test_a_flaky_registry_still_ends_with_one_membership_per_reference(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    """Seeded chaos: server errors, rate limits and dropped connections at random; every
    registration is resent until accepted, as the submission worker would."""
    standin.arm(Mode.ERROR_5XX, probability=0.3)
    standin.arm(Mode.RATE_LIMITED, probability=0.2, retry_after=1)
    standin.arm(Mode.DROP_AFTER_ACCEPT, probability=0.4)
    records = [person() for _ in range(12)]
    kpjs: dict[str, str] = {}

    for record in records:
        for _attempt in range(30):
            reply = await client.submit(record)
            if isinstance(reply, Accepted):
                kpjs[record.reference] = reply.kpj
                break
            assert isinstance(reply, Transient)

    assert kpjs == standin.memberships and len(kpjs) == len(records)
    assert len(set(kpjs.values())) == len(records)
    assert standin.fired[Mode.DROP_AFTER_ACCEPT] > 0 and standin.fired[Mode.ERROR_5XX] > 0
    assert standin.duplicates_refused == standin.fired[Mode.DROP_AFTER_ACCEPT]


async def test_nothing_personal_reaches_the_log(
    standin: RegistryStandIn, client: PartnerApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    record = person()
    standin.rejected_niks[record.nik] = "identity_mismatch"
    caplog.set_level(logging.DEBUG)

    await client.submit(record)
    await client.status(record.reference)

    logged = "\n".join(entry.getMessage() for entry in caplog.records)
    assert record.reference in logged
    for personal in (record.nik, record.full_name, record.phone, record.phone[1:]):
        assert personal not in logged


async def test_a_callback_is_signed_with_the_registrys_own_key_and_refused_when_replayed(
    standin: RegistryStandIn, client: PartnerApiClient
) -> None:
    record = person()
    standin.arm(Mode.PENDING_FIRST, times=1)
    await client.submit(record)
    sent: list[httpx.Request] = []

    def post(url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        request = httpx.Request("POST", url, content=content, headers=headers)
        sent.append(request)
        return httpx.Response(200, request=request)

    payload = standin.settle(record.reference)
    answer = standin.send_callback("http://sadar.test/webhooks/registry", payload, post=post)

    assert answer.status_code == 200
    assert payload["status"] == "accepted"
    assert payload["kpj"] == standin.memberships[record.reference]
    request = sent[0]
    now = int(time.time())
    args = (request.headers, request.content, REGISTRY_CONSUMER_ID, REGISTRY_SECRET, now)
    assert verify(*args) is SignatureCheck.OK
    assert verify(request.headers, request.content, SADAR_CONSUMER_ID, SADAR_SECRET, now) is (
        SignatureCheck.WRONG_CONSUMER
    )
    guard = MemoryReplayGuard(now=time.monotonic)
    assert verify_once(*args, guard=guard) is SignatureCheck.OK
    assert verify_once(*args, guard=guard) is SignatureCheck.REPLAYED
