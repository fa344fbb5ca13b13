"""A local stand-in for Twilio's Messages REST API
(https://www.twilio.com/docs/messaging/api/message-resource): it checks HTTP basic auth,
answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with the JSON Twilio returns,
records every message, can fail on demand (5xx, 429, 4xx), and posts signed status
callbacks to the ``StatusCallback`` URL the way Twilio does. It also holds the media of
inbound messages as Twilio does: ``GET …/Messages/{sid}/Media/{sid}`` (basic auth)
redirects to short-lived storage that serves the bytes, and ``DELETE …/Media/{sid}.json``
removes them (recorded, to prove Sadar deleted its copy)."""

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
from starlette.responses import JSONResponse, Response
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
    #: Inbound media held for the account: media sid -> (content type, bytes).
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: Media sids deleted through the REST API, in order.
    deleted_media: list[str] = field(default_factory=list)
    #: Media sids fetched (through the redirect to storage), in order.
    fetched_media: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inbound_media(self, data: bytes, content_type: str = "image/jpeg") -> dict[str, str]:
        """Hold ``data`` as the media of a new inbound message: the webhook form's fields
        (MessageSid, NumMedia, MediaUrl0, MediaContentType0) that announce it."""
        message_sid = "MM" + secrets.token_hex(16)
        media_sid = "ME" + secrets.token_hex(16)
        self.media[media_sid] = (content_type, data)
        account = f"{self.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}"
        url = f"{account}/Messages/{message_sid}/Media/{media_sid}"
        return {
            "MessageSid": message_sid,
            "SmsMessageSid": message_sid,
            "SmsSid": message_sid,
            "NumMedia": "1",
            "MediaUrl0": url,
            "MediaContentType0": content_type,
        }

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

    storage: dict[str, str] = {}  # one-time storage token -> media sid

    async def media(request: Request) -> Response:
        if request.headers.get("authorization") != expected_auth:
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        media_sid = request.path_params["media"].removesuffix(".json")
        if media_sid not in fake.media:
            return JSONResponse({"code": 20404, "message": "not found", "status": 404}, 404)
        if request.method == "DELETE":
            del fake.media[media_sid]
            fake.deleted_media.append(media_sid)
            return Response(status_code=204)
        token = secrets.token_urlsafe(16)
        storage[token] = media_sid
        # Twilio's storage is another origin: "localhost" is one, seen from 127.0.0.1.
        storage_url = f"http://localhost:{fake.port}/media-storage/{token}"
        return Response(status_code=307, headers={"Location": storage_url})

    async def stored(request: Request) -> Response:
        if request.headers.get("authorization"):  # the account's credentials go to Twilio only
            return Response("credentials sent to storage", status_code=400)
        media_sid = storage.pop(request.path_params["token"], None)
        if media_sid is None or media_sid not in fake.media:
            return Response(status_code=404)
        fake.fetched_media.append(media_sid)
        content_type, data = fake.media[media_sid]
        return Response(data, media_type=content_type)

    return Starlette(
        routes=[
            Route("/2010-04-01/Accounts/{account}/Messages.json", create_message, methods=["POST"]),
            Route(
                "/2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}",
                media,
                methods=["GET", "DELETE"],
            ),
            Route("/media-storage/{token}", stored, methods=["GET"]),
        ]
    )


@contextmanager
def running_fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(port=free_port())
    with serve_in_thread(_app(fake), fake.port):
        yield fake
