"""Telegram through python-telegram-bot: text, button presses (callback queries),
/start deep links and polite replies to anything that is not text."""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import messages
from bot.conversation import BotReply, ConversationRouter, RasaClient, RasaUnavailable
from bot.domain.senders import Channel, make_sender_id
from bot.privacy import mask_sender
from bot.settings import Settings

log = logging.getLogger(__name__)

#: Telegram refuses callback_data longer than 64 bytes.
MAX_CALLBACK_DATA_BYTES = 64
GREET_PAYLOAD = "/greet"


def reply_markups(
    replies: list[BotReply],
) -> list[InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None]:
    """One markup per text reply: inline buttons, or on the last text a one-tap
    "share my number" keyboard when a reply asks for the contact."""
    contact_title = next((r.request_contact for r in replies if r.request_contact), None)
    texts = [r for r in replies if r.text]
    markups: list[InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None] = [
        inline_keyboard(r) for r in texts
    ]
    if texts and contact_title and markups[-1] is None:
        markups[-1] = ReplyKeyboardMarkup(
            [[KeyboardButton(contact_title, request_contact=True)]],
            one_time_keyboard=True,
            resize_keyboard=True,
        )
    return markups


def inline_keyboard(reply: BotReply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = []
    for button in reply.buttons:
        data = button.payload
        if len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
            data = button.title[:MAX_CALLBACK_DATA_BYTES]
        rows.append([InlineKeyboardButton(button.title, callback_data=data)])
    return InlineKeyboardMarkup(rows)


class TelegramAdapter:
    def __init__(self, router: ConversationRouter):
        self._router = router

    async def _converse(
        self,
        chat_id: int,
        text: str,
        context: ContextTypes.DEFAULT_TYPE,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        sender_id = make_sender_id(Channel.TELEGRAM, str(chat_id))
        try:
            replies = await self._router.handle(sender_id, text, metadata)
        except RasaUnavailable as error:
            log.error("Telegram message from %s not processed: %s", mask_sender(sender_id), error)
            replies = [BotReply(text=messages.RASA_UNAVAILABLE)]
        texts = [r for r in replies if r.text]
        for reply, markup in zip(texts, reply_markups(replies), strict=True):
            await context.bot.send_message(chat_id=chat_id, text=reply.text, reply_markup=markup)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None or update.effective_chat is None:
            return
        await self._converse(update.effective_chat.id, message.text, context)

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/start <code>` from a t.me deep link: the code (e.g. an agent's referral) is kept."""
        if update.effective_chat is None:
            return
        metadata = {"start_parameter": context.args[0]} if context.args else None
        await self._converse(update.effective_chat.id, GREET_PAYLOAD, context, metadata)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.message is None:
            return
        await query.answer()
        await self._converse(query.message.chat.id, query.data or "", context)

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact answers the phone question, but only the sender's own number."""
        message, user = update.effective_message, update.effective_user
        if message is None or message.contact is None or update.effective_chat is None:
            return
        if user is None or message.contact.user_id != user.id:
            await context.bot.send_message(
                chat_id=update.effective_chat.id, text=messages.NOT_OWN_CONTACT
            )
            return
        number = message.contact.phone_number
        await self._converse(
            update.effective_chat.id, number if number.startswith("+") else f"+{number}", context
        )

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await context.bot.send_message(
                chat_id=update.effective_chat.id, text=messages.NON_TEXT_MESSAGE
            )


def build_application(settings: Settings, router: ConversationRouter) -> Application:
    if settings.telegram_bot_token is None:
        raise ValueError("SADAR_TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather first.")
    adapter = TelegramAdapter(router)
    application = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        # Honours Telegram's flood limits and retries after HTTP 429 `retry_after`.
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(CommandHandler("start", adapter.on_start))
    application.add_handler(CallbackQueryHandler(adapter.on_button))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, adapter.on_text))
    application.add_handler(MessageHandler(filters.CONTACT, adapter.on_contact))
    application.add_handler(
        MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, adapter.on_other)
    )
    return application


def run_polling(settings: Settings) -> None:
    router = ConversationRouter(RasaClient(settings.rasa_url, settings.rasa_timeout_seconds))
    application = build_application(settings, router)
    log.info("Telegram polling started")
    application.run_polling(allowed_updates=Update.ALL_TYPES)
