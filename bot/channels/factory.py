"""Builds the channel parts from settings, once, for the gateway, the Telegram poller and
the reminder workers alike."""

from __future__ import annotations

from bot.channels.outbound import ChannelLimits, ChannelSender, Outbox, Pace
from bot.domain.senders import Channel
from bot.infra.settings import Settings
from bot.infra.shared_state import RateLimiter, make_rate_limiter
from bot.services.channel_log import ChannelLog

#: Replies come in short bursts (an answer plus a question); allow a few at once per chat.
PER_CHAT_BURST = 3


def _bulk(rate: float, share: float) -> Pace | None:
    """Reminders' pace: their share of the channel's rate; none at all (one limiter round
    trip fewer per reminder) when they may take the whole of it."""
    return Pace(rate * share) if share < 1 else None


def channel_limits(settings: Settings) -> dict[Channel, ChannelLimits]:
    share = settings.reminder_share_of_send_rate
    telegram = settings.telegram_messages_per_second
    whatsapp = settings.whatsapp_messages_per_second
    return {
        # Overall paces have no burst: the platform limit holds in every second.
        Channel.TELEGRAM: ChannelLimits(
            overall=Pace(telegram),
            per_recipient=Pace(settings.telegram_messages_per_chat_per_second, PER_CHAT_BURST),
            bulk=_bulk(telegram, share),
        ),
        Channel.WHATSAPP: ChannelLimits(overall=Pace(whatsapp), bulk=_bulk(whatsapp, share)),
    }


def build_outbox(
    settings: Settings, channel_log: ChannelLog | None, limiter: RateLimiter | None = None
) -> Outbox:
    """An outbox for every channel that has credentials in the settings."""
    senders: dict[Channel, ChannelSender] = {}
    if settings.telegram_bot_token is not None:
        from bot.channels.telegram import TelegramSender

        senders[Channel.TELEGRAM] = TelegramSender(
            settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url
        )
    if settings.twilio_configured:
        from bot.channels.whatsapp import STATUS_CALLBACK_PATH, TwilioWhatsAppSender

        assert settings.twilio_account_sid and settings.twilio_auth_token
        callback = (
            settings.public_base_url.rstrip("/") + STATUS_CALLBACK_PATH
            if settings.public_base_url
            else None
        )
        senders[Channel.WHATSAPP] = TwilioWhatsAppSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_whatsapp_from or "",
            api_base_url=settings.twilio_api_base_url,
            status_callback_url=callback,
        )
    return Outbox(
        senders,
        limiter or make_rate_limiter(settings.redis_url),
        channel_limits(settings),
        channel_log,
    )
