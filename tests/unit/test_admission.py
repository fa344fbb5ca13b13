"""The admission gate in front of Rasa (issue 31): a bounded number of turns in flight, the
ones already under way served first, a bounded wait when asked, a notice for a long one,
and no place ever lost (a timed-out or cancelled waiter gives it back)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot import messages
from bot.channels.web import WebConversations
from bot.conversation import ConversationRouter, Deliver, Patience, RasaClient
from bot.domain.replies import BotReply
from bot.infra.admission import AdmissionGate, NotAdmitted, Priority
from bot.infra.shared_state import MemoryStore
from tests.support.fake_rasa import FakeRasaREST


async def test_no_more_than_capacity_turns_are_in_flight() -> None:
    gate = AdmissionGate(2)
    busiest = 0

    async def turn() -> None:
        nonlocal busiest
        async with gate.admitted(Priority.NEW):
            busiest = max(busiest, gate.in_flight)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(turn() for _ in range(10)))
    assert busiest == 2 and gate.in_flight == 0 and gate.waiting == 0


async def test_conversations_under_way_are_served_before_new_ones() -> None:
    gate = AdmissionGate(1)
    served: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.admitted(Priority.NEW):
            await release.wait()

    async def turn(name: str, priority: Priority) -> None:
        async with gate.admitted(priority):
            served.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiting = [
        asyncio.create_task(turn("new-1", Priority.NEW)),
        asyncio.create_task(turn("new-2", Priority.NEW)),
        asyncio.create_task(turn("ongoing", Priority.ONGOING)),
    ]
    await asyncio.sleep(0.01)
    assert gate.waiting == 3
    release.set()
    await asyncio.gather(first, *waiting)
    assert served == ["ongoing", "new-1", "new-2"]  # then first come, first served


async def test_a_bounded_wait_gives_up_and_the_place_is_not_lost() -> None:
    gate = AdmissionGate(1)
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.admitted(Priority.NEW):
            await release.wait()

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    with pytest.raises(NotAdmitted) as refused:
        async with gate.admitted(Priority.NEW, wait_seconds=0.05):
            pass
    assert refused.value.waited_seconds >= 0.05 and gate.waiting == 0
    release.set()
    await first
    async with gate.admitted(Priority.NEW, wait_seconds=0.01):  # free again at once
        assert gate.in_flight == 1
    assert gate.in_flight == 0


async def test_a_cancelled_waiter_passes_its_place_on() -> None:
    gate = AdmissionGate(1)
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.admitted(Priority.NEW):
            await release.wait()

    async def turn() -> str:
        async with gate.admitted(Priority.NEW):
            return "served"

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    gone = asyncio.create_task(turn())
    kept = asyncio.create_task(turn())
    await asyncio.sleep(0.01)
    gone.cancel()
    release.set()
    await first
    assert await kept == "served"
    assert gone.cancelled() and gate.in_flight == 0 and gate.waiting == 0


# --- through the router and the web chat ---------------------------------------------------


def _router(delay: float, capacity: int = 1) -> tuple[ConversationRouter, FakeRasaREST]:
    rasa = FakeRasaREST(delay_seconds=delay)
    client = RasaClient("http://rasa", 5, http=rasa.client())
    return ConversationRouter(client, gate=AdmissionGate(capacity)), rasa


def _recorder() -> tuple[dict[str, list[str]], Callable[[str], Deliver]]:
    delivered: dict[str, list[str]] = {}

    def deliver_to(sender: str) -> Deliver:
        async def deliver(replies: list[BotReply]) -> None:
            delivered.setdefault(sender, []).extend(
                r.text or ""
                for r in replies
                if r.text != "Pilih:"  # the echo's buttons
            )

        return deliver

    return delivered, deliver_to


async def test_a_message_that_waits_long_is_told_once_and_answered_in_order() -> None:
    router, rasa = _router(delay=0.2)
    delivered, deliver_to = _recorder()
    patience = Patience(notice_after=0.3)  # the first is answered at 0.2 s, the second at 0.4
    await asyncio.gather(
        router.handle("wa:+621", "satu", deliver=deliver_to("wa:+621"), patience=patience),
        router.handle("wa:+622", "dua", deliver=deliver_to("wa:+622"), patience=patience),
    )
    assert delivered["wa:+621"][0] == "echo: satu"  # admitted at once: no notice
    assert delivered["wa:+622"][0] == messages.RECEIVED_PLEASE_WAIT
    assert delivered["wa:+622"][1] == "echo: dua"  # never dropped
    assert [c["message"] for c in rasa.calls] == ["satu", "dua"]


async def test_a_message_waiting_behind_the_senders_own_is_told_once_too() -> None:
    """The resident's wait counts from arrival: behind their own earlier message and in
    Rasa, not only at the gate (here there is room at the gate for everyone)."""
    router, _ = _router(delay=0.3, capacity=10)
    delivered, deliver_to = _recorder()
    patience = Patience(notice_after=0.1)
    await asyncio.gather(
        *(
            router.handle("wa:+623", text, deliver=deliver_to("wa:+623"), patience=patience)
            for text in ("satu", "dua", "tiga")
        )
    )
    assert delivered["wa:+623"] == [
        messages.RECEIVED_PLEASE_WAIT,  # once, however many wait
        "echo: satu",
        "echo: dua",
        "echo: tiga",
    ]


async def test_an_answer_in_time_gets_no_notice_before_or_after_it() -> None:
    router, _ = _router(delay=0.02, capacity=10)
    delivered, deliver_to = _recorder()
    await router.handle(
        "wa:+624", "halo", deliver=deliver_to("wa:+624"), patience=Patience(notice_after=0.1)
    )
    await asyncio.sleep(0.2)  # past the notice's time: it was cancelled with the answer
    assert delivered["wa:+624"] == ["echo: halo"]


async def test_a_web_turn_not_admitted_in_time_gets_sedang_ramai_and_may_be_resent() -> None:
    router, rasa = _router(delay=0.3)
    web = WebConversations(router, MemoryStore(), _no_end, lambda s: [], 5, 0.05)
    first, second = await asyncio.gather(
        web.message("s1", "web:a", "halo", "m1"), web.message("s2", "web:b", "halo", "m2")
    )
    assert first.status == 200
    assert second.status == 503 and second.headers == {"Retry-After": "1"}
    assert second.body["retry_after"] == 1
    assert second.body["replies"][0]["text"] == messages.BUSY
    assert len(rasa.calls) == 1  # Rasa never saw the refused turn...
    again = await web.message("s2", "web:b", "halo", "m2")  # ...so its retry is taken anew
    assert again.status == 200 and len(rasa.calls) == 2


async def _no_end(session: str) -> None:
    return None
