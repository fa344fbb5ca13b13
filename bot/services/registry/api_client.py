"""The partner API adapter of the registry port (issue 29), for the day BPJS
Ketenagakerjaan grants Sadar an API: signed JSON over HTTPS (docs/registry_api.md).

Every answer becomes one of the port's replies, so the submission service never sees HTTP:
a final word (Accepted, Rejected), a promise (Waiting) or "try again later" (Transient).
Only a refused credential raises (RegistryConfigError): no retry can fix it, an operator
must. Nothing personal is logged, only the reference."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx

from bot.domain.submissions import (
    Accepted,
    Rejected,
    RejectionReason,
    clean_kpj,
    clean_payment_code,
    rejection_reason,
)
from bot.services.registry.port import RegistrationRecord, RegistryReply, Transient, Waiting
from bot.services.registry.signing import DEFAULT_WINDOW_SECONDS, IDEMPOTENCY_HEADER, sign

log = logging.getLogger(__name__)

REGISTRATIONS_PATH = "/v1/registrations"


class RegistryConfigError(RuntimeError):
    """The registry refused Sadar's credentials (HTTP 401/403): retrying cannot help, the
    settings (or the server's clock) must be fixed."""


def registration_payload(record: RegistrationRecord) -> dict[str, Any]:
    """The JSON body of a submit: every field of the record, dates in ISO 8601."""
    return {
        "reference": record.reference,
        "nik": record.nik,
        "full_name": record.full_name,
        "sex": record.sex,
        "birth_date": record.birth_date.isoformat(),
        "village": record.village,
        "village_code": record.village_code,
        "district": record.district,
        "regency": record.regency,
        "occupation": record.occupation,
        "declared_income": record.declared_income,
        "programmes": list(record.programmes),
        "phone": record.phone,
        "consent_date": record.consent_date.isoformat(),
    }


def encode_json(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact UTF-8 JSON (the signature covers these
    bytes, so they are built once and never re-serialised)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class PartnerApiClient:
    """RegistryClient over the partner API. ``transport`` is injected so tests can point it
    at a stand-in; ``now_unix`` is the clock the signatures' timestamps come from."""

    def __init__(
        self,
        base_url: str,
        consumer_id: str,
        secret: str,
        timeout_seconds: float = 10.0,
        now_unix: Callable[[], int] = lambda: int(time.time()),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._consumer_id = consumer_id
        self._secret = secret
        self._now_unix = now_unix
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "sadar-registry/1"},
        )

    async def submit(self, record: RegistrationRecord) -> RegistryReply:
        body = encode_json(registration_payload(record))
        extra = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: record.reference}
        return await self._call("POST", REGISTRATIONS_PATH, body, record.reference, extra)

    async def status(self, reference: str) -> RegistryReply:
        return await self._call("GET", _registration_path(reference), b"", reference)

    async def withdraw(self, reference: str) -> Literal[True] | Transient:
        """Tell the registry the resident erased their data in Sadar after submission. True
        once the registry has it (200/202) or never had it (404); Transient otherwise. The
        body names the reference so its signature cannot be replayed on another one."""
        body = encode_json({"reference": reference, "reason": "data_erased"})
        path = _registration_path(reference) + "/withdrawal"
        response = await self._send(
            "POST", path, body, reference, {"Content-Type": "application/json"}
        )
        outcome: Literal[True] | Transient
        if isinstance(response, Transient):
            outcome = response
        elif response.status_code in (200, 202, 404):
            outcome = True
        else:
            reply = self._failure(response, reference)
            outcome = (
                reply
                if isinstance(reply, Transient)
                else Transient(f"HTTP {response.status_code} to the withdrawal of {reference}")
            )
        log.info(
            "registry withdrawal of %s: %s",
            reference,
            "done" if outcome is True else _outcome(outcome),
        )
        return outcome

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        body: bytes,
        reference: str,
        extra_headers: dict[str, str] | None = None,
    ) -> RegistryReply:
        response = await self._send(method, path, body, reference, extra_headers)
        reply = response if isinstance(response, Transient) else self._reply(response, reference)
        log.info("registry %s %s: %s", method, reference, _outcome(reply))
        return reply

    async def _send(
        self,
        method: str,
        path: str,
        body: bytes,
        reference: str,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response | Transient:
        headers = {
            **sign(self._consumer_id, self._secret, body, self._now_unix()),
            **(extra_headers or {}),
        }
        try:
            return await self._http.request(method, path, content=body, headers=headers)
        except httpx.TimeoutException as error:
            return Transient(f"no answer in time for {reference} ({type(error).__name__})")
        except httpx.TransportError as error:
            # Connection refused or dropped before an answer: the registry may or may not
            # have taken it; the same reference sent again cannot make a second membership.
            return Transient(f"connection failed for {reference} ({type(error).__name__})")

    def _reply(self, response: httpx.Response, reference: str) -> RegistryReply:
        if response.is_success:
            body = _json_object(response)
            if body is None:
                return Transient(
                    f"HTTP {response.status_code} for {reference} without a JSON object"
                )
            return reply_from_json(body, reference)
        return self._failure(response, reference)

    def _failure(self, response: httpx.Response, reference: str) -> RegistryReply:
        code = response.status_code
        body = _json_object(response) or {}
        if code in (401, 403):
            raise RegistryConfigError(self._credential_problem(code, body))
        if code == 409 and body.get("reason_code") == RejectionReason.ALREADY_PARTICIPANT:
            return Rejected(RejectionReason.ALREADY_PARTICIPANT, _text(body.get("reason")))
        if code == 422:
            return Rejected(RejectionReason.INCOMPLETE_DATA, _incomplete_detail(body))
        if code == 429:
            return Transient(
                f"rate limited (HTTP 429) for {reference}",
                retry_after=self._retry_after(response.headers.get("Retry-After")),
            )
        if code == 404:
            return Transient(
                f"the registry does not know {reference} (HTTP 404): submit again", resubmit=True
            )
        # 5xx, and any other refusal the contract does not name: retried with backoff, and
        # after attempts_before_attention an operator looks (never a rejection the resident
        # would be told about).
        return Transient(f"HTTP {code} for {reference}")

    def _credential_problem(self, code: int, body: dict[str, Any]) -> str:
        said = _text(body.get("error")) or _text(body.get("reason"))
        status = f"HTTP {code}: {said}" if said else f"HTTP {code}"
        if code == 403:
            return (
                f"the registry does not accept consumer id {self._consumer_id!r} ({status}): "
                "check SADAR_REGISTRY_CONSUMER_ID against the id BPJS Ketenagakerjaan issued"
            )
        return (
            f"the registry refused Sadar's signature ({status}): check SADAR_REGISTRY_SECRET "
            f"(the key issued with SADAR_REGISTRY_CONSUMER_ID {self._consumer_id!r}) and "
            f"that this server's clock is within {DEFAULT_WINDOW_SECONDS} s of the real time"
        )

    def _retry_after(self, raw: str | None) -> float | None:
        """Retry-After in seconds (RFC 9110: a number of seconds or an HTTP date)."""
        if not raw:
            return None
        raw = raw.strip()
        if raw.isdigit():
            return float(raw)
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - self._now_unix())


def _registration_path(reference: str) -> str:
    return f"{REGISTRATIONS_PATH}/{quote(reference, safe='')}"


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _incomplete_detail(body: dict[str, Any]) -> str:
    detail = _text(body.get("reason"))
    fields = body.get("fields")
    if isinstance(fields, list) and fields:
        named = ", ".join(str(field) for field in fields)
        detail = f"{detail} (fields: {named})" if detail else f"fields: {named}"
    return detail


def reply_from_json(body: dict[str, Any], reference: str) -> RegistryReply:
    """A 2xx JSON answer (or a callback's body), in the port's words."""
    answered_for = body.get("reference")
    if answered_for is not None and answered_for != reference:
        return Transient(f"the registry answered about {answered_for!r} when asked {reference}")
    status = body.get("status")
    if status == "accepted":
        raw_kpj = body.get("kpj")
        kpj = clean_kpj(raw_kpj) if isinstance(raw_kpj, str) else None
        if kpj is None:
            return Transient(
                f"the registry accepted {reference} with a KPJ number that does not look like "
                f"one: {raw_kpj!r}"
            )
        raw_code = body.get("payment_code")
        payment_code = clean_payment_code(raw_code) if isinstance(raw_code, str) else None
        if raw_code and payment_code is None:
            log.warning("registry accepted %s with an unreadable payment code", reference)
        return Accepted(kpj=kpj, payment_code=payment_code)
    if status == "rejected":
        code = body.get("reason_code")
        reason = rejection_reason(code) if isinstance(code, str) else RejectionReason.OTHER
        return Rejected(reason, _text(body.get("reason")))
    if status == "pending":
        request_id = body.get("request_id")
        return Waiting(request_id if isinstance(request_id, str) and request_id else reference)
    return Transient(f"the registry answered {reference} with an unknown status {status!r}")


def _outcome(reply: RegistryReply) -> str:
    """A log line's worth of a reply: its kind and code, never the registry's free text
    (it might quote the resident's name)."""
    if isinstance(reply, Accepted):
        return "accepted"
    if isinstance(reply, Rejected):
        return f"rejected ({reply.reason.value})"
    if isinstance(reply, Waiting):
        return "pending"
    return f"transient ({reply.detail})"
