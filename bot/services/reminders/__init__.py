"""Planning, sending and recovering monthly reminders, with the database as the truth.

Life of a reminder: ``plan`` writes it (unique per participant, period and kind) as
*planned* or *skipped* (with the reason); ``enqueue_planned`` marks it *queued* and hands
its id to the task queue; a worker *claims* it with one conditional UPDATE (only one worker
can win), re-checks everything (paid since? opted out? daytime?), marks it *sending* right
before the platform call, then *sent* (later *delivered*/*read* from status callbacks) or,
on failure, back to *queued* with a backoff or *failed*. ``recover`` returns claims of dead
workers to the queue and marks sends interrupted mid-call *unknown*: never retried, since
the message may have gone out, so a reminder is sent at most once.

The package: ``planning`` (plan, queue, recover), ``bulk_insert`` (the COPY adapter),
``dispatch`` (the worker's sending loop). Texts are in bot/messages.py."""

from bot.services.reminders.dispatch import Claimed, Outcome, ReminderDispatcher
from bot.services.reminders.planning import (
    DEFAULT_LEASE,
    DEFAULT_REQUEUE_AFTER,
    TASK_BATCH,
    PlanReport,
    Recovered,
    counts_by_state,
    enqueue_planned,
    plan,
    recover,
    skip_reason,
)

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_REQUEUE_AFTER",
    "TASK_BATCH",
    "Claimed",
    "Outcome",
    "PlanReport",
    "Recovered",
    "ReminderDispatcher",
    "counts_by_state",
    "enqueue_planned",
    "plan",
    "recover",
    "skip_reason",
]
