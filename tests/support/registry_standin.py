"""A stand-in for the BPJS Ketenagakerjaan partner API of docs/registry_api.md (issue 29), on
a real loopback socket: it checks the signature headers (401/403 otherwise), keeps one
membership per reference whatever is resent (Idempotency-Key), issues 11-digit KPJ numbers
from a counter, fails on demand (slow, 5xx, 429, a connection dropped after accepting, ...)
and sends signed callbacks the way the registry would.

Runs aiohttp in a thread with its own event loop, so a test's client (on the test's loop)
talks to it over TCP exactly as it would to the real registry."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import httpx
from aiohttp import web

from bot.services.registry.signing import (
    DEFAULT_WINDOW_SECONDS,
    IDEMPOTENCY_HEADER,
    SignatureCheck,
    sign,
    verify,
)

#: The credentials the stand-in expects from Sadar (generated for tests, never real).
SADAR_CONSUMER_ID = "sadar-test"
SADAR_SECRET = "registry-secret-for-tests-only-000000000000"
#: The stand-in's own credentials, which sign its callbacks to Sadar.
REGISTRY_CONSUMER_ID = "bpjstk-standin"
REGISTRY_SECRET = "registry-callback-secret-for-tests-00000000"

#: What the registry writes for each reason code (Indonesian, as a branch would).
REASON_TEXTS = {
    "nik_not_found": "NIK tidak ditemukan di data kependudukan (Dukcapil)",
    "identity_mismatch": "Nama atau tanggal lahir tidak sesuai dengan data Dukcapil",
    "incomplete_data": "Data tidak lengkap atau tidak sah",
    "already_participant": "NIK sudah terdaftar sebagai peserta BPJS Ketenagakerjaan",
    "over_age": "Usia melebihi batas kepesertaan Bukan Penerima Upah",
    "other": "Ditolak oleh petugas cabang",
}
#: A KPJ number in an accepted answer that is not one (mode GARBLED_KPJ).
GARBLED_KPJ = "KPJ?"

_PROGRAMMES = {"JKK", "JKM", "JHT"}
_TEXT_FIELDS = (
    "reference",
    "nik",
    "full_name",
    "sex",
    "village",
    "district",
    "regency",
    "occupation",
    "phone",
)


class Mode(StrEnum):
    """Failure modes a test switches on with ``arm`` and off with ``disarm``."""

    #: Sleep ``slow_ms`` before answering any call (the work is still done afterwards).
    SLOW = "slow"
    #: Answer any call with ``error_status`` (5xx) before doing anything.
    ERROR_5XX = "error_5xx"
    #: Answer any call 429 with ``Retry-After: retry_after``.
    RATE_LIMITED = "rate_limited"
    #: Accept a submit and record the membership, then close the connection unanswered.
    DROP_AFTER_ACCEPT = "drop_after_accept"
    #: Refuse (409 already_participant) a NIK already a member under another reference.
    DUPLICATE_NIK = "duplicate_nik"
    #: Reject with identity_mismatch the names in ``mismatch_names``.
    MISMATCH = "mismatch"
    #: Answer a submit "pending"; the next status call accepts it.
    PENDING_FIRST = "pending_first"
    #: A status call about a pending registration answers that it is still pending.
    UNDECIDED = "undecided"
    #: Accept with a KPJ number that is not one.
    GARBLED_KPJ = "garbled_kpj"
    #: Do the work, then answer 200 with an HTML page instead of JSON.
    NOT_JSON = "not_json"


#: Modes checked on every call; the others only where their situation arises in a submit.
_EVERY_CALL = (Mode.SLOW, Mode.ERROR_5XX, Mode.RATE_LIMITED)


@dataclass
class _Arming:
    #: How many more times it fires; None: until disarmed.
    times: int | None
    probability: float


@dataclass
class _Decision:
    answer: dict[str, Any]
    status: int
    drop: bool = False


def _problems(payload: object) -> list[str]:
    """Fields of a submit body that are missing or malformed (answered 422)."""
    if not isinstance(payload, dict):
        return ["body"]
    bad = [name for name in _TEXT_FIELDS if not str(payload.get(name) or "").strip()]
    if "nik" not in bad and not re.fullmatch(r"[0-9]{16}", str(payload["nik"])):
        bad.append("nik")
    if "sex" not in bad and payload["sex"] not in ("L", "P"):
        bad.append("sex")
    if "phone" not in bad and not re.fullmatch(r"\+62[0-9]{8,13}", str(payload["phone"])):
        bad.append("phone")
    for name in ("birth_date", "consent_date"):
        try:
            date.fromisoformat(str(payload.get(name)))
        except ValueError:
            bad.append(name)
    income = payload.get("declared_income")
    if not isinstance(income, int) or isinstance(income, bool) or income <= 0:
        bad.append("declared_income")
    programmes = payload.get("programmes")
    if not (
        isinstance(programmes, list)
        and set(programmes) <= _PROGRAMMES
        and {"JKK", "JKM"} <= set(programmes)
    ):
        bad.append("programmes")
    code = payload.get("village_code")
    if code is not None and not isinstance(code, str):
        bad.append("village_code")
    return bad


class RegistryStandIn:
    """The partner API on 127.0.0.1. Read ``memberships`` (reference -> KPJ),
    ``submit_calls``, ``duplicates_refused``, ``calls`` (per endpoint) and ``fired`` (per
    mode); set ``rejected_niks`` (NIK -> reason code) for the civil registry's verdicts."""

    def __init__(
        self,
        consumer_id: str = SADAR_CONSUMER_ID,
        secret: str = SADAR_SECRET,
        *,
        registry_consumer_id: str = REGISTRY_CONSUMER_ID,
        registry_secret: str = REGISTRY_SECRET,
        seed: int = 29,
        now_unix: Callable[[], int] = lambda: int(time.time()),
        window_seconds: int = DEFAULT_WINDOW_SECONDS,
    ) -> None:
        self.consumer_id = consumer_id
        self.secret = secret
        self.registry_consumer_id = registry_consumer_id
        self.registry_secret = registry_secret
        self.now_unix = now_unix
        self.window_seconds = window_seconds
        self.memberships: dict[str, str] = {}
        self.duplicates_refused = 0
        self.calls: Counter[str] = Counter()
        self.fired: Counter[str] = Counter()
        #: Every refused signature check, in order.
        self.unauthorized: list[SignatureCheck] = []
        self.withdrawn: list[str] = []
        self.rejected_niks: dict[str, str] = {}
        self.mismatch_names: set[str] = set()
        self.slow_ms = 0
        #: Retry-After of a 429: seconds, or an HTTP date as a string.
        self.retry_after: int | str = 30
        self.error_status = 503
        self._answers: dict[str, dict[str, Any]] = {}
        self._member_niks: dict[str, str] = {}
        #: NIKs of registrations answered "pending" (PENDING_FIRST), by reference.
        self._pending_niks: dict[str, str] = {}
        self._armed: dict[Mode, _Arming] = {}
        self._random = random.Random(seed)
        self._serial = itertools.count(1)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def submit_calls(self) -> int:
        return self.calls["submit"]

    @property
    def niks_held_twice(self) -> int:
        """People with more than one membership (one per reference is the contract; this
        counts what a second reference for the same NIK would have created)."""
        with self._lock:
            held = Counter(self._member_niks.values())
        return sum(1 for n in held.values() if n > 1)

    # -- failure modes -------------------------------------------------------------------

    def arm(
        self,
        mode: Mode | str,
        *,
        times: int | None = None,
        probability: float = 1.0,
        ms: int | None = None,
        retry_after: int | str | None = None,
        status: int | None = None,
        names: set[str] | None = None,
    ) -> None:
        """Switch ``mode`` on, for the next ``times`` occasions it fires (None: until
        ``disarm``), each with ``probability`` (drawn from the seeded random source).
        ``ms``/``retry_after``/``status``/``names`` set the mode's parameter."""
        mode = Mode(mode)
        with self._lock:
            self._armed[mode] = _Arming(times, probability)
            if ms is not None:
                self.slow_ms = ms
            if retry_after is not None:
                self.retry_after = retry_after
            if status is not None:
                self.error_status = status
            if names is not None:
                self.mismatch_names = set(names)

    def disarm(self, mode: Mode | str | None = None) -> None:
        with self._lock:
            if mode is None:
                self._armed.clear()
            else:
                self._armed.pop(Mode(mode), None)

    def _fires(self, mode: Mode) -> bool:
        """Whether an armed mode fires on this occasion (caller holds the lock)."""
        arming = self._armed.get(mode)
        if arming is None or (arming.times is not None and arming.times <= 0):
            return False
        if arming.probability < 1.0 and self._random.random() >= arming.probability:
            return False
        if arming.times is not None:
            arming.times -= 1
        self.fired[mode.value] += 1
        return True

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> RegistryStandIn:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failures: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open(sock))
            except BaseException as error:
                failures.append(error)
                started.set()
                return
            started.set()
            loop.run_forever()
            if self._runner is not None:
                loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="registry-standin", daemon=True)
        self._thread.start()
        if not started.wait(10) or failures:
            raise RuntimeError(f"the registry stand-in did not start: {failures}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    async def _open(self, sock: socket.socket) -> None:
        app = web.Application()
        app.add_routes(
            [
                web.post("/v1/registrations", self._submit),
                web.get("/v1/registrations/{reference}", self._status),
                web.post("/v1/registrations/{reference}/withdrawal", self._withdraw),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    # -- handlers ------------------------------------------------------------------------

    async def _guarded(
        self,
        request: web.Request,
        endpoint: str,
        work: Callable[[bytes], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """What every endpoint does first: count, check the signature, play the armed
        every-call failures; then ``work`` on the body."""
        body = await request.read()
        with self._lock:
            self.calls[endpoint] += 1
        check = verify(
            request.headers,
            body,
            self.consumer_id,
            self.secret,
            self.now_unix(),
            self.window_seconds,
        )
        if check is not SignatureCheck.OK:
            with self._lock:
                self.unauthorized.append(check)
            if check is SignatureCheck.WRONG_CONSUMER:
                return web.json_response({"error": "unknown_consumer"}, status=403)
            return web.json_response({"error": check.value}, status=401)
        with self._lock:
            slow = self._fires(Mode.SLOW)
            error = self._fires(Mode.ERROR_5XX)
            limited = not error and self._fires(Mode.RATE_LIMITED)
        if slow:
            await asyncio.sleep(self.slow_ms / 1000)
        if error:
            return web.json_response(
                {"error": "service_unavailable", "reason": "Layanan sedang gangguan"},
                status=self.error_status,
            )
        if limited:
            return web.json_response(
                {"error": "rate_limited", "reason": "Terlalu banyak permintaan"},
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        return await work(body)

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        async def work(body: bytes) -> web.StreamResponse:
            try:
                payload = json.loads(body)
            except ValueError:
                return web.json_response({"error": "body_not_json"}, status=400)
            bad = _problems(payload)
            if bad:
                return web.json_response(
                    {
                        "reference": payload.get("reference")
                        if isinstance(payload, dict)
                        else None,
                        "status": "rejected",
                        "reason_code": "incomplete_data",
                        "reason": REASON_TEXTS["incomplete_data"],
                        "fields": bad,
                    },
                    status=422,
                )
            if request.headers.get(IDEMPOTENCY_HEADER) != payload["reference"]:
                return web.json_response({"error": "idempotency_key_mismatch"}, status=400)
            with self._lock:
                decision = self._decide(payload)
                not_json = self._fires(Mode.NOT_JSON)
            if decision.drop:
                return await _drop(request)
            if not_json:
                return _html_page()
            return web.json_response(decision.answer, status=decision.status)

        return await self._guarded(request, "submit", work)

    def _decide(self, payload: dict[str, Any]) -> _Decision:
        """A submit's answer, one membership per reference (caller holds the lock)."""
        reference, nik = payload["reference"], payload["nik"]
        if reference in self.memberships:
            self.duplicates_refused += 1
            return _Decision(self._answers[reference], 200)
        held = self._answers.get(reference)
        if held is not None and held["status"] == "pending":
            return _Decision(held, 202)
        # A rejected reference is decided afresh: the resident may have corrected their data.
        owner = next((ref for ref, n in self._member_niks.items() if n == nik), None)
        if owner is not None and self._fires(Mode.DUPLICATE_NIK):
            self._answers[reference] = _rejection(reference, "already_participant")
            return _Decision(self._answers[reference], 409)
        if nik in self.rejected_niks:
            self._answers[reference] = _rejection(reference, self.rejected_niks[nik])
            return _Decision(self._answers[reference], 200)
        named = {name.casefold() for name in self.mismatch_names}
        if payload["full_name"].casefold() in named and self._fires(Mode.MISMATCH):
            self._answers[reference] = _rejection(reference, "identity_mismatch")
            return _Decision(self._answers[reference], 200)
        if self._fires(Mode.PENDING_FIRST):
            self._answers[reference] = {
                "reference": reference,
                "status": "pending",
                "request_id": f"RQ-{next(self._serial):08d}",
            }
            self._pending_niks[reference] = nik
            return _Decision(self._answers[reference], 202)
        answer = self._accept(reference, nik)
        return _Decision(answer, 201, drop=self._fires(Mode.DROP_AFTER_ACCEPT))

    def _accept(self, reference: str, nik: str) -> dict[str, Any]:
        kpj = f"29{next(self._serial):09d}"
        self.memberships[reference] = kpj
        self._member_niks[reference] = nik
        answer: dict[str, Any] = {
            "reference": reference,
            "status": "accepted",
            "kpj": GARBLED_KPJ if self._fires(Mode.GARBLED_KPJ) else kpj,
            "payment_code": f"BPU{kpj}",
        }
        self._answers[reference] = answer
        return answer

    async def _status(self, request: web.Request) -> web.StreamResponse:
        reference = request.match_info["reference"]

        async def work(body: bytes) -> web.StreamResponse:
            with self._lock:
                held = self._answers.get(reference)
                if (
                    held is not None
                    and held["status"] == "pending"
                    and not self._fires(Mode.UNDECIDED)
                ):
                    held = self._accept(reference, self._pending_niks.pop(reference))
                not_json = held is not None and self._fires(Mode.NOT_JSON)
            if held is None:
                return web.json_response({"error": "not_found", "reference": reference}, status=404)
            if not_json:
                return _html_page()
            return web.json_response(held, status=200)

        return await self._guarded(request, "status", work)

    async def _withdraw(self, request: web.Request) -> web.StreamResponse:
        reference = request.match_info["reference"]

        async def work(body: bytes) -> web.StreamResponse:
            try:
                named = json.loads(body).get("reference")
            except (ValueError, AttributeError):
                named = None
            if named != reference:
                return web.json_response({"error": "reference_mismatch"}, status=400)
            with self._lock:
                known = self._answers.pop(reference, None)
                self._pending_niks.pop(reference, None)
                if known is not None:
                    self.withdrawn.append(reference)
            if known is None:
                return web.json_response({"error": "not_found", "reference": reference}, status=404)
            return web.json_response({"reference": reference, "status": "withdrawn"}, status=202)

        return await self._guarded(request, "withdraw", work)

    # -- callbacks to Sadar --------------------------------------------------------------

    def settle(self, reference: str, reason_code: str | None = None) -> dict[str, Any]:
        """Decide a pending registration as a branch officer would (accepted, or rejected
        with ``reason_code``) and return the callback payload that tells Sadar."""
        with self._lock:
            nik = self._pending_niks.pop(reference)
            if reason_code is None:
                self._accept(reference, nik)
            else:
                self._answers[reference] = _rejection(reference, reason_code)
        return self.callback_payload(reference)

    def lose(self, reference: str) -> None:
        """Forget a registration still pending, as a registry that lost a request would:
        its status call then answers 404."""
        with self._lock:
            self._answers.pop(reference)
            self._pending_niks.pop(reference)

    def callback_payload(self, reference: str) -> dict[str, Any]:
        """The callback body for the registry's current answer about ``reference``."""
        with self._lock:
            held = dict(self._answers[reference])
        return {
            "reference": reference,
            "status": held["status"],
            "kpj": held.get("kpj"),
            "payment_code": held.get("payment_code"),
            "reason_code": held.get("reason_code"),
            "reason": held.get("reason"),
        }

    def signed_callback(self, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The exact body and headers of a callback, signed with the registry's own key."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = sign(self.registry_consumer_id, self.registry_secret, body, self.now_unix())
        return body, {**headers, "Content-Type": "application/json"}

    def send_callback(
        self,
        url: str,
        payload: dict[str, Any],
        post: Callable[..., httpx.Response] = httpx.post,
    ) -> httpx.Response:
        """POST a signed callback to Sadar's ``/webhooks/registry`` (``post``: an httpx-style
        post, e.g. a TestClient's, for a gateway served in-process)."""
        body, headers = self.signed_callback(payload)
        with self._lock:
            self.calls["callback"] += 1
        return post(url, content=body, headers=headers)


def _rejection(reference: str, reason_code: str) -> dict[str, Any]:
    return {
        "reference": reference,
        "status": "rejected",
        "reason_code": reason_code,
        "reason": REASON_TEXTS.get(reason_code, REASON_TEXTS["other"]),
    }


def _html_page() -> web.Response:
    return web.Response(
        text="<html><body>Service Unavailable</body></html>", content_type="text/html"
    )


async def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without a byte of answer, as a crashed proxy would."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    # aiohttp takes a cancelled handler as "the client went away": no answer, no log line.
    raise asyncio.CancelledError


@contextmanager
def running_registry_standin(**options: Any) -> Iterator[RegistryStandIn]:
    standin = RegistryStandIn(**options).start()
    try:
        yield standin
    finally:
        standin.stop()
