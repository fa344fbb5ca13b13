"""Telegram through python-telegram-bot: text, button presses (callback queries),
/start deep links and polite replies to anything that is not text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from bot import messages
from bot.channels.outbound import (
    Accepted,
    Outbox,
    PermanentSendError,
    TransientSendError,
    UncertainSendError,
)
from bot.conversation import ConversationRouter, Deliver, Patience, RasaUnavailable
from bot.domain.addresses import SHARED_CONTACT_METADATA
from bot.domain.replies import BotReply
from bot.domain.senders import Channel, make_sender_id
from bot.infra.privacy import mask_sender
from bot.infra.settings import Settings
from bot.services.channel_log import ChannelLog, record_inbound_safely
from bot.understanding.handoff_messages import as_ticket_answer

log = logging.getLogger(__name__)
#: httpx logs every request URL at INFO, and Bot API URLs carry the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)

#: Telegram refuses callback_data longer than 64 bytes.
MAX_CALLBACK_DATA_BYTES = 64
GREET_PAYLOAD = "/greet"


def reply_markup(
    reply: BotReply,
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """Inline buttons, or a one-tap "share my number" keyboard when the reply asks for it."""
    if reply.buttons:
        rows = []
        for button in reply.buttons:
            data = button.payload
            if len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
                data = button.title[:MAX_CALLBACK_DATA_BYTES]
            rows.append([InlineKeyboardButton(button.title, callback_data=data)])
        return InlineKeyboardMarkup(rows)
    if reply.request_contact:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(reply.request_contact, request_contact=True)]],
            one_time_keyboard=True,
            resize_keyboard=True,
        )
    return None


class TelegramSender:
    """Sends through the Bot API with python-telegram-bot's rate limiter, which also waits
    out HTTP 429 ``retry_after``."""

    channel = Channel.TELEGRAM

    def __init__(self, token: str, base_url: str):
        self._bot = ExtBot(token, base_url=base_url, rate_limiter=AIORateLimiter(max_retries=3))
        self._ready = asyncio.Lock()
        self._initialized = False

    async def deliver(self, address: str, message: BotReply) -> list[Accepted]:
        async with self._ready:
            if not self._initialized:
                await self._bot.initialize()
                self._initialized = True
        try:
            await self._bot.send_message(
                chat_id=int(address), text=message.text or "", reply_markup=reply_markup(message)
            )
        except (Forbidden, BadRequest, InvalidToken) as error:
            raise PermanentSendError(f"Telegram refused: {error}") from error
        except TimedOut as error:
            # python-telegram-bot does not say whether the request reached Telegram.
            raise UncertainSendError(f"Telegram did not answer in time: {error}") from error
        except (NetworkError, RetryAfter) as error:
            raise TransientSendError(f"Telegram: {error!r}") from error
        # Telegram message ids are unique per chat only and there are no delivery reports.
        return [Accepted(None, "sent")]

    async def aclose(self) -> None:
        if self._initialized:
            await self._bot.shutdown()


class TelegramAdapter:
    def __init__(
        self,
        router: ConversationRouter,
        outbox: Outbox,
        channel_log: ChannelLog | None,
        patience: Patience | None = None,
    ):
        self._router = router
        self._outbox = outbox
        self._channel_log = channel_log
        # Never dropped: a message waits its turn at Rasa, with one "mohon tunggu".
        self._patience = patience or Patience()

    async def _reply(self, chat_id: int, text: str) -> None:
        sender_id = make_sender_id(Channel.TELEGRAM, str(chat_id))
        await self._outbox.send(sender_id, BotReply(text=text))

    async def _converse(
        self,
        chat_id: int,
        text: str,
        metadata: dict[str, Any] | None = None,
        acknowledge: Callable[[], Awaitable[object]] | None = None,
        trusted: bool = False,
    ) -> None:
        """Updates are handled concurrently; the sender's turn, taken before the first
        ``await``, keeps one chat's messages whole and in order."""
        sender_id = make_sender_id(Channel.TELEGRAM, str(chat_id))
        deliver = self._outbox.deliverer(sender_id)
        async with self._router.turn(sender_id, deliver=deliver, patience=self._patience):
            if acknowledge is not None:
                await acknowledge()
            await self._converse_in_turn(chat_id, sender_id, text, metadata, trusted, deliver)

    async def _converse_in_turn(
        self,
        chat_id: int,
        sender_id: str,
        text: str,
        metadata: dict[str, Any] | None,
        trusted: bool,
        deliver: Deliver,
    ) -> None:
        await record_inbound_safely(self._channel_log, sender_id)
        try:
            await self._router.converse(
                sender_id, text, metadata, deliver=deliver, trusted=trusted, patience=self._patience
            )
        except RasaUnavailable as error:
            log.error("Telegram message from %s not processed: %s", mask_sender(sender_id), error)
            await self._reply(chat_id, messages.RASA_UNAVAILABLE)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None or update.effective_chat is None:
            return
        text = message.text
        quoted = message.reply_to_message
        if quoted is not None and quoted.text and quoted.from_user and quoted.from_user.is_bot:
            # An agent answering a forwarded question with Telegram's "reply" is answering
            # its ticket, as if they had typed "balas T-1042 …".
            text = as_ticket_answer(quoted.text, text)
        await self._converse(update.effective_chat.id, text)

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/start <code>` from a t.me deep link: the code (e.g. an agent's referral) is kept."""
        if update.effective_chat is None:
            return
        metadata = {"start_parameter": context.args[0]} if context.args else None
        await self._converse(update.effective_chat.id, GREET_PAYLOAD, metadata, trusted=True)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.message is None:
            return
        # Answered within the turn, so that a press and a message just before it keep order.
        await self._converse(query.message.chat.id, query.data or "", acknowledge=query.answer)

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact answers the phone question, but only the sender's own number."""
        message, user = update.effective_message, update.effective_user
        if message is None or message.contact is None or update.effective_chat is None:
            return
        if user is None or message.contact.user_id != user.id:
            await self._reply(update.effective_chat.id, messages.NOT_OWN_CONTACT)
            return
        number = message.contact.phone_number
        number = number if number.startswith("+") else f"+{number}"
        # Telegram verified this number: the registration may count it as proven.
        await self._converse(update.effective_chat.id, number, {SHARED_CONTACT_METADATA: number})

    async def on_photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo (its largest size) or a file: perhaps a KTP. Fetched with getFile only if
        Rasa says the form may take it now (bot/conversation.py, ConversationRouter.photo)."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        attachment = message.photo[-1] if message.photo else message.document
        if attachment is None:
            return
        sender_id = make_sender_id(Channel.TELEGRAM, str(chat.id))

        async def fetch() -> bytes | None:
            try:
                file = await attachment.get_file()
                return bytes(await file.download_as_bytearray())
            except TelegramError as error:  # too big for getFile (20 MB), gone, network
                log.warning("Telegram photo not fetched: %r", error)
                return None

        deliver = self._outbox.deliverer(sender_id)
        async with self._router.turn(sender_id, deliver=deliver, patience=self._patience):
            await record_inbound_safely(self._channel_log, sender_id)
            try:
                await self._router.photo(sender_id, fetch, deliver, patience=self._patience)
            except RasaUnavailable as error:
                log.error("Telegram photo from %s not processed: %s", mask_sender(sender_id), error)
                await self._reply(chat.id, messages.RASA_UNAVAILABLE)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await self._reply(update.effective_chat.id, messages.NON_TEXT_MESSAGE)


def file_base_url(api_base_url: str) -> str:
    """Where the Bot API serves files for getFile's file_path: "…/bot" -> "…/file/bot"."""
    origin, found, _ = api_base_url.rstrip("/").rpartition("/bot")
    return f"{origin}/file/bot" if found else f"{api_base_url.rstrip('/')}/file/bot"


def build_application(
    settings: Settings,
    router: ConversationRouter,
    outbox: Outbox,
    channel_log: ChannelLog | None = None,
) -> Application:
    """Receives updates (webhook or polling); replies go out through ``outbox``."""
    if settings.telegram_bot_token is None:
        raise ValueError("SADAR_TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather first.")
    adapter = TelegramAdapter(
        router, outbox, channel_log, Patience(notice_after=settings.late_notice_seconds)
    )
    application = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_base_url(settings.telegram_api_base_url))
        # Honours Telegram's flood limits and retries after HTTP 429 `retry_after`.
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(CommandHandler("start", adapter.on_start))
    application.add_handler(CallbackQueryHandler(adapter.on_button))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, adapter.on_text))
    application.add_handler(MessageHandler(filters.CONTACT, adapter.on_contact))
    if settings.ktp_photos:
        application.add_handler(
            MessageHandler(filters.PHOTO | filters.Document.IMAGE, adapter.on_photo)
        )
    application.add_handler(
        MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, adapter.on_other)
    )
    return application
