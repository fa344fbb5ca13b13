"""A local stand-in for Twilio's Messages REST API
(https://www.twilio.com/docs/messaging/api/message-resource): it checks HTTP basic auth,
answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with the JSON Twilio returns,
records every message, can fail on demand (5xx, 429, 4xx), and posts signed status
callbacks to the ``StatusCallback`` URL the way Twilio does."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.support.services import free_port, serve_in_thread

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "twilio-auth-token-for-tests"
WHATSAPP_FROM = "whatsapp:+14155238886"


def twilio_signature(url: str, params: dict[str, str], auth_token: str = AUTH_TOKEN) -> str:
    return RequestValidator(auth_token).compute_signature(url, params)


def signed_form(url: str, form: dict[str, str], auth_token: str = AUTH_TOKEN) -> dict[str, Any]:
    """Keyword arguments of an HTTP post of ``form`` to ``url`` as Twilio sends it:
    url-encoded, with a valid X-Twilio-Signature."""
    return {
        "content": urlencode(form),
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(url, form, auth_token),
        },
    }


def inbound_form(sender: str, body: str = "", **extra: str) -> dict[str, str]:
    """The form Twilio posts for an inbound WhatsApp message (fields Sadar may read)."""
    sid = "SM" + secrets.token_hex(16)
    return {
        "SmsMessageSid": sid,
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "MessagingServiceSid": "",
        "From": f"whatsapp:{sender}",
        "To": WHATSAPP_FROM,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ProfileName": "Warga",
        "WaId": sender.lstrip("+"),
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        **extra,
    }


@dataclass
class FakeTwilio:
    port: int
    messages: list[dict[str, str]] = field(default_factory=list)
    #: HTTP statuses to answer the next requests with, in order, instead of accepting.
    failures: list[int] = field(default_factory=list)
    requests: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to(self, number: str) -> list[dict[str, str]]:
        return [m for m in self.messages if m["To"] == f"whatsapp:{number}"]

    def bodies(self, number: str) -> list[str]:
        return [m.get("Body", "") for m in self.to(number)]

    def last_code(self, number: str) -> str:
        """The one-time code of the last message to ``number``: an approved template's
        variable 1, or the six digits of a text sent inside WhatsApp's window."""
        sent = self.to(number)
        assert sent, f"no message to {number}"
        message = sent[-1]
        if "ContentVariables" in message:
            return str(json.loads(message["ContentVariables"])["1"])
        found = re.search(r"\b\d{6}\b", message.get("Body", ""))
        assert found, message
        return found.group(0)

    def wait_for(self, number: str, count: int, timeout: float = 30) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.to(number)) >= count:
                return self.to(number)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages to {number}, got {self.bodies(number)!r}")

    def report_status(
        self,
        message: dict[str, str],
        status: str,
        error_code: str = "",
        post: Callable[..., httpx.Response] = httpx.post,
    ) -> int:
        """Post a status callback for one sent message, signed as Twilio signs it
        (``post``: an httpx-style client's post, e.g. a TestClient's)."""
        form = {
            "MessageSid": message["sid"],
            "SmsSid": message["sid"],
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": ACCOUNT_SID,
            "From": message["From"],
            "To": message["To"],
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            form["ErrorCode"] = error_code
        url = message["StatusCallback"]
        return post(url, **signed_form(url, form)).status_code


def _app(fake: FakeTwilio) -> Starlette:
    expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()

    async def create_message(request: Request) -> JSONResponse:
        fake.requests += 1
        if request.headers.get("authorization") != expected_auth:
            return JSONResponse(
                {"code": 20003, "message": "Authenticate", "status": 401}, status_code=401
            )
        if fake.failures:
            status = fake.failures.pop(0)
            return JSONResponse(
                {
                    "code": 20429 if status == 429 else 20500,
                    "message": "fake failure",
                    "more_info": "https://www.twilio.com/docs/errors",
                    "status": status,
                },
                status_code=status,
            )
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if not form.get("To", "").startswith("whatsapp:+"):
            return JSONResponse(
                {
                    "code": 21211,
                    "message": f"The 'To' number {form.get('To')} is not valid.",
                    "more_info": "https://www.twilio.com/docs/errors/21211",
                    "status": 400,
                },
                status_code=400,
            )
        sid = "SM" + secrets.token_hex(16)
        fake.messages.append({**form, "sid": sid})
        now = formatdate(usegmt=True)
        account = request.path_params["account"]
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": account,
                "to": form["To"],
                "from": form.get("From"),
                "body": form.get("Body", ""),
                "status": "queued",
                "direction": "outbound-api",
                "num_segments": "1",
                "num_media": "0",
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "price": None,
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            },
            status_code=201,
        )

    return Starlette(
        routes=[
            Route("/2010-04-01/Accounts/{account}/Messages.json", create_message, methods=["POST"])
        ]
    )


@contextmanager
def running_fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(port=free_port())
    with serve_in_thread(_app(fake), fake.port):
        yield fake
