"""FastAPI application: ``POST /api/chat`` (local web chat), ``GET /`` (chat page),
``POST /webhooks/whatsapp`` (Twilio) and health checks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import AfterValidator, BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import bootstrap, messages
from bot.app_context import AppContext
from bot.channels.web import WebConversations, gateway_says
from bot.channels.whatsapp import (
    TwilioMedia,
    WhatsAppConversations,
    not_me_handler,
    waiting_codes_handler,
)
from bot.conversation import Patience
from bot.domain.clock import Clock
from bot.domain.senders import Channel
from bot.gateway.admin import admin_router
from bot.gateway.payments import payments_router
from bot.gateway.registry import registry_router
from bot.gateway.telegram import telegram_router
from bot.gateway.web_sessions import WebSessions, session_secret
from bot.gateway.whatsapp import whatsapp_router
from bot.infra import metrics
from bot.infra.logs import configure_logging
from bot.infra.privacy import keyed_hash, secrets_match
from bot.infra.settings import Settings, get_settings
from bot.infra.shared_state import RateLimiter, make_rate_limiter
from bot.services.handoff import undelivered_for_web
from bot.services.ktp_photo.image import PhotoLimits
from bot.services.web_sessions import WebSessionBook

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


#: No chat message, webhook or form Sadar accepts is larger; bigger bodies get 413 before
#: they are read into memory.
MAX_BODY_BYTES = 64 * 1024
#: The web chat's KTP photo upload: the page sends at most one byte past the reader's limit,
#: so a larger photo is refused politely by the reader, not by this middleware.
PHOTO_PATH = "/api/chat/photo"
PHOTO_BODY_BYTES = PhotoLimits().max_bytes + 1


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` (declared or streamed) gets 413."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        #: Paths allowed a larger body (a photo upload), and their limit.
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await JSONResponse({"detail": "request body too large"}, 413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await JSONResponse({"detail": "request body too large"}, 413)(scope, receive, send)


class BodyTooLarge(Exception):
    """A streamed body passed the limit."""


def encodable(value: str) -> str:
    """Text that cannot be UTF-8 (a lone surrogate such as "\\ud800") is refused with 422
    here rather than failing later on its way to Rasa or the database."""
    value.encode("utf-8")  # raises UnicodeEncodeError, a ValueError: pydantic answers 422
    return value


class ChatRequest(BaseModel):
    sender: Annotated[str, AfterValidator(encodable)] = Field(
        max_length=128,
        description="Conversation id issued by POST /api/chat/session (signed); a made-up, "
        "altered, ended or idle one gets 422 with session 'invalid'.",
    )
    text: Annotated[str, AfterValidator(encodable)] = Field(max_length=20_000)
    message_id: str | None = Field(
        default=None,
        max_length=64,
        description="Client-chosen id; a retried request with the same id is answered once.",
    )


class ChatStart(BaseModel):
    sender: Annotated[str, AfterValidator(encodable)] = Field(
        max_length=128, description="The issued conversation id, as for /api/chat."
    )


class ChatResponse(BaseModel):
    replies: list[dict]


class BackgroundWork:
    """Work that outlives the webhook request that started it; on shutdown, in-flight
    conversations are given time to finish instead of being cut off."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", exc_info=task.exception())

    async def drain(self, timeout_seconds: float) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout_seconds)


def create_app(
    settings: Settings | None = None,
    *,
    rasa_http: httpx.AsyncClient | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The gateway; ``rasa_http`` and ``clock`` (tests) replace the real ones."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.context = context = AppContext.from_settings(settings, clock)
        # Store, Outbox, relay and router come from the composition root, as in every process.
        wiring = bootstrap.conversations(context, rasa_http=rasa_http)
        app.state.store = store = wiring.store
        app.state.inbound_limiter = inbound_limiter = make_rate_limiter(settings.redis_url)
        app.state.web_sessions = WebSessions(
            session_secret(settings),
            WebSessionBook(
                context.unit_of_work,
                context.hash_key,
                timedelta(minutes=settings.web_session_idle_minutes),
            ),
            context.clock,
        )
        app.state.channel_log = channel_log = context.channel_log
        app.state.outbox = outbox = wiring.outbox
        app.state.relay = wiring.relay
        app.state.router = router = wiring.router
        app.state.web_chat = WebConversations(
            router,
            store,
            app.state.web_sessions.end,
            lambda sender_id: undelivered_for_web(
                context.unit_of_work(), context.cipher, context.hash_key, sender_id
            ),
            settings.rasa_timeout_seconds,
            settings.chat_admission_wait_seconds,
            context.cipher,
        )
        app.state.background = background = BackgroundWork()
        media = twilio_media(settings)
        app.state.whatsapp = (
            WhatsAppConversations(
                router,
                outbox,
                store,
                channel_log,
                not_me_handler(context, outbox),
                waiting_codes_handler(context, outbox),
                media,
                Patience(notice_after=settings.late_notice_seconds),
            )
            if outbox.has_channel(Channel.WHATSAPP)
            else None
        )
        app.state.telegram = None
        if settings.telegram_bot_token and settings.telegram_webhook_secret:
            from bot.channels.telegram import build_application

            app.state.telegram = build_application(settings, router, outbox, channel_log)
            await app.state.telegram.initialize()
            await app.state.telegram.start()
        try:
            yield
        finally:
            if app.state.telegram is not None:
                await app.state.telegram.stop()
                await app.state.telegram.shutdown()
            await background.drain(settings.rasa_timeout_seconds)
            if media is not None:
                await media.aclose()
            await wiring.aclose()
            await inbound_limiter.aclose()
            context.engine.dispose()

    app = FastAPI(title="Sadar gateway", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES, larger={PHOTO_PATH: PHOTO_BODY_BYTES})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        """422 naming what is wrong, without echoing the input (it may not even be text)."""
        problems = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in error.errors()
        ]
        return JSONResponse({"detail": problems}, status_code=422)

    app.state.settings = settings

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        """Counts and durations only (no personal data), yet closed by default: with
        SADAR_METRICS_TOKEN as a bearer token, else only from this machine."""
        if not _may_read_metrics(request, settings):
            return JSONResponse({"detail": "not allowed"}, status_code=403)
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready while at least one Rasa server answers (the others' senders move to it)."""
        up = 0
        async with httpx.AsyncClient(timeout=5) as http:
            for url in settings.rasa_urls:
                with suppress(httpx.HTTPError):
                    up += (await http.get(url.rstrip("/") + "/")).status_code == 200
        body = {
            "rasa": "up" if up else "down",
            "rasa_servers_up": f"{up}/{len(settings.rasa_urls)}",
        }
        return JSONResponse(body, status_code=200 if up else 503)

    @app.post("/api/chat/session")
    async def chat_session(request: Request) -> JSONResponse:
        """A new conversation id for the page (signed; see bot/gateway/web_sessions.py)."""
        refused = await _over_the_limit(request, None, settings, kind="session")
        if refused is not None:
            return refused
        sessions: WebSessions = request.app.state.web_sessions
        return JSONResponse({"session": await sessions.issue()})

    @app.post("/api/chat", response_model=ChatResponse)
    async def chat(body: ChatRequest, request: Request) -> JSONResponse:
        sender_id = await _admitted(request, body.sender, settings)
        if isinstance(sender_id, JSONResponse):
            return sender_id
        web_chat: WebConversations = request.app.state.web_chat
        answer = await web_chat.message(body.sender, sender_id, body.text, body.message_id)
        return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    @app.post(PHOTO_PATH, response_model=ChatResponse)
    async def chat_photo(request: Request) -> JSONResponse:
        """A KTP photo from the page's upload button: the bytes as the body, the conversation
        id in the X-Sadar-Session header (never in the URL, which access logs keep)."""
        sender_id = await _admitted(request, request.headers.get("x-sadar-session", ""), settings)
        if isinstance(sender_id, JSONResponse):
            return sender_id
        answer = await request.app.state.web_chat.photo(sender_id, await request.body())
        return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    @app.post("/api/chat/start", response_model=ChatResponse)
    async def chat_start(body: ChatStart, request: Request) -> JSONResponse:
        """The page opened (bot/channels/web.py, WebConversations.start)."""
        sender_id = await _admitted(request, body.sender, settings)
        if isinstance(sender_id, JSONResponse):
            return sender_id
        answer = await request.app.state.web_chat.start(sender_id)
        return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    @app.post("/api/chat/news", response_model=ChatResponse)
    async def chat_news(body: ChatStart, request: Request) -> JSONResponse:
        """What an agent answered a web resident since the page last asked. Limited on its
        own (per conversation and client address), and it does not keep the conversation
        alive: only the resident's messages do."""
        sender_id = await _admitted(request, body.sender, settings, news=True)
        if isinstance(sender_id, JSONResponse):
            return sender_id
        answer = await request.app.state.web_chat.news(sender_id)
        return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    app.include_router(whatsapp_router(settings))
    app.include_router(payments_router(settings))
    app.include_router(registry_router(settings))
    app.include_router(admin_router(settings))
    app.include_router(telegram_router(settings))
    return app


def twilio_media(settings: Settings) -> TwilioMedia | None:
    """Inbound WhatsApp media, when the Twilio account is configured: KTP photos are fetched
    from it, and every inbound media is deleted from Twilio, photos read or not."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return None
    return TwilioMedia(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        settings.twilio_api_base_url,
        PhotoLimits().max_bytes,
    )


def _may_read_metrics(request: Request, settings: Settings) -> bool:
    if settings.metrics_token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = settings.metrics_token.get_secret_value()
        return scheme.lower() == "bearer" and secrets_match(given, expected)
    host = request.client.host if request.client else ""
    return host in LOOPBACK_HOSTS


def _said(text: str, status_code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """One reply from the gateway itself (Rasa busy, too many messages), as the chat shows it."""
    return JSONResponse(gateway_says(text), status_code=status_code, headers=headers)


async def _admitted(
    request: Request, raw_sender: str, settings: Settings, *, news: bool = False
) -> str | JSONResponse:
    """The web sender id of a signed, live session, or the answer for anything else (422,
    and the page asks for a new id) or a sender over its limit (429). ``news``: a poll,
    which neither keeps the session alive nor counts against the message limits."""
    sessions: WebSessions = request.app.state.web_sessions
    sender_id = await sessions.admit(raw_sender, touch=not news)
    if sender_id is None:
        return JSONResponse(
            {"detail": "conversation id not valid; ask POST /api/chat/session for a new one",
             "session": "invalid"},
            status_code=422,
        )  # fmt: skip
    refused = await _over_the_limit(request, sender_id, settings, kind="news" if news else "chat")
    return sender_id if refused is None else refused


async def _over_the_limit(
    request: Request, sender_id: str | None, settings: Settings, *, kind: str = "chat"
) -> JSONResponse | None:
    """429 when this conversation, or this client address, sends faster than a person
    would (e.g. someone trying NIKs one after another); shared through Redis. Each
    ``kind`` has its own windows: "chat" messages, "news" polls, and "session": new ids
    (``sender_id`` None), counted per address so that rotating ids gains nothing."""
    limiter: RateLimiter = request.app.state.inbound_limiter
    context: AppContext = request.app.state.context
    address = request.client.host if request.client else "unknown"
    news = kind == "news"
    per_sender = (
        settings.chat_news_polls_per_minute
        if news
        else settings.chat_messages_per_minute_per_sender
    )
    per_address = (
        10 * settings.chat_news_polls_per_minute
        if news
        else settings.chat_messages_per_minute_per_address
    )
    windows = [(f"{kind}:address:{keyed_hash(context.hash_key, address)}", per_address)]
    if sender_id is not None:
        windows.insert(0, (f"{kind}:sender:{keyed_hash(context.hash_key, sender_id)}", per_sender))
    for key, limit in windows:
        wait = await limiter.window_wait(key, limit, 60)
        if wait > 0:
            log.warning("web chat over its limit (%s)", key.split(":")[1])
            return _said(messages.TOO_MANY_MESSAGES, 429, {"Retry-After": str(max(1, round(wait)))})
    return None
