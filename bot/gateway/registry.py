"""``POST /webhooks/registry``: the partner API tells Sadar its answer about a registration
it took earlier (docs/registry_api.md). Signed like Sadar's own calls, with the registry's
consumer id and key; a timestamp outside the window is refused, and so is a signature seen
before (remembered in the shared store: Redis when several gateways run)."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.app_context import AppContext
from bot.domain.submissions import Accepted, InvalidMove, Rejected
from bot.infra.settings import Settings
from bot.infra.shared_state import SharedStore
from bot.services.registry.api_client import reply_from_json
from bot.services.registry.signing import (
    SIGNATURE_HEADER,
    SignatureCheck,
    replay_ttl,
    verify,
)
from bot.services.registry.submissions import UnknownReference, record_callback
from nlu.parsing.identifiers import REFERENCE

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/registry"


def registry_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.post(WEBHOOK_PATH)
    async def registry_callback(request: Request) -> JSONResponse:
        consumer_id = settings.registry_callback_consumer_id
        secret = settings.registry_callback_secret
        if not consumer_id or secret is None:
            log.error(
                "registry callback received but SADAR_REGISTRY_CALLBACK_CONSUMER_ID / "
                "_SECRET are not set"
            )
            return JSONResponse({"error": "registry callbacks not configured"}, status_code=503)
        body = await request.body()
        # The registry checks against its real clock, so does Sadar (not the app clock).
        check = verify(
            request.headers, body, consumer_id, secret.get_secret_value(), int(time.time())
        )
        if check is not SignatureCheck.OK:
            log.warning("refused a registry callback: %s", check.value)
            return JSONResponse({"error": check.value}, status_code=401)
        store: SharedStore = request.app.state.store
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not await store.claim(f"registry-callback:{signature}", replay_ttl()):
            log.warning("refused a replayed registry callback")
            return JSONResponse({"error": SignatureCheck.REPLAYED.value}, status_code=409)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        reference = payload.get("reference") if isinstance(payload, dict) else None
        if not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
            return JSONResponse({"error": "a JSON object with a Sadar reference"}, 422)
        assert isinstance(payload, dict)
        answer = reply_from_json(payload, reference)
        if not isinstance(answer, Accepted | Rejected):
            # "pending" or an answer Sadar cannot read (a garbled KPJ number): nothing to
            # record; the registry will call again, or polling will ask.
            return JSONResponse({"reference": reference, "recorded": False}, status_code=202)
        context: AppContext = request.app.state.context
        try:
            outcome = await asyncio.to_thread(
                record_callback,
                context.unit_of_work(),
                context.cipher,
                reference,
                answer,
                context.clock.now(),
            )
        except UnknownReference:
            return JSONResponse({"error": "unknown reference"}, status_code=404)
        except InvalidMove as error:  # a contradicting answer, or one for a cancelled row
            log.warning("registry callback not applied: %s", error)
            return JSONResponse({"error": "contradicts the recorded state"}, status_code=409)
        return JSONResponse({"reference": reference, "recorded": outcome}, status_code=200)

    return router
