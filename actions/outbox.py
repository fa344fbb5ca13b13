"""The action server's own sends (a consent code to a resident, a notice to an agent, a
question handed to an agent), through the Outbox like every other message."""

from __future__ import annotations

import asyncio

from bot.app_context import get_app_context
from bot.channels.factory import build_outbox
from bot.channels.outbound import Outbox

_outboxes: dict[asyncio.AbstractEventLoop, Outbox] = {}


def get_outbox() -> Outbox:
    """The outbox for messages a conversation starts to someone else (a consent code to a
    resident, a notice to an agent). Its HTTP and Redis clients belong to the event loop
    that runs it, so there is one per loop; call from inside that loop."""
    loop = asyncio.get_running_loop()
    if loop not in _outboxes:
        context = get_app_context()
        _outboxes[loop] = build_outbox(context.settings, context.channel_log)
    return _outboxes[loop]
