"""The signature of registry requests and callbacks (issue 29): what is signed, each way a
request is refused, the edges of the time window, and the memory of seen signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from datetime import date

import pytest

from bot.infra.settings import PROJECT_ROOT
from bot.services.registry.api_client import encode_json, registration_payload
from bot.services.registry.port import RegistrationRecord
from bot.services.registry.signing import (
    CONSUMER_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    MemoryReplayGuard,
    SignatureCheck,
    replay_ttl,
    sign,
    verify,
    verify_once,
)

CONSUMER = "sadar-test"
SECRET = "registry-secret-for-tests-only-000000000000"
NOW = 1_790_000_000
BODY = b'{"reference":"SDR-TEST-0001","full_name":"Sri Wahyuni"}'


def test_the_signature_is_hmac_sha256_over_consumer_timestamp_and_body_digest() -> None:
    headers = sign(CONSUMER, SECRET, BODY, NOW)

    message = f"{CONSUMER}&{NOW}&{hashlib.sha256(BODY).hexdigest()}".encode()
    expected = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest())
    assert headers == {
        CONSUMER_HEADER: CONSUMER,
        TIMESTAMP_HEADER: str(NOW),
        SIGNATURE_HEADER: expected.decode(),
    }


def test_a_signed_request_verifies_whatever_the_case_of_its_header_names() -> None:
    headers = sign(CONSUMER, SECRET, BODY, NOW)
    lowered = {name.lower(): value for name, value in headers.items()}
    shouted = {name.upper(): value for name, value in headers.items()}

    for given in (headers, lowered, shouted):
        assert verify(given, BODY, CONSUMER, SECRET, NOW) is SignatureCheck.OK


def test_an_empty_body_signs_too() -> None:
    headers = sign(CONSUMER, SECRET, b"", NOW)

    assert verify(headers, b"", CONSUMER, SECRET, NOW) is SignatureCheck.OK
    assert verify(headers, b"{}", CONSUMER, SECRET, NOW) is SignatureCheck.BAD_SIGNATURE


@pytest.mark.parametrize("missing", [CONSUMER_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_a_missing_or_empty_header_is_refused(missing: str) -> None:
    headers = sign(CONSUMER, SECRET, BODY, NOW)
    without = {name: value for name, value in headers.items() if name != missing}
    emptied = {**headers, missing: "  "}

    assert verify(without, BODY, CONSUMER, SECRET, NOW) is SignatureCheck.MISSING_HEADER
    assert verify(emptied, BODY, CONSUMER, SECRET, NOW) is SignatureCheck.MISSING_HEADER


@pytest.mark.parametrize("timestamp", ["2026-11-02T10:00:00Z", "-5", "1790000000.5", "1e9"])
def test_a_timestamp_that_is_not_whole_unix_seconds_is_unreadable(timestamp: str) -> None:
    headers = {**sign(CONSUMER, SECRET, BODY, NOW), TIMESTAMP_HEADER: timestamp}

    assert verify(headers, BODY, CONSUMER, SECRET, NOW) is SignatureCheck.MISSING_HEADER


def test_another_consumer_is_refused_even_with_a_valid_signature_of_its_own() -> None:
    headers = sign("someone-else", SECRET, BODY, NOW)

    assert verify(headers, BODY, CONSUMER, SECRET, NOW) is SignatureCheck.WRONG_CONSUMER


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (sign(CONSUMER, "another-secret", BODY, NOW), BODY),
        (sign(CONSUMER, SECRET, BODY, NOW), BODY.replace(b"Sri", b"Dwi")),
        ({**sign(CONSUMER, SECRET, BODY, NOW), TIMESTAMP_HEADER: str(NOW - 1)}, BODY),
        ({**sign(CONSUMER, SECRET, BODY, NOW), SIGNATURE_HEADER: "bm90IGEgc2lnbmF0dXJl"}, BODY),
    ],
    ids=["wrong secret", "body swapped", "timestamp changed", "signature forged"],
)
def test_anything_changed_after_signing_is_a_bad_signature(
    headers: dict[str, str], body: bytes
) -> None:
    assert verify(headers, body, CONSUMER, SECRET, NOW) is SignatureCheck.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("age", "check"),
    [
        (0, SignatureCheck.OK),
        (300, SignatureCheck.OK),
        (301, SignatureCheck.OUTSIDE_WINDOW),
        (-300, SignatureCheck.OK),
        (-301, SignatureCheck.OUTSIDE_WINDOW),
    ],
)
def test_the_time_window_is_300_seconds_either_way_edges_included(
    age: int, check: SignatureCheck
) -> None:
    headers = sign(CONSUMER, SECRET, BODY, NOW - age)

    assert verify(headers, BODY, CONSUMER, SECRET, NOW) is check


def test_the_window_can_be_narrowed() -> None:
    headers = sign(CONSUMER, SECRET, BODY, NOW - 31)

    assert verify(headers, BODY, CONSUMER, SECRET, NOW, window_seconds=31) is SignatureCheck.OK
    assert verify(headers, BODY, CONSUMER, SECRET, NOW, window_seconds=30) is (
        SignatureCheck.OUTSIDE_WINDOW
    )


def test_a_stale_request_is_refused_for_its_age_before_its_signature_is_checked() -> None:
    headers = sign(CONSUMER, "another-secret", BODY, NOW - 3600)

    assert verify(headers, BODY, CONSUMER, SECRET, NOW) is SignatureCheck.OUTSIDE_WINDOW


class Seconds:
    """A hand-moved clock for the replay guard."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_replay_guard_remembers_a_key_for_its_ttl_and_then_forgets_it() -> None:
    clock = Seconds()
    guard = MemoryReplayGuard(now=clock)

    assert guard.first_time("sig-a", ttl_seconds=600) is True
    assert guard.first_time("sig-a", ttl_seconds=600) is False
    assert guard.first_time("sig-b", ttl_seconds=600) is True
    clock.now += 599
    assert guard.first_time("sig-a", ttl_seconds=600) is False
    clock.now += 1
    assert guard.first_time("sig-a", ttl_seconds=600) is True
    assert guard.first_time("sig-b", ttl_seconds=600) is True


def test_the_replay_guard_lets_exactly_one_of_many_threads_through() -> None:
    guard = MemoryReplayGuard(now=Seconds())
    start = threading.Barrier(16)
    results: list[bool] = []
    lock = threading.Lock()

    def race() -> None:
        start.wait()
        seen = guard.first_time("same-signature", ttl_seconds=600)
        with lock:
            results.append(seen)

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False] * 15 + [True]


def test_a_signature_is_remembered_as_long_as_it_could_still_be_inside_the_window() -> None:
    assert replay_ttl() == 600
    assert replay_ttl(30) == 60


def test_verify_once_refuses_the_same_signed_request_the_second_time() -> None:
    guard = MemoryReplayGuard(now=Seconds())
    headers = sign(CONSUMER, SECRET, BODY, NOW)

    assert verify_once(headers, BODY, CONSUMER, SECRET, NOW, guard) is SignatureCheck.OK
    assert verify_once(headers, BODY, CONSUMER, SECRET, NOW + 5, guard) is (SignatureCheck.REPLAYED)
    later = sign(CONSUMER, SECRET, BODY, NOW + 1)
    assert verify_once(later, BODY, CONSUMER, SECRET, NOW + 5, guard) is SignatureCheck.OK


def test_verify_once_remembers_only_valid_signatures() -> None:
    guard = MemoryReplayGuard(now=Seconds())
    forged = {**sign(CONSUMER, "another-secret", BODY, NOW)}

    assert verify_once(forged, BODY, CONSUMER, SECRET, NOW, guard) is (SignatureCheck.BAD_SIGNATURE)
    assert guard.first_time(forged[SIGNATURE_HEADER], ttl_seconds=600) is True


#: The generated resident of the document's examples (district 98 of Tuban does not exist).
EXAMPLE = RegistrationRecord(
    reference="SDR-7K3M-9QXA",
    nik="3523985505880001",
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
    phone="+6281200000001",
    consent_date=date(2026, 11, 2),
)


def example_line(doc: str, start: str) -> bytes:
    return next(line.encode() for line in doc.splitlines() if line.startswith(start))


def test_the_worked_example_of_docs_registry_api_md_holds() -> None:
    """The partner engineer checks their implementation against these numbers."""
    doc = (PROJECT_ROOT / "docs" / "registry_api.md").read_text(encoding="utf-8")
    body = example_line(doc, '{"reference":"SDR-7K3M-9QXA","nik"')
    callback = example_line(doc, '{"reference":"SDR-7K3M-9QXA","status"')
    submit = sign("sadar-contoh", "contoh-rahasia-bukan-kunci-asli", body, 1_793_610_000)
    status = sign("sadar-contoh", "contoh-rahasia-bukan-kunci-asli", b"", 1_793_610_000)
    signed = sign("bpjstk-contoh", "contoh-rahasia-callback-bukan-asli", callback, 1_793_613_600)

    assert body == encode_json(registration_payload(EXAMPLE)) and len(body) == 330
    assert f"sha256_hex(body) = {hashlib.sha256(body).hexdigest()}" in doc
    assert f"X-Signature      = {submit[SIGNATURE_HEADER]}" in doc
    assert f"X-Signature: {status[SIGNATURE_HEADER]}" in doc
    assert f"X-Signature: {signed[SIGNATURE_HEADER]}" in doc
