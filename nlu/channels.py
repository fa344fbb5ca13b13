"""The one input channel of Sadar's Rasa server: Rasa's REST channel behind a shared secret.

Rasa's own ``rest`` channel takes a message from any process that can reach Rasa, as any
sender. This channel (credentials.yml: ``nlu.channels.SadarInput``, served at
``/webhooks/sadar/webhook``) answers 401 unless the call carries the gateway's token,
SADAR_RASA_CHANNEL_TOKEN from the environment, as ``Authorization: Bearer <token>``,
compared in constant time. Without a configured token it refuses every call.
Loaded by Rasa (Python 3.10): Rasa, Sanic and the standard-library bot/infra/privacy.py."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.infra.privacy import secrets_match

log = logging.getLogger(__name__)

TOKEN_VARIABLE = "SADAR_RASA_CHANNEL_TOKEN"
CHANNEL_NAME = "sadar"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def token_accepted(presented: str | None, expected: str | None) -> bool:
    """Constant-time check; nothing is accepted while no token is configured."""
    return bool(presented and expected) and secrets_match(str(presented), str(expected))


class SadarInput(RestInput):
    """Rasa's REST channel (same body, same answer) that first checks the gateway's token."""

    def __init__(self, token: str | None) -> None:
        self._token = token or None
        if self._token is None:
            log.error("%s is not set: the Sadar channel refuses every message", TOKEN_VARIABLE)

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # The secret comes from the environment, never from credentials.yml (kept in git).
        return cls(os.environ.get(TOKEN_VARIABLE, "").strip() or None)

    def _extract_input_channel(self, req: Request) -> str:
        # The channel name is ours; a caller cannot claim to be another connector.
        return self.name()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def require_token(request: Request) -> response.HTTPResponse | None:
            presented = bearer_token(request.headers.get("Authorization"))
            if not token_accepted(presented, self._token):
                return response.json({"error": "unauthorized"}, status=401)
            return None

        return blueprint
