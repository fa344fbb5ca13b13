"""``POST /webhooks/payments``: a payment provider tells Sadar a contribution was paid.

The real aggregator is not chosen yet, so this is a documented generic schema
(docs/payments.md). The body is signed: ``X-Sadar-Timestamp`` (Unix seconds) and
``X-Sadar-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with
SADAR_PAYMENT_WEBHOOK_SECRET>``. Old timestamps are refused, and the provider's own
reference makes a repeated notification harmless."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from bot.app_context import AppContext
from bot.infra.privacy import secrets_match
from bot.infra.settings import Settings
from bot.services.participants import participant_id_by
from bot.services.payments import PaymentRejected, PaymentSource, record_payment

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/payments"
SIGNATURE_HEADER = "X-Sadar-Signature"
TIMESTAMP_HEADER = "X-Sadar-Timestamp"
#: A signed notification older (or newer) than this is refused as a possible replay.
MAX_CLOCK_SKEW_SECONDS = 300


class PaymentNotification(BaseModel):
    provider_reference: str = Field(min_length=1, max_length=100)
    participant_reference: str | None = Field(default=None, description="Sadar's SDR-XXXX-XXXX")
    nik: str | None = Field(default=None, pattern=r"^\d{16}$")
    amount: int = Field(gt=0, description="rupiah")
    months: int | None = Field(default=None, ge=1, le=12)
    paid_at: datetime | None = None


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def payments_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.post(WEBHOOK_PATH)
    async def payment_notification(request: Request) -> JSONResponse:
        if settings.payment_webhook_secret is None:
            log.error("payment webhook called but SADAR_PAYMENT_WEBHOOK_SECRET is not set")
            return JSONResponse({"error": "payment webhook not configured"}, status_code=503)
        body = await request.body()
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        given = request.headers.get(SIGNATURE_HEADER, "")
        expected = signature_for(
            settings.payment_webhook_secret.get_secret_value(), timestamp, body
        )
        if not secrets_match(given, expected):
            log.warning("rejected a payment notification with a bad signature")
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        context: AppContext = request.app.state.context
        now = context.clock.now()
        skew = abs(now.timestamp() - int(timestamp)) if timestamp.isdigit() else None
        if skew is None or skew > MAX_CLOCK_SKEW_SECONDS:
            log.warning("rejected a payment notification with a stale timestamp")
            return JSONResponse({"error": "timestamp too old or too new"}, status_code=401)
        try:
            note = PaymentNotification.model_validate_json(body)
        except ValidationError as error:
            return JSONResponse({"error": error.errors(include_url=False)}, status_code=422)
        if not (note.participant_reference or note.nik):
            return JSONResponse({"error": "give participant_reference or nik"}, status_code=422)
        participant_id = await asyncio.to_thread(
            participant_id_by,
            context.unit_of_work(),
            context.hash_key,
            reference=note.participant_reference,
            nik=note.nik,
        )
        if participant_id is None:
            return JSONResponse({"error": "unknown participant"}, status_code=404)
        try:
            result = await asyncio.to_thread(
                record_payment,
                context.unit_of_work(),
                participant_id,
                source=PaymentSource.PROVIDER,
                recorded_by="provider",
                months=note.months,
                amount=note.amount,
                provider_reference=note.provider_reference,
                paid_at=note.paid_at,
                now=now,
            )
        except PaymentRejected as error:
            return JSONResponse({"error": str(error)}, status_code=422)
        return JSONResponse(
            {
                "receipt": result.receipt,
                "participant_reference": result.participant_reference,
                "months": result.months,
                "period_from": result.period_from.isoformat() if result.period_from else None,
                "period_to": result.period_to.isoformat() if result.period_to else None,
                "duplicate": result.duplicate,
            },
            status_code=200 if result.duplicate else 201,
        )

    return router
