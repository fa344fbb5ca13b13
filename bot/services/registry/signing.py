"""Signed requests between Sadar and the BPJS Ketenagakerjaan partner API (issue 29), both
ways: Sadar signs what it sends, the registry signs its callbacks.

The convention of Indonesian government bridging APIs (BPJS Kesehatan VClaim style): a
consumer id, the Unix time in seconds and a Base64 HMAC-SHA256 signature in headers. The
classic message is ``consId&timestamp``; it is extended here with the SHA-256 of the body,
so a captured signature cannot carry another body. Pure: no I/O, no clock (the caller
passes the time), no framework."""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import re
import threading
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Protocol

CONSUMER_HEADER = "X-Cons-ID"
TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
#: Sent on submits: Sadar's reference, so a repeated submit never makes a second membership.
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: How far a request's timestamp may be from the receiver's clock, either way.
DEFAULT_WINDOW_SECONDS = 300

_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class SignatureCheck(StrEnum):
    """What a receiver found; anything but OK is refused (HTTP 401 or 403)."""

    OK = "ok"
    #: A signature header is absent, empty, or unreadable (a timestamp not in whole seconds).
    MISSING_HEADER = "missing_header"
    WRONG_CONSUMER = "wrong_consumer"
    OUTSIDE_WINDOW = "outside_window"
    BAD_SIGNATURE = "bad_signature"
    #: Signed correctly, but this very signature was seen before (``verify_once``).
    REPLAYED = "replayed"


def body_digest(body: bytes) -> str:
    """The body's SHA-256 as lowercase hex: the third part of the signed message."""
    return hashlib.sha256(body).hexdigest()


def signature(consumer_id: str, secret: str, timestamp: str, body: bytes) -> str:
    """Base64(HMAC-SHA256(secret, "consumer_id&timestamp&sha256_hex(body)"))."""
    message = f"{consumer_id}&{timestamp}&{body_digest(body)}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign(consumer_id: str, secret: str, body: bytes, now_unix: int) -> dict[str, str]:
    """The three signature headers for one request carrying ``body`` (b"" for a GET)."""
    timestamp = str(now_unix)
    return {
        CONSUMER_HEADER: consumer_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(consumer_id, secret, timestamp, body),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    """Header lookup that ignores case whatever mapping the web framework hands over."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), "").strip()


def verify(
    headers: Mapping[str, str],
    body: bytes,
    consumer_id: str,
    secret: str,
    now_unix: int,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
) -> SignatureCheck:
    """Whether a request was signed by ``consumer_id`` with ``secret`` over exactly
    ``body``, less than ``window_seconds`` away from ``now_unix`` (the edge counts as inside).
    The window is checked before the signature: a stale request costs no HMAC."""
    given_consumer = _header(headers, CONSUMER_HEADER)
    timestamp = _header(headers, TIMESTAMP_HEADER)
    given_signature = _header(headers, SIGNATURE_HEADER)
    if not (given_consumer and given_signature and _UNIX_SECONDS.fullmatch(timestamp)):
        return SignatureCheck.MISSING_HEADER
    if not hmac.compare_digest(given_consumer.encode(), consumer_id.encode()):
        return SignatureCheck.WRONG_CONSUMER
    if abs(now_unix - int(timestamp)) > window_seconds:
        return SignatureCheck.OUTSIDE_WINDOW
    expected = signature(consumer_id, secret, timestamp, body)
    if not hmac.compare_digest(given_signature.encode(), expected.encode()):
        return SignatureCheck.BAD_SIGNATURE
    return SignatureCheck.OK


def replay_ttl(window_seconds: int = DEFAULT_WINDOW_SECONDS) -> int:
    """How long a seen signature must be remembered: a timestamp up to the window ahead of
    the clock stays acceptable until twice the window has passed."""
    return 2 * window_seconds


class ReplayGuard(Protocol):
    """Remembers keys (signatures) for a while, across the processes that share it."""

    def first_time(self, key: str, ttl_seconds: int) -> bool:
        """True the first time ``key`` is seen within ``ttl_seconds``, False after that."""
        ...


def verify_once(
    headers: Mapping[str, str],
    body: bytes,
    consumer_id: str,
    secret: str,
    now_unix: int,
    guard: ReplayGuard,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
) -> SignatureCheck:
    """``verify``, then refuse a signature already accepted once (a captured callback sent
    again inside the window). Only a valid signature is remembered: garbage cannot fill
    the guard."""
    check = verify(headers, body, consumer_id, secret, now_unix, window_seconds)
    if check is not SignatureCheck.OK:
        return check
    if not guard.first_time(_header(headers, SIGNATURE_HEADER), replay_ttl(window_seconds)):
        return SignatureCheck.REPLAYED
    return SignatureCheck.OK


class MemoryReplayGuard:
    """A ReplayGuard for one process (tests, a single machine): thread-safe, forgets each
    key ``ttl_seconds`` after it was first seen, on ``now``'s clock (seconds)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._queue: list[tuple[float, str]] = []

    def first_time(self, key: str, ttl_seconds: int) -> bool:
        now = self._now()
        with self._lock:
            self._forget_until(now)
            if key in self._expiry:
                return False
            expires = now + ttl_seconds
            self._expiry[key] = expires
            heapq.heappush(self._queue, (expires, key))
            return True

    def _forget_until(self, now: float) -> None:
        while self._queue and self._queue[0][0] <= now:
            expires, key = heapq.heappop(self._queue)
            if self._expiry.get(key) == expires:
                del self._expiry[key]
