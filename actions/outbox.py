"""The action server's own sends (a consent code to a resident, a notice to an agent, a
question handed to an agent), through the Outbox like every other message, built by the
composition root (bot/bootstrap.py)."""

from __future__ import annotations

import asyncio

from bot import bootstrap
from bot.app_context import AppContext
from bot.channels.outbound import Outbox

_outboxes: dict[asyncio.AbstractEventLoop, Outbox] = {}


def get_outbox(context: AppContext) -> Outbox:
    """The outbox for messages a conversation starts to someone else (a consent code to a
    resident, a notice to an agent). Its HTTP and Redis clients belong to the event loop
    that runs it, so there is one per loop; call from inside that loop."""
    loop = asyncio.get_running_loop()
    if loop not in _outboxes:
        _outboxes[loop] = bootstrap.build_outbox(context)
    return _outboxes[loop]
