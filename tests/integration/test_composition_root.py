"""One composition root (bot/bootstrap.py): the gateway and the Telegram poller get their
conversation router from it, with the same interceptors, so they cannot drift apart again
(the poller's router once lacked the offered-buttons memory the gateway's had)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.testclient import TestClient

from bot.app_context import AppContext
from bot.conversation import ConversationRouter
from bot.domain.replies import BotReply, Button
from bot.gateway.app import create_app
from bot.infra.settings import Settings
from bot.processes.telegram_poller import build_poller
from bot.services.handoff_relay import HandoffRelay
from tests.support.services import RedisServer

SENDER = "telegram:5550001"
OFFERED = [BotReply(text="Lanjut?", buttons=(Button("Ya", "/affirm"), Button("Tidak", "/deny")))]


def settings_for(redis_server: RedisServer, tmp_path: Any) -> Settings:
    """A gateway and a poller of one installation: Telegram, shared state in Redis."""
    import redis

    url = redis_server.url.rsplit("/", 1)[0] + "/9"
    redis.Redis.from_url(url).flushdb()
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        redis_url=url,
        telegram_bot_token="123456:TEST",
        telegram_api_base_url="http://127.0.0.1:9/bot",
    )


def interceptors(router: ConversationRouter) -> dict[str, Any]:
    """What stands between a channel and Rasa, described so two routers can be compared."""
    relay = router.interceptor
    assert isinstance(relay, HandoffRelay)
    return {
        "offers": type(router.offers),
        "interceptor": type(relay),
        "relay": (relay.hash_key, relay.policy, type(relay.courier), type(relay.clock)),
    }


def test_the_poller_and_the_gateway_routers_carry_the_same_interceptors(
    redis_server: RedisServer, tmp_path: Any
) -> None:
    settings = settings_for(redis_server, tmp_path)
    poller_context = AppContext.from_settings(settings)

    async def pressed_on_the_poller() -> tuple[dict[str, Any], bool, bool]:
        """The poller's router; it reads what the gateway's offered (shared memory)."""
        application, wiring = build_poller(poller_context)
        try:
            assert application.post_shutdown is not None  # closes what the poller holds
            router = wiring.router
            allowed = await router.offers.allows(SENDER, "/affirm")
            typed = await router.offers.allows(SENDER, "/inform")
            return interceptors(router), allowed, typed
        finally:
            await wiring.aclose()

    with TestClient(create_app(settings)) as client:
        gateway: ConversationRouter = client.app.state.router  # type: ignore[attr-defined]
        assert client.portal is not None
        client.portal.call(gateway.offers.remember, SENDER, OFFERED)
        gateway_interceptors = interceptors(gateway)
        poller_interceptors, allowed, typed = asyncio.run(pressed_on_the_poller())

    assert poller_interceptors == gateway_interceptors
    # The same offered-buttons memory: a button the gateway offered may be pressed through
    # the poller, and a payload nobody offered is still read as words.
    assert allowed and not typed
    poller_context.engine.dispose()
