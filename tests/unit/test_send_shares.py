"""Reminders use at most their share of a channel's sending rate (issue 31, bench-wave):
the rest stays free, so an answer to a resident is not queued behind a reminder wave."""

from __future__ import annotations

import asyncio

from bot.channels.factory import channel_limits
from bot.channels.outbound import Accepted, Outbox
from bot.domain.replies import BotReply
from bot.domain.senders import Channel
from bot.infra.settings import Settings
from bot.infra.shared_state import MemoryRateLimiter


class RecordingWhatsApp:
    """The platform as the Outbox sees it: the order messages were handed over."""

    channel = Channel.WHATSAPP

    def __init__(self) -> None:
        self.handed: list[str] = []

    async def deliver(self, address: str, message: BotReply) -> list[Accepted]:
        self.handed.append(message.text or "")
        return [Accepted(f"SM{len(self.handed)}", "queued")]

    async def aclose(self) -> None:
        return None


async def order_of_a_reply_sent_during_a_wave(share: float) -> int:
    """Where, among 20 reminders queued just before it, an answer to a resident goes out."""
    settings = Settings(
        _env_file=None, whatsapp_messages_per_second=50, reminder_share_of_send_rate=share
    )
    platform = RecordingWhatsApp()
    outbox = Outbox({Channel.WHATSAPP: platform}, MemoryRateLimiter(), channel_limits(settings))
    wave = [
        asyncio.create_task(
            outbox.send(f"wa:+6281200000{i:03d}", BotReply(text="reminder"), purpose="reminder")
        )
        for i in range(20)
    ]
    await asyncio.sleep(0)  # every reminder has taken its place in the pace
    await outbox.send("wa:+6281299999999", BotReply(text="answer"), purpose="reply")
    await asyncio.gather(*wave)
    assert platform.handed.count("reminder") == 20  # the wave still goes out whole
    return platform.handed.index("answer")


async def test_an_answer_during_a_reminder_wave_is_not_queued_behind_it() -> None:
    assert await order_of_a_reply_sent_during_a_wave(share=0.8) <= 2


async def test_without_a_reserved_share_the_answer_waits_for_the_whole_wave() -> None:
    # What the share prevents (and proof that the first test can fail).
    assert await order_of_a_reply_sent_during_a_wave(share=1.0) == 20
