"""A WhatsApp turn (bot/channels/whatsapp.py) reads a numbered answer against the options
the router remembered for the sender: one memory of offers (bot.conversation.OfferedButtons),
written once per turn."""

from __future__ import annotations

from typing import Any, cast

from bot.channels.outbound import Outbox
from bot.channels.whatsapp import InboundKind, InboundWhatsApp, WhatsAppConversations
from bot.conversation import ConversationRouter, OfferedButtons, RasaClient
from bot.domain.replies import BotReply
from bot.infra.shared_state import MemoryStore
from tests.support.fake_rasa import FakeRasaREST

SITI = "+6281234567890"


class CountingStore(MemoryStore):
    """Counts the writes of the offers memory."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    async def put(self, key: str, value: str, ttl_seconds: int) -> None:
        self.writes += key.startswith("offers:")
        await super().put(key, value, ttl_seconds)

    async def delete(self, key: str) -> None:
        self.writes += key.startswith("offers:")
        await super().delete(key)


class SentReplies:
    """The Outbox as the turn sees it: what was sent to whom."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, BotReply]] = []

    async def send(self, recipient: str, reply: BotReply, **_: Any) -> None:
        self.sent.append((recipient, reply))

    def deliverer(self, recipient: str) -> Any:
        return Outbox.deliverer(cast(Outbox, self), recipient)  # the real one, over send


def whatsapp(store: CountingStore, rasa: FakeRasaREST, not_me: Any = None) -> WhatsAppConversations:
    router = ConversationRouter(
        RasaClient("http://rasa", 5, http=rasa.client()),
        OfferedButtons(store, lambda sender_id: sender_id),
    )
    outbox = cast(Outbox, SentReplies())
    return WhatsAppConversations(router, outbox, MemoryStore(), None, not_me)


def text(body: str, sid: str = "") -> InboundWhatsApp:
    return InboundWhatsApp(sid, SITI, body, InboundKind.TEXT)


async def test_a_numbered_answer_presses_that_option_and_the_memory_is_written_once_a_turn() -> (
    None
):
    store, rasa = CountingStore(), FakeRasaREST()  # Rasa offers "1. Daftar"
    conversations = whatsapp(store, rasa)
    await conversations.process(text("halo"))
    assert store.writes == 1
    await conversations.process(text("1"))
    assert store.writes == 2
    assert [call["message"] for call in rasa.calls] == ["halo", "/start_registration"]


async def test_a_turn_sadar_answers_itself_forgets_the_numbers_not_the_payloads() -> None:
    store, rasa = CountingStore(), FakeRasaREST()
    conversations = whatsapp(store, rasa)
    await conversations.process(text("halo"))
    await conversations.process(text("   "))  # answered without Rasa: no options listed
    assert store.writes == 2
    await conversations.process(text("1"))
    await conversations.process(text("/start_registration"))  # still offered, so pressable
    assert [call["message"] for call in rasa.calls] == ["halo", "1", "/start_registration"]


async def test_a_not_me_report_ends_the_turn_with_no_options_listed() -> None:
    async def not_me(sender_id: str, body: str) -> list[BotReply] | None:
        return [BotReply(text="dicatat")] if body == "BUKAN SAYA" else None

    store, rasa = CountingStore(), FakeRasaREST()
    conversations = whatsapp(store, rasa, not_me)
    await conversations.process(text("halo"))
    await conversations.process(text("BUKAN SAYA"))
    assert store.writes == 2
    await conversations.process(text("1"))
    assert [call["message"] for call in rasa.calls] == ["halo", "1"]


async def test_a_redelivered_message_is_not_new() -> None:
    conversations = whatsapp(CountingStore(), FakeRasaREST())
    assert await conversations.is_new(text("halo", sid="SM1"))
    assert not await conversations.is_new(text("halo", sid="SM1"))
    assert await conversations.is_new(text("halo"))  # no id: nothing to compare
