"""The reminder worker's task queue (Huey; see docs/decisions/0001-task-queue.md).

Redis when ``SADAR_REDIS_URL`` is set, so that workers on several machines share the work;
otherwise a SQLite file in the data folder, through the same code. The queue only carries
reminder ids: what to send, and whether it was sent, lives in the database.

Run a worker with ``sadar reminders worker``; it also plans each day's reminders (hourly,
idempotent) and sweeps up after dead workers (every minute)."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from huey import Huey, RedisHuey, SqliteHuey, crontab

from bot import bootstrap
from bot.app_context import AppContext, get_app_context
from bot.channels.outbound import Outbox
from bot.domain.payments import load_calendar
from bot.domain.reminders import ReminderState
from bot.infra.privacy import owner_only
from bot.infra.settings import Settings, get_settings
from bot.services.registry.api_client import RegistryConfigError
from bot.services.registry.submissions import pipeline
from bot.services.reminders import (
    PlanReport,
    counts_by_state,
    enqueue_planned,
    plan,
    recover,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


def build_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey("sadar-reminders", url=settings.redis_url, results=False)
    return SqliteHuey("sadar-reminders", filename=str(queue_file(settings.data_dir)), results=False)


def queue_file(data_dir: Path) -> Path:
    """The SQLite queue (reminder ids of residents): readable by its owner only, created
    so before Huey opens it (SQLite gives its WAL and SHM files the same mode), in a data
    folder nobody else may list."""
    private_folder(data_dir)
    path = data_dir / "reminder-queue.db"
    owner_only(path)
    return path


def private_folder(path: Path) -> None:
    """Sadar's data folder, owner-only: created 0700, or narrowed when an older run made it
    wider. A folder that is not ours, or a shared one like /tmp (sticky), is left alone."""
    path.mkdir(parents=True, mode=0o700, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and not info.st_mode & stat.S_ISVTX:
        os.chmod(path, 0o700)


class AsyncRuntime:
    """One event loop per worker process, shared by Huey's worker threads, so that the
    Outbox's connections and rate limiter live in one place."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="sadar-async", daemon=True).start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()


class WorkerProcess:
    """What a worker process builds once, through the composition root (bot/bootstrap.py),
    and its tasks share: the event loop, the Outbox (made inside that loop: its clients
    belong to it), the handoff relay and the reminder dispatcher."""

    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.runtime = AsyncRuntime()

        async def make_outbox() -> Outbox:
            return bootstrap.build_outbox(context)

        self.outbox = self.runtime.run(make_outbox())
        self.relay = bootstrap.build_relay(context, self.outbox)
        self.dispatcher = bootstrap.build_dispatcher(context, self.outbox)
        self.registry = bootstrap.build_registry_client(context)


#: Huey's worker threads start together; lru_cache alone may build two of these at once,
#: and a second event loop would get the other loop's connections.
_singletons = threading.Lock()


@lru_cache(maxsize=1)
def _process() -> WorkerProcess:
    return WorkerProcess(get_app_context())


def worker_process() -> WorkerProcess:
    """This process's loop, Outbox, relay and dispatcher, built on the first task."""
    with _singletons:
        return _process()


@dataclass(frozen=True)
class ReminderQueue:
    """The Huey instance and the reminder tasks registered on it. Calling a task puts it
    on the queue (``queue.send_reminders(ids)``); a worker runs it."""

    huey: Huey
    send_reminders: Any  # huey's TaskWrapper: call to enqueue, .schedule() to delay


def build_queue(settings: Settings) -> ReminderQueue:
    """The queue of ``settings`` with every task registered. Huey stores a task by module
    and name (``bot.processes.worker.send_reminders``): a task queued under a name no
    worker knows (by a Sadar from before bot/worker.py moved here) is dropped, and
    ``sadar reminders recover`` queues its reminders again."""
    huey = build_huey(settings)
    send = huey.task(name="send_reminders")(send_reminders)
    huey.periodic_task(crontab(minute="5"), name="plan_today")(plan_today)
    huey.periodic_task(crontab(minute="*"), name="sweep")(sweep)
    if settings.registry == "api":
        huey.periodic_task(crontab(minute="*"), name="hand_over_registrations")(
            hand_over_registrations
        )
    huey.periodic_task(crontab(minute="20", hour="19"), name="purge_conversations")(
        purge_conversations
    )
    return ReminderQueue(huey, send)


@lru_cache(maxsize=1)
def reminder_queue() -> ReminderQueue:
    """This process's queue, built on first use (by the worker, or by whoever enqueues),
    never at import."""
    return build_queue(get_settings())


def submit(reminder_ids: list[int], send_at: datetime) -> None:
    """Put a batch of reminder ids on the queue, to run at ``send_at`` (UTC)."""
    task = reminder_queue().send_reminders
    wait = (send_at - get_app_context().clock.now()).total_seconds()
    if wait <= 0:
        task(reminder_ids)
    else:
        # A delay rather than an absolute eta: Huey's own clock is the machine's, and the
        # application clock may be shifted (SADAR_CLOCK_STARTS_AT).
        task.schedule(args=(reminder_ids,), delay=wait)


def requeue(reminder_ids: list[int]) -> None:
    """Put recovered reminders back on the queue, in batches of 500."""
    task = reminder_queue().send_reminders
    for start in range(0, len(reminder_ids), 500):
        task(reminder_ids[start : start + 500])


def send_reminders(reminder_ids: list[int]) -> None:
    """The task: send one batch (registered on the queue by ``build_queue``)."""
    process = worker_process()
    outcomes = process.runtime.run(process.dispatcher.send_batch(reminder_ids))
    for outcome in outcomes:
        if outcome.retry_at is not None:  # night time or a backoff: come back later
            submit([outcome.reminder_id], outcome.retry_at)
    sent = sum(o.state == ReminderState.SENT.value for o in outcomes)
    log.info("batch of %d reminder(s): %d sent", len(reminder_ids), sent)


def plan_and_enqueue(
    day: date, progress: Callable[[int], None] | None = None
) -> tuple[PlanReport, int]:
    """Plan ``day`` straight into the queue, plus anything an earlier dry plan left: the
    plan, and how many reminders were handed to the queue (counted as they are submitted:
    the plan's own counts also include reminders an earlier run queued). The hourly task
    and `sadar reminders run` both come here."""
    context = get_app_context()
    queued = 0

    def counted(ids: list[int], send_at: datetime) -> None:
        nonlocal queued
        queued += len(ids)
        submit(ids, send_at)

    report = plan(
        context.unit_of_work,
        day,
        load_calendar(),
        context.settings.reminder_policy,
        write=True,
        submit=counted,
        progress=progress,
        now=context.clock.now(),
    )
    enqueue_planned(context.unit_of_work, counted, now=context.clock.now(), progress=progress)
    return report, queued


def plan_today() -> None:
    """Hourly (a periodic task) and idempotent: catches participants registered or paid
    during the day."""
    # The planning calendar follows Western Indonesia (most participants); each reminder's
    # send moment is still computed in the participant's own zone.
    _, queued = plan_and_enqueue(get_app_context().clock.today())
    if queued:
        log.info("planned and queued %d reminder(s)", queued)


def sweep() -> None:
    """Every minute (a periodic task): claims of dead workers, reminders the queue lost,
    registrations held for a consent code nobody answered in time (deleted: no data without
    consent), and conversations with an agent nobody answered or that went quiet (the
    resident is told)."""
    idle = reminder_queue().huey.pending_count() == 0
    process = worker_process()
    context = process.context
    now = context.clock.now()
    context.one_time_codes.purge_expired(now)
    context.number_changes.purge_expired(now)
    process.runtime.run(process.relay.close_overdue(context.settings.village_office_hours))
    recovered = recover(context.unit_of_work(), now, queue_idle=idle)
    if recovered.requeue:
        log.warning("re-queued %d reminder(s) a worker or the queue lost", len(recovered.requeue))
        requeue(recovered.requeue)


def hand_over_registrations() -> None:
    """Every minute with SADAR_REGISTRY=api (a periodic task): pending registrations go to
    the partner API, and each acceptance is told to its resident. Claims keep two workers
    apart; a refused credential is logged with the setting to fix and tried again next
    minute."""
    process = worker_process()
    if process.registry is None:
        return
    try:
        line = process.runtime.run(
            bootstrap.hand_over_and_tell(process.context, process.registry, process.outbox)
        )
    except RegistryConfigError as error:
        log.error(
            "%s: check SADAR_REGISTRY_CONSUMER_ID, SADAR_REGISTRY_SECRET and the clock", error
        )
        return
    log.info(line)


def purge_conversations() -> None:
    """Daily (a periodic task), at 02:20 WIB: conversations and closed tickets past the
    retention period are deleted, and the registration funnel's journeys of those
    conversations lose their key."""
    from datetime import timedelta

    from bot.services.conversations import purge_older_than, tracker_engine
    from bot.services.funnel import retire_before
    from bot.services.handoff import purge_closed_before

    context = get_app_context()
    keep = timedelta(days=context.settings.conversation_retention_days)
    engine = tracker_engine(context.settings.tracker_store_url)
    try:
        purge_older_than(engine, context.clock.now(), keep)
    finally:
        engine.dispose()
    cutoff = context.clock.now() - keep
    purge_closed_before(context.unit_of_work(), cutoff)
    retire_before(context.unit_of_work(), cutoff)


def submission_gauges() -> dict[str, tuple[str, str, dict[str, float]]]:
    """Read at each scrape: the hand-over to BPJS Ketenagakerjaan (docs/registry.md)."""
    context = get_app_context()
    return pipeline(context.unit_of_work()).gauges(context.clock.now())


def reminder_gauges() -> dict[str, tuple[str, str, dict[str, float]]]:
    """Read at each scrape: reminders by state (all of them, from the database) and the
    queue's depth (tasks waiting, Redis or SQLite)."""
    by_state = counts_by_state(get_app_context().unit_of_work())
    states = {state.value: float(by_state.get(state.value, 0)) for state in ReminderState}
    return {
        "sadar_reminders": ("Reminders by state.", "state", states),
        "sadar_reminder_queue_depth": (
            "Tasks waiting in the reminder queue.",
            "",
            {"": float(reminder_queue().huey.pending_count())},
        ),
    }


def serve_metrics(settings: Settings) -> None:
    """/metrics of this worker on ``worker_metrics_host:worker_metrics_port`` (0: off)."""
    if not settings.worker_metrics_port:
        return
    from prometheus_client import start_http_server

    from bot.infra import metrics

    metrics.register_gauges(reminder_gauges)
    metrics.register_gauges(submission_gauges)
    start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    log.info(
        "metrics on http://%s:%d/metrics",
        settings.worker_metrics_host,
        settings.worker_metrics_port,
    )


def run_worker(threads: int) -> None:
    """Blocks: the Huey consumer with ``threads`` worker threads and the periodic tasks."""
    serve_metrics(get_settings())
    consumer = reminder_queue().huey.create_consumer(
        workers=threads, worker_type="thread", periodic=True
    )
    consumer.run()
