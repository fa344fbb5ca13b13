"""The action server's executor, observed for the registration funnel: after each action
runs, what it did is read by bot.domain.funnel.observe and recorded (bot.services.funnel).

Recording never changes an action's answer: a failure to record is logged and the answer
goes back to Rasa as it was."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk.executor import ActionExecutor

from bot.app_context import AppContext, get_app_context
from bot.domain.funnel import ActionCall, observe
from bot.domain.senders import InvalidSenderId, SenderId
from bot.services.funnel import funnel_key, record

log = logging.getLogger(__name__)


def action_call_of(
    call: dict[str, Any], result: dict[str, Any], slots_before: dict[str, Any]
) -> ActionCall:
    """The funnel's view of one call to the action server and its answer."""
    tracker = call.get("tracker") or {}
    loop = tracker.get("active_loop") or {}
    return ActionCall(
        action=str(call.get("next_action") or ""),
        slots=slots_before,
        active_loop=loop.get("name") if isinstance(loop, dict) else None,
        events=[e for e in result.get("events") or [] if isinstance(e, dict)],
        responses=[
            str(m["response"])
            for m in result.get("responses") or []
            if isinstance(m, dict) and m.get("response")
        ],
    )


async def note_progress(
    context: AppContext,
    call: dict[str, Any],
    result: dict[str, Any],
    slots_before: dict[str, Any],
) -> None:
    seen = observe(action_call_of(call, result, slots_before))
    if not seen.in_registration:
        return
    sender_id = str((call.get("tracker") or {}).get("sender_id") or call.get("sender_id") or "")
    try:
        channel = SenderId.parse(sender_id).channel.value
    except InvalidSenderId:
        return  # not a resident's conversation (a test or a tool): nothing to count
    await asyncio.to_thread(
        record,
        context.unit_of_work(),
        funnel_key(context.hash_key, sender_id),
        channel,
        seen,
        context.clock.now(),
    )


def _as_dict(result: object) -> dict[str, Any]:
    """rasa-sdk's run result: a pydantic model (3.21) or, in older releases, a dict."""
    if isinstance(result, dict):
        return result
    dump = getattr(result, "model_dump", None)
    return dump() if callable(dump) else {}


class FunnelObservingExecutor(ActionExecutor):
    """rasa-sdk's executor, with each registration action's progress recorded."""

    async def run(self, action_call: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        # A form validator writes its results into the tracker it was given (add_slots sets
        # keys of this call's own slots dict; it changes no value in place): a shallow copy
        # keeps what the slots were, at the cost of one dict per action call.
        slots_before = dict((action_call.get("tracker") or {}).get("slots") or {})
        result = await super().run(action_call, *args, **kwargs)
        if result is not None:
            try:
                await note_progress(get_app_context(), action_call, _as_dict(result), slots_before)
            except Exception:  # the resident's answer matters more than a count
                log.exception("the funnel could not record %s", action_call.get("next_action"))
        return result
