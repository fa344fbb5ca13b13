"""Messaging-platform rules that decide what may be sent and how delivery reports combine.

WhatsApp Business: a business may send free-form messages only within 24 hours of the
user's last message (the customer-service window); after that only an approved template.
Telegram has no such window. Sources: ../shared/domain.md (messaging-platform rules)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.senders import Channel

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)


def window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether the customer-service window opened by the user's last message still runs."""
    return last_inbound_at is not None and now - last_inbound_at < CUSTOMER_SERVICE_WINDOW


def template_required(channel: Channel, last_inbound_at: datetime | None, now: datetime) -> bool:
    """A business-initiated WhatsApp message outside the window must be a template."""
    return channel is Channel.WHATSAPP and not window_open(last_inbound_at, now)


#: Delivery states in the order they happen; a late "sent" report never undoes "read".
#: Twilio reports these; Telegram's Bot API only confirms acceptance ("sent").
DELIVERY_PROGRESS = ("queued", "sending", "sent", "delivered", "read")
DELIVERY_FAILURES = ("failed", "undelivered")


def next_delivery_status(current: str, reported: str) -> str:
    """Status after a (possibly out-of-order or repeated) delivery report."""
    if reported in DELIVERY_FAILURES:
        return current if current == "read" else reported
    if reported not in DELIVERY_PROGRESS:
        return current
    if current in DELIVERY_FAILURES:
        return current
    if current not in DELIVERY_PROGRESS:
        return reported
    return max(current, reported, key=DELIVERY_PROGRESS.index)


#: Twilio error codes in a delivery report that say this address will not take messages
#: (twilio.com/docs/api/errors): 63003 the number is not (or no longer) on WhatsApp, 63024
#: invalid recipient, 63014 the recipient blocked the sender. Others (63016 a template was
#: needed, 63018 rate limits, …) say nothing about the address. Data, easy to extend.
ADDRESS_GONE_ERRORS = frozenset({"63003", "63014", "63024"})


def address_gone(status: str, error: str | None) -> bool:
    """Whether a delivery report means the address cannot be reached any more."""
    if status not in DELIVERY_FAILURES or not error:
        return False
    return error.split(":", 1)[0].strip() in ADDRESS_GONE_ERRORS
