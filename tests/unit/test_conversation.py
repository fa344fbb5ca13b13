import asyncio

import httpx
import pytest

from bot import messages
from bot.conversation import MAX_MESSAGE_CHARS, ConversationRouter, RasaClient, RasaUnavailable
from bot.domain.replies import BotReply, Button
from bot.infra.signed_metadata import signing_key, verified
from tests.support.fake_rasa import FakeRasaREST
from tests.support.services import free_port

CHANNEL_TOKEN = "unit-rasa-channel-token-0123456789abcdef"


def test_bot_reply_from_rasa_message_with_buttons() -> None:
    reply = BotReply.from_rasa(
        {
            "recipient_id": "web:a",
            "text": "Setuju?",
            "buttons": [{"title": "Ya", "payload": "/affirm"}],
        }
    )
    assert reply == BotReply(text="Setuju?", buttons=(Button("Ya", "/affirm"),))
    assert reply.as_json() == {
        "text": "Setuju?",
        "buttons": [{"title": "Ya", "payload": "/affirm"}],
    }
    assert BotReply(text="x").as_json() == {"text": "x"}


async def test_router_sends_text_and_signed_metadata_to_rasa_with_the_channel_token() -> None:
    rasa = FakeRasaREST()
    client = RasaClient("http://rasa", 5, http=rasa.client(), channel_token=CHANNEL_TOKEN)
    router = ConversationRouter(client)
    replies = await router.handle("tg:1", "  halo  ", {"start_parameter": "AGEN7"})
    (call,) = rasa.calls
    assert (call["sender"], call["message"]) == ("tg:1", "halo")
    key = signing_key(CHANNEL_TOKEN)
    assert verified(key, "tg:1", call["metadata"]) == {"start_parameter": "AGEN7"}
    assert verified(key, "tg:2", call["metadata"]) == {}  # bound to its sender
    assert rasa.authorizations == [f"Bearer {CHANNEL_TOKEN}"]
    assert replies[0].text == "echo: halo"
    assert replies[1].buttons == (Button("Daftar", "/start_registration"),)


async def test_without_a_channel_token_no_metadata_is_sent_as_if_vouched_for() -> None:
    rasa = FakeRasaREST()
    router = ConversationRouter(RasaClient("http://rasa", 5, http=rasa.client()))
    await router.handle("tg:1", "halo", {"start_parameter": "AGEN7"})
    assert rasa.calls == [{"sender": "tg:1", "message": "halo"}]
    assert rasa.authorizations == [None]


async def test_router_answers_empty_and_too_long_messages_without_calling_rasa() -> None:
    rasa = FakeRasaREST()
    router = ConversationRouter(RasaClient("http://rasa", 5, http=rasa.client()))
    assert (await router.handle("web:a", "   "))[0].text == messages.EMPTY_MESSAGE
    too_long = await router.handle("web:a", "x" * (MAX_MESSAGE_CHARS + 1))
    assert str(MAX_MESSAGE_CHARS) in (too_long[0].text or "")
    assert rasa.calls == []


async def test_one_sender_is_served_in_order_while_others_proceed_concurrently() -> None:
    rasa = FakeRasaREST(delay_seconds=0.05)
    router = ConversationRouter(RasaClient("http://rasa", 5, http=rasa.client()))
    await asyncio.gather(
        *(router.handle("web:same", f"pesan {i}") for i in range(5)),
        *(router.handle(f"web:other{i}", "halo") for i in range(5)),
    )
    same = [c["message"] for c in rasa.calls if c["sender"] == "web:same"]
    assert same == [f"pesan {i}" for i in range(5)]
    assert rasa.max_concurrent_per_sender == 1
    assert rasa.max_concurrent_total > 1


async def test_unreachable_rasa_raises_rasa_unavailable() -> None:
    client = RasaClient(f"http://127.0.0.1:{free_port()}", 2)
    router = ConversationRouter(client)
    with pytest.raises(RasaUnavailable):
        await router.handle("web:a", "halo")
    await client.aclose()


async def test_rasa_error_status_raises_rasa_unavailable() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    with pytest.raises(RasaUnavailable):
        await RasaClient("http://rasa", 2, http=http).send("web:a", "halo")


class TwoRasaServers:
    """Two Rasa REST stand-ins behind one transport; ``down`` ones refuse connections as a
    stopped server does (httpx.ConnectError, before anything was sent)."""

    def __init__(self) -> None:
        self.servers = {"rasa-a": FakeRasaREST(), "rasa-b": FakeRasaREST()}
        self.down: set[str] = set()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.servers[request.url.host](request)

    def client(self) -> RasaClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return RasaClient(["http://rasa-a:5005", "http://rasa-b:5006"], 2, http=http)

    def senders_on(self, host: str) -> set[str]:
        return {call["sender"] for call in self.servers[host].calls}


async def test_senders_are_spread_over_the_servers_and_each_stays_on_one() -> None:
    rasa = TwoRasaServers()
    client = rasa.client()
    for round_ in range(3):
        for i in range(20):
            await client.send(f"web:warga{i}", f"pesan {round_}")
    on_a, on_b = rasa.senders_on("rasa-a"), rasa.senders_on("rasa-b")
    assert on_a and on_b and not on_a & on_b
    assert len(on_a | on_b) == 20


async def test_a_stopped_server_s_senders_move_to_the_other_once_each() -> None:
    rasa = TwoRasaServers()
    client = rasa.client()
    senders = [f"web:warga{i}" for i in range(20)]
    on_a = {s for s in senders if client.urls_for(s)[0].startswith("http://rasa-a")}
    rasa.down.add("rasa-a")
    for sender in sorted(on_a):
        await client.send(sender, "setelah mati")
    moved = [c for c in rasa.servers["rasa-b"].calls if c["message"] == "setelah mati"]
    assert sorted(c["sender"] for c in moved) == sorted(on_a)  # each exactly once
    assert rasa.servers["rasa-a"].calls == []


async def test_a_server_that_failed_after_receiving_is_not_asked_again() -> None:
    calls: list[str] = []

    def failing(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        return httpx.Response(500)

    http = httpx.AsyncClient(transport=httpx.MockTransport(failing))
    client = RasaClient(["http://rasa-a:5005", "http://rasa-b:5006"], 2, http=http)
    with pytest.raises(RasaUnavailable):
        await client.send("web:a", "halo")
    assert len(calls) == 1  # it may have acted on the message: never resent elsewhere


async def test_a_turn_rasa_answered_with_nothing_gets_the_send_again_reply() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=[])))
    router = ConversationRouter(RasaClient("http://rasa", 2, http=http))
    replies = await router.handle("web:a", "3523031708800001")
    assert [r.text for r in replies] == [messages.NO_REPLY]
