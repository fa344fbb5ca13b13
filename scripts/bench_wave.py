"""Benchmark: a reminder wave with replies (issue 31, point 5).

`make bench-wave` starts a private PostgreSQL and Redis, a local stand-in for Twilio's REST
API (tests/support/fake_twilio.py) and the real processes (Rasa, the action server, the
gateway, `sadar reminders worker`s) with WhatsApp pointed at the stand-in. It generates the
participants with COPY (accepted by BPJS Ketenagakerjaan, each on a WhatsApp number of
their own that has not written for days, so reminders go as the approved template), plans
13 November 2026 (three days before the due date; every process's clock starts there at
09:00 WIB) and sends

1. a short baseline wave nobody answers (`--baseline`), for the dispatch rate without
   replies, measured in the same run;
2. the wave (default 20,000 reminders) while a seeded 20% of its residents reply within a
   minute of their reminder reaching the stand-in, with everyday texts, some two messages
   in a row, posted to /webhooks/whatsapp signed as Twilio signs them (each its own
   MessageSid).

It reports the reminders' dispatch rate with and without replies against the configured
WhatsApp limit (every message from the number shares it), the reply latency (the post to
the webhook until the bot's answer reaches the stand-in), how many replies waited long
enough to get "mohon tunggu", and whether every reply was answered exactly once and in
order. That last check reads Rasa's conversation store (decrypted with the bench's keys):
each resident's messages must appear there once each, in the order sent, and what the
stand-in received must be exactly the answers of those turns, rendered as the gateway
renders them, in order."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psutil
import psycopg
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from bot import messages  # noqa: E402
from bot.app_context import AppContext  # noqa: E402
from bot.channels.whatsapp import render_numbered, split_body  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.models import Reminder  # noqa: E402
from bot.domain.payments import load_calendar  # noqa: E402
from bot.domain.replies import BotReply, for_delivery  # noqa: E402
from bot.infra.privacy import conversation_key, keyed_hash  # noqa: E402
from bot.infra.settings import Settings  # noqa: E402
from bot.processes.devserver import ProcessSpec, process_specs  # noqa: E402
from bot.services.reminders import TASK_BATCH, plan  # noqa: E402
from scripts.bench_load import (  # noqa: E402
    cpu_seconds,
    exit_on_sigterm,
    percentile,
    stack_environment,
    stop_groups,
    wait_ready,
)
from scripts.bench_reminders import (  # noqa: E402
    PROVINCES,
    max_in_any_window,
    sustained_rate,
)
from scripts.doc_section import write_section  # noqa: E402
from tests.support.bulk_registrations import (  # noqa: E402
    accept_all,
    copy_contacts,
    copy_participants,
    one_consent,
    reference,
)
from tests.support.clock import clock_environment  # noqa: E402
from tests.support.fake_twilio import (  # noqa: E402
    ACCOUNT_SID,
    AUTH_TOKEN,
    WHATSAPP_FROM,
    inbound_form,
    running_fake_twilio,
    signed_form,
)
from tests.support.services import start_postgres, start_redis, stop  # noqa: E402

DAY = date(2026, 11, 13)  # three days before November's due date: everyone unpaid is due
CLOCK_START = datetime(2026, 11, 13, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
PII_KEY = "bench-wave-only-pii-hash-key-000000000000"
REMINDER_SID = "HX" + "b0" * 16
WEBHOOK_PATH = "/webhooks/whatsapp"
#: Reminders held back until their part of the run (a worker's hourly planning must not
#: queue them early).
HELD = "benchmark: waits for its part of the run"
BEGIN, END = "<!-- bench-wave:begin -->", "<!-- bench-wave:end -->"

#: What residents answer a payment reminder with, spelt as they type.
REPLIES = (
    "sudah bayar", "cara bayar gimana", "stop", "berapa iurannya", "ok makasih",
    "bayar dmn ya", "sy sdh transfer td pagi", "iya nanti sore sy bayar",
    "kalau telat bayar gimana", "bisa bayar di indomaret?", "cek status",
    "terima kasih infonya", "bulan ini berapa?", "maaf blm ada uang", "ini siapa ya",
    "manfaatnya apa aja", "sudah saya bayar kemarin lewat agen", "halo", "oke siap",
    "iuran saya berapa ya",
)  # fmt: skip
#: A second message sent right after the first, before its answer came.
FOLLOW_UPS = (
    "lewat apa bayarnya", "makasih", "tolong dicek ya", "kalau lewat agen bisa?", "berapa?",
    "ok", "pakai dana bisa?", "sudah ya", "td pagi sdh", "jadi gimana",
)  # fmt: skip


class StampedMessages(list[dict[str, str]]):
    """The stand-in's record of the messages it took, and when each arrived (this
    process's monotonic clock): FakeTwilio keeps the messages only."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, message: dict[str, str]) -> None:
        self.times.append(time.monotonic())  # first: a reader that sees the message sees it
        super().append(message)


def number(i: int) -> str:
    """The ``i``-th participant's WhatsApp number (E.164)."""
    return f"+62812{i:08d}"


def generate(context: AppContext, count: int) -> None:
    """``count`` consented participants (ids 1..count, first month November 2026, unpaid),
    accepted by BPJS Ketenagakerjaan, each with their own WhatsApp number as preferred
    address; its contact last wrote on 1 November (outside WhatsApp's 24-hour window).
    Fields no reminder or answer reads share one ciphertext: COPY stays fast."""
    cipher = context.cipher
    shared = {
        name: cipher.encrypt(value)
        for name, value in (
            ("nik", "3523031708800001"), ("name", "Warga Uji"), ("birth", "1980-08-17"),
            ("income", "1000000"), ("kpj", "26010000001"),
        )
    }  # fmt: skip
    raw = context.engine.raw_connection()
    try:
        cursor = raw.cursor()
        consent_id = one_consent(cursor, "wa")
        people, contacts = [], []
        for i in range(count):
            province = PROVINCES[i % len(PROVINCES)]
            phone = number(i)
            sender_hash = keyed_hash(PII_KEY, f"wa:{phone}")
            people.append(
                f"{reference(i)}\t{secrets.token_hex(32)}\t{shared['nik']}\t{shared['name']}\t"
                f"{shared['birth']}\t{secrets.token_hex(32)}\t{cipher.encrypt(phone)}\t"
                f"{shared['income']}\tL\t{province}\t{province}0101\tKaranglo\tKerek\tTuban\t"
                f"petani\tf\t16800\tawaiting_first_payment\twa\t{sender_hash}\t{consent_id}\t"
                "2026-11-01\n"
            )
            contacts.append(
                f"{sender_hash}\twa\t{cipher.encrypt(f'wa:{phone}')}\t2026-11-01 10:00:00+07\n"
            )
        copy_participants(cursor, "".join(people))
        copy_contacts(cursor, "".join(contacts))
        accept_all(cursor, shared["kpj"])
        raw.commit()
        cursor.execute("SELECT min(id), max(id) FROM participants")
        assert cursor.fetchone() == (1, count), "participant ids must be 1..count"
        cursor.execute("ANALYZE")
    finally:
        raw.close()


def plan_and_hold(context: AppContext, settings: Settings) -> int:
    """Plan the day for everyone (the real planner) and hold every reminder until its part
    of the run releases it; the number planned."""
    report = plan(
        context.unit_of_work,
        DAY,
        load_calendar(),
        settings.reminder_policy,
        write=True,
        now=context.clock.now(),
    )
    with context.sessions.begin() as session:
        session.execute(update(Reminder).values(state="skipped", reason=HELD))
    return report.total


def release(context: AppContext, first_id: int, last_id: int) -> int:
    """Queue the held reminders of participants ``first_id..last_id`` for the workers, in
    the planner's batches."""
    from bot.processes.worker import submit  # reads the SADAR_* settings set by main

    with context.sessions.begin() as session:
        ids = session.scalars(
            update(Reminder)
            .where(Reminder.participant_id.between(first_id, last_id), Reminder.reason == HELD)
            .values(state="queued", reason=None, updated_at=context.clock.now())
            .returning(Reminder.id)
        ).all()
    ordered = sorted(ids)
    for start in range(0, len(ordered), TASK_BATCH):
        submit(ordered[start : start + TASK_BATCH], context.clock.now())
    return len(ordered)


def open_reminders(context: AppContext) -> int:
    with context.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Reminder)
                .where(Reminder.state.in_(["queued", "claimed", "sending"]))
            )
            or 0
        )


def reminder_states(context: AppContext, first_id: int, last_id: int) -> dict[str, int]:
    with context.sessions() as session:
        states = session.scalars(
            select(Reminder.state).where(Reminder.participant_id.between(first_id, last_id))
        ).all()
    return dict(Counter(states))


@dataclass
class Posted:
    """One inbound message as posted to the webhook."""

    text: str
    at: float  # monotonic, right before the post
    status: str = ""
    #: Seconds the webhook took to answer (Twilio gives up after 15 and posts it again).
    answered_in: float = 0.0


@dataclass
class Resident:
    """One resident who answers their reminder: ``delay`` seconds after it reached the
    stand-in, one message or two in a row; the second ``gap`` seconds after the webhook
    took the first (one sender's messages reach the webhook one after the other, so their
    order is the order the gateway sees)."""

    number: str
    texts: list[str]
    delay: float
    gap: float
    posted: list[Posted] = field(default_factory=list)


def residents(numbers: Sequence[str], args: argparse.Namespace) -> dict[str, Resident]:
    """A seeded share of ``numbers`` who reply, and what and when each one writes."""
    pick = random.Random(args.seed)
    chosen = pick.sample(list(numbers), round(len(numbers) * args.reply_share))
    out = {}
    for phone in chosen:
        texts = [pick.choice(REPLIES)]
        if pick.random() < args.pair_share:
            texts.append(pick.choice(FOLLOW_UPS))
        out[phone] = Resident(
            phone, texts, pick.uniform(0, args.reply_within), pick.uniform(0.3, 3.0)
        )
    return out


async def reply(http: httpx.AsyncClient, url: str, resident: Resident, reminded_at: float) -> None:
    """The resident's messages, each posted as Twilio posts an inbound WhatsApp message."""
    await asyncio.sleep(max(0.0, reminded_at + resident.delay - time.monotonic()))
    for index, text in enumerate(resident.texts):
        if index:
            await asyncio.sleep(resident.gap)
        form = inbound_form(resident.number, text)  # a MessageSid of its own
        request = signed_form(url, form, AUTH_TOKEN)
        posted = Posted(text, time.monotonic())
        resident.posted.append(posted)
        try:
            response = await http.post(url, **request)
            posted.status = str(response.status_code)
        except httpx.HTTPError as error:
            posted.status = type(error).__name__
        posted.answered_in = time.monotonic() - posted.at


async def turns_ended(http: httpx.AsyncClient, gateway: str) -> float:
    """The gateway's count of WhatsApp turns that are over (replies handed to Twilio)."""
    try:
        text = (await http.get(f"{gateway}/metrics")).text
    except httpx.HTTPError:
        return -1.0
    prefix = 'sadar_turns_ended_total{channel="wa"} '
    found = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(found[0][len(prefix) :]) if found else 0.0


#: Sums and counts read from the gateway's /metrics, to split the reply latency.
GATEWAY_SERIES = {
    "admission wait": "sadar_admission_wait_seconds",
    "Rasa turn (with the action server)": 'sadar_turn_seconds{channel="wa"}',
}


async def gateway_sums(http: httpx.AsyncClient, gateway: str) -> dict[str, tuple[float, float]]:
    """(sum of seconds, count) of each of ``GATEWAY_SERIES``, and the late notices sent."""
    text = (await http.get(f"{gateway}/metrics")).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name and not line.startswith("#"):
            values[name] = float(value)
    out = {}
    for label, series in GATEWAY_SERIES.items():
        base, brace, labels = series.partition("{")
        suffix = brace + labels
        out[label] = (
            values.get(f"{base}_sum{suffix}", 0.0),
            values.get(f"{base}_count{suffix}", 0.0),
        )
    out["late notices"] = (values.get("sadar_late_notices_total", 0.0), 1.0)
    return out


@dataclass
class Part:
    """One part of the run: the reminders of participants ``first_id..last_id``."""

    name: str
    first_id: int
    last_id: int
    repliers: dict[str, Resident]
    queued: int = 0
    #: Indices of the stand-in's messages taken during this part.
    first_message: int = 0
    last_message: int = 0
    states: dict[str, int] = field(default_factory=dict)
    unfinished: str = ""
    #: The gateway's own view of the part's turns: mean seconds (and count), late notices.
    gateway: dict[str, str] = field(default_factory=dict)
    #: Share of one core each group of processes used during the part.
    cpu: dict[str, float] = field(default_factory=dict)
    #: How late this process's event loop woke up (seconds), sampled every 0.1 s.
    lag: list[float] = field(default_factory=list)


@dataclass
class Stack:
    """What a part needs of the running system."""

    context: AppContext
    gateway: str
    messages: StampedMessages
    processes: dict[str, subprocess.Popen[bytes]]
    log_dir: Path
    #: PostgreSQL and Redis, for their CPU.
    services: dict[str, int] = field(default_factory=dict)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each group of processes, and of this process alone (the
        stand-in's thread and the residents)."""
        groups: dict[str, float] = {}
        for name, process in self.processes.items():
            group = name.split("-")[0]  # worker-1, worker-2: the workers
            groups[group] = groups.get(group, 0.0) + cpu_seconds(process.pid)
        for name, pid in self.services.items():
            groups[name] = cpu_seconds(pid)
        own = psutil.Process().cpu_times()
        groups["bench (stand-in, residents)"] = own.user + own.system
        return dict(groups)


def reminders_in(messages: Iterable[dict[str, str]]) -> int:
    return sum(m.get("ContentSid") == REMINDER_SID for m in messages)


def progress_line(
    part: Part,
    box: StampedMessages,
    mark: tuple[float, int],
    count: int,
    started: float,
    ended: float,
    waiting: int,
) -> str:
    """One line of where the part stands: reminders out (and their rate since the last
    line), residents and their messages, turns over, notices."""
    now = time.monotonic()
    since = box[mark[1] : count]
    seconds = max(now - mark[0], 1e-9)
    mine = box[part.first_message : count]
    posted = sum(len(r.posted) for r in part.repliers.values())
    notices = sum(m.get("Body") == messages.RECEIVED_PLEASE_WAIT for m in mine)
    return (
        f"[{part.name} {now - started:4.0f} s] reminders {reminders_in(mine):,}/{part.queued:,} "
        f"({reminders_in(since) / seconds:.1f}/s; all messages {len(since) / seconds:.1f}/s) | "
        f"replied {len(part.repliers) - waiting:,}/{len(part.repliers):,} residents, "
        f"{posted:,} messages, {ended:,.0f} turns over | 'mohon tunggu' {notices}"
    )


async def run_part(part: Part, stack: Stack, args: argparse.Namespace) -> None:
    """Release the part's reminders; start each replier's messages once their reminder
    reached the stand-in; return when every reminder is final and every message posted has
    had its turn (or a time limit passed). The stand-in is watched by a task of its own, so
    a slow answer from the busy gateway (its /metrics) never delays a resident."""
    box = stack.messages
    part.first_message = len(box)
    url = f"{stack.gateway}{WEBHOOK_PATH}"
    pending = dict(part.repliers)
    tasks: list[asyncio.Task[None]] = []
    scanned = part.first_message
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    async with (
        httpx.AsyncClient(timeout=120, limits=limits) as http,
        httpx.AsyncClient(timeout=120) as monitor,
    ):

        async def watch() -> None:
            """Each replier's messages start when their reminder reaches the stand-in."""
            nonlocal scanned
            while True:
                count = len(box)
                for index in range(scanned, count):
                    message = box[index]
                    if message.get("ContentSid") == REMINDER_SID:
                        resident = pending.pop(message["To"].removeprefix("whatsapp:"), None)
                        if resident is not None:
                            reminded = box.times[index]
                            tasks.append(asyncio.create_task(reply(http, url, resident, reminded)))
                scanned = count
                await asyncio.sleep(0.05)

        async def measure_lag() -> None:
            """Residents post and are timed from this loop: a late loop would add to
            their latencies, so how late it wakes is reported."""
            while True:
                before = time.monotonic()
                await asyncio.sleep(0.1)
                part.lag.append(time.monotonic() - before - 0.1)

        turns_before = await turns_ended(monitor, stack.gateway)
        sums_before = await gateway_sums(monitor, stack.gateway)
        cpu_before, cpu_started = stack.cpu(), time.monotonic()
        lag = asyncio.create_task(measure_lag())
        part.queued = await asyncio.to_thread(release, stack.context, part.first_id, part.last_id)
        started = time.monotonic()
        print(f"[{part.name}] {part.queued:,} reminders queued; {len(pending):,} residents "
              "will reply", flush=True)  # fmt: skip
        watcher = asyncio.create_task(watch())
        deadline = started + part.queued / (args.rate * 0.97) * 3 + 120
        last_progress, mark = started, (started, part.first_message)
        final_count: int | None = None  # messages at the stand-in once every reminder was final
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    raise SystemExit(f"{name} exited with {process.returncode}; logs in "
                                     f"{stack.log_dir}")  # fmt: skip
            if now - last_progress >= args.progress:
                count = len(box)
                ended = await turns_ended(monitor, stack.gateway) - turns_before
                print(progress_line(part, box, mark, count, started, ended, len(pending)),
                      flush=True)  # fmt: skip
                last_progress, mark = time.monotonic(), (now, count)
            if final_count is None:
                if await asyncio.to_thread(open_reminders, stack.context) == 0:
                    final_count = len(box)  # every reminder sent is at the stand-in by now
                elif now > deadline:
                    part.unfinished = "reminders still open at the time limit"
                    break
                continue
            if scanned < final_count or not all(task.done() for task in tasks):
                continue  # a replier may still be on the way
            posts = [p.at for r in part.repliers.values() for p in r.posted]
            ended = await turns_ended(monitor, stack.gateway) - turns_before
            if ended >= len(posts):
                await asyncio.sleep(args.settle)  # anything sent twice comes now
                break
            if now - max(posts, default=started) > args.drain:
                part.unfinished = (
                    f"{len(posts) - ended:.0f} turn(s) not over {args.drain:g} s after the "
                    "last message"
                )
                break
        cpu_after, seconds = stack.cpu(), time.monotonic() - cpu_started
        part.cpu = {k: (v - cpu_before.get(k, 0.0)) / seconds for k, v in cpu_after.items()}
        watcher.cancel()
        lag.cancel()
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(watcher, lag, *tasks, return_exceptions=True)
        sums_after = await gateway_sums(monitor, stack.gateway)
    for label, (after_sum, after_count) in sums_after.items():
        seconds = after_sum - sums_before[label][0]
        turns = after_count - sums_before[label][1]
        if label == "late notices":
            part.gateway[label] = f"{seconds:.0f}"
        elif turns:
            part.gateway[label] = f"mean {seconds / turns:.2f} s ({turns:.0f} turns)"
    part.last_message = len(box)
    part.states = await asyncio.to_thread(
        reminder_states, stack.context, part.first_id, part.last_id
    )


@dataclass
class Turn:
    """One resident message as Rasa's conversation store holds it, with the bot's
    messages that answered it."""

    text: str
    replies: list[BotReply] = field(default_factory=list)

    def bodies(self) -> list[str]:
        """What the gateway sends to Twilio for this turn (bot/conversation.py and
        bot/channels/whatsapp.py: an all-empty answer becomes NO_REPLY)."""
        replies = self.replies
        if all(reply.is_empty for reply in replies):
            replies = [BotReply(text=messages.NO_REPLY)]
        return [part for r in for_delivery(replies) for part in split_body(render_numbered(r))]


def rest_replies(event: dict[str, Any]) -> list[BotReply]:
    """A bot event as Rasa's REST channel hands it to the gateway (CollectingOutputChannel
    of rasa/core/channels/channel.py): buttons keep the text whole; a plain text is split
    at blank lines; a custom payload is a message of its own."""
    data = event.get("data") or {}
    text = event.get("text")
    parts: list[dict[str, Any]] = []
    if data.get("quick_replies"):
        parts.append({"text": text})
    elif data.get("buttons"):
        parts.append({"text": text, "buttons": data["buttons"]})
    elif text:
        parts += [{"text": piece} for piece in text.strip().split("\n\n")]
    if data.get("custom"):
        parts.append({"custom": data["custom"]})
    return [BotReply.from_rasa(part) for part in parts]


def conversations(url: str, context: AppContext, numbers: Iterable[str]) -> dict[str, list[Turn]]:
    """Each number's turns, from Rasa's conversation store (events encrypted with the
    application's keys, conversations named by a keyed hash of the sender id)."""
    keys = {conversation_key(PII_KEY, f"wa:{phone}"): phone for phone in numbers}
    turns: dict[str, list[Turn]] = {phone: [] for phone in keys.values()}
    early: dict[str, list[BotReply]] = {}
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT sender_id, type_name, data FROM events "
            "WHERE type_name IN ('user', 'bot') AND sender_id = ANY(%s) ORDER BY id",
            (list(keys),),
        ).fetchall()
    for key, kind, data in rows:
        phone = keys[key]
        event = json.loads(context.cipher.decrypt(data))
        if kind == "user":
            turns[phone].append(Turn(event.get("text") or "", early.pop(phone, [])))
        elif turns[phone]:
            turns[phone][-1].replies += rest_replies(event)
        else:  # said before the first message was logged (a session's start)
            early.setdefault(phone, []).extend(rest_replies(event))
    return turns


@dataclass
class Check:
    """What the replies' verification found."""

    messages: int = 0
    once: int = 0
    unanswered: int = 0
    processed_twice: int = 0
    answered_twice: int = 0
    extra_messages: int = 0
    senders: int = 0
    senders_in_order: int = 0
    first_answer: list[float] = field(default_factory=list)
    #: When each message of ``first_answer`` was posted, and whether it got a notice.
    posted_at: list[float] = field(default_factory=list)
    with_notice: list[bool] = field(default_factory=list)
    nth: list[int] = field(default_factory=list)
    full_answer: list[float] = field(default_factory=list)
    noticed_messages: int = 0
    noticed_senders: int = 0
    notices: int = 0
    late_without_notice: int = 0
    #: Of those, second messages of a pair (waiting behind the first is not "for Rasa").
    late_second: int = 0
    #: Residents whose wait passed the notice time once or more, never told.
    late_untold: int = 0
    failure_texts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


FAILURES = {
    messages.NO_REPLY: "no answer from Rasa (NO_REPLY)",
    messages.RASA_UNAVAILABLE: "Rasa unavailable (RASA_UNAVAILABLE)",
}


def same_text(stored: str, sent: str) -> bool:
    """Rasa holds what the gateway passed on: the text, or the payload of a numbered
    option the text picked (bot/channels/options.py)."""
    return stored == sent or stored.startswith("/")


def verify(
    resident: Resident,
    turns: list[Turn],
    received: list[tuple[str, float]],
    late_after: float,
    check: Check,
) -> None:
    """One resident: Rasa saw each message once, in order; the stand-in got exactly those
    turns' answers, in order. A "mohon tunggu" belongs to the turn answered next; a message
    no turn explains, to the turn whose answer came before it (a repeat of that answer is
    that message answered twice)."""
    posted = resident.posted
    check.senders += 1
    check.messages += len(posted)
    answers: list[tuple[str, float]] = []
    noticed: list[bool] = []  # per answer message: a notice came since the one before
    waiting_notice = False
    for body, at in received:
        check.failure_texts.update([FAILURES[body]] if body in FAILURES else [])
        if body == messages.RECEIVED_PLEASE_WAIT:
            check.notices += 1
            waiting_notice = True
            continue
        answers.append((body, at))
        noticed.append(waiting_notice)
        waiting_notice = False
    if any(body == messages.RECEIVED_PLEASE_WAIT for body, _ in received):
        check.noticed_senders += 1

    seen_by_rasa = [t.text for t in turns]
    rasa_ok = len(turns) == len(posted) and all(
        same_text(t, p.text) for t, p in zip(seen_by_rasa, posted, strict=True)
    )
    if not rasa_ok:
        missing = Counter(p.text for p in posted) - Counter(seen_by_rasa)
        twice = Counter(seen_by_rasa) - Counter(p.text for p in posted)
        check.processed_twice += sum(twice.values())
        check.unanswered += max(0, len(posted) - len(turns))
        check.problems.append(
            f"{resident.number}: sent {[p.text for p in posted]}, Rasa saw {seen_by_rasa} "
            f"(missing {dict(missing)}, extra {dict(twice)})"
        )
        return  # which turn answers which message is unknown: none is counted as once
    expected = [(index, body) for index, turn in enumerate(turns) for body in turn.bodies()]
    got = [body for body, _ in answers]
    if got == [body for _, body in expected]:
        check.senders_in_order += 1
    else:
        check.problems.append(
            f"{resident.number}: sent {[p.text for p in posted]}; answers {got} are not the "
            f"turns' {[body for _, body in expected]}"
        )
    matcher = difflib.SequenceMatcher(None, [body for _, body in expected], got, autojunk=False)
    owner: dict[int, int] = {}  # answer message -> turn it answers
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            owner[block.b + k] = expected[block.a + k][0]
    matched: dict[int, list[int]] = {}
    extra: dict[int, list[int]] = {}
    current = 0
    for k in range(len(got)):
        if k in owner:
            current = owner[k]
            matched.setdefault(current, []).append(k)
        else:
            check.extra_messages += 1
            extra.setdefault(current, []).append(k)
    late_untold = False
    for index, message in enumerate(posted):
        mine = matched.get(index, [])
        if not mine:
            check.unanswered += 1
            continue
        bodies = turns[index].bodies()
        repeats = [k for k in extra.get(index, []) if got[k] in bodies]
        if repeats:
            check.answered_twice += 1
        elif len(mine) == len(bodies) and not extra.get(index):
            check.once += 1
        first, last = answers[mine[0]][1], answers[mine[-1]][1]
        check.first_answer.append(first - message.at)
        check.posted_at.append(message.at)
        check.full_answer.append(last - message.at)
        check.with_notice.append(noticed[mine[0]])
        check.nth.append(index + 1)
        if noticed[mine[0]]:
            check.noticed_messages += 1
        elif first - message.at > late_after:
            check.late_without_notice += 1
            check.late_second += index > 0
            late_untold = late_untold or not any(noticed)
    check.late_untold += late_untold


def window_rate(times: list[float]) -> float:
    """Messages per second from the first to the last."""
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 else 0.0


def dispatch_figures(part: Part, box: StampedMessages) -> dict[str, Any]:
    """Rates at the stand-in's clock: the part's reminders, and every message from the
    number while they went out."""
    span = range(part.first_message, part.last_message)
    reminders = [box.times[i] for i in span if box[i].get("ContentSid") == REMINDER_SID]
    everything = [box.times[i] for i in span]
    if not reminders:
        return {"reminders at the stand-in": 0}
    during = [t for t in everything if reminders[0] <= t <= reminders[-1]]
    return {
        "reminders at the stand-in": len(reminders),
        "reminders/s, first to last": round(window_rate(reminders), 1),
        "reminders/s, steady (longest run without a 1-s pause)": round(
            sustained_rate(reminders), 1
        ),
        "most reminders in any 1-s window": max_in_any_window(reminders),
        "all messages from the number/s while reminders went out": round(window_rate(during), 1),
        "most messages from the number in any 1-s window": max_in_any_window(everything),
    }


def latency_row(values: list[float]) -> str:
    if not values:
        return "-"
    quantiles = (percentile(values, q) for q in (0.50, 0.95, 0.99))
    return " / ".join(f"{v:.2f}" for v in (*quantiles, max(values))) + " s"


def start(spec: ProcessSpec, log_dir: Path) -> subprocess.Popen[bytes]:
    """One of the stack's processes, in a process group of its own (stopped as a group),
    its output in ``log_dir``."""
    log = (log_dir / f"{spec.name}.log").open("ab")
    return subprocess.Popen(
        spec.argv, env=spec.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def wait_for_actions(port: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the action server did not become ready in {timeout:.0f} s")


def command_line() -> str:
    args = " ".join(sys.argv[1:])
    return "make bench-wave" + (f' BENCH_ARGS="{args}"' if args else "")


def write_doc(path: Path, figures: dict[str, Any], load: float) -> None:
    write_section(path, BEGIN, END, [
        "What it does (`scripts/bench_wave.py`): PostgreSQL, Redis, Rasa, the action server, "
        "the gateway and reminder workers, with WhatsApp sent to a local Twilio stand-in; a "
        "baseline of reminders nobody answers, then the wave, while a seeded share of its "
        "residents reply through the signed webhook within a minute of their reminder (some "
        "two messages in a row). Replies are checked against Rasa's conversation store: each "
        "message processed once, in order, and exactly its turn's answers at the stand-in, in "
        "order.", "",
        f"Measured {date.today().isoformat()} by `{command_line()}` (2-core machine, every "
        f"process and the stand-in on it; load average {load:.2f} before the run):", "",
        "| figure | value |", "|---|---|",
        *(f"| {key} | {value} |" for key, value in figures.items()),
    ], "A reminder wave with replies (`make bench-wave`)")  # fmt: skip


def main() -> int:
    default_rate = Settings.model_fields["whatsapp_messages_per_second"].default
    default_late = Settings.model_fields["late_notice_seconds"].default
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=20_000, help="reminders in the wave")
    parser.add_argument(
        "--baseline",
        type=int,
        default=None,
        help="reminders sent first with no replies, for the rate without them (default: "
        "2,000, at most a quarter of --participants; 0: none)",
    )
    parser.add_argument("--no-replies", action="store_true", help="nobody replies in the wave")
    parser.add_argument("--reply-share", type=float, default=0.20, help="share who reply")
    parser.add_argument(
        "--reply-within", type=float, default=60, help="seconds after the reminder, at most"
    )
    parser.add_argument(
        "--pair-share", type=float, default=0.25, help="share of repliers sending two in a row"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=default_rate,
        help=f"SADAR_WHATSAPP_MESSAGES_PER_SECOND (default {default_rate:g})",
    )
    parser.add_argument("--workers", type=int, default=2, help="reminder worker processes")
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--progress", type=float, default=5, help="seconds between lines")
    parser.add_argument(
        "--drain", type=float, default=300, help="seconds to wait for turns after the last post"
    )
    parser.add_argument(
        "--settle", type=float, default=3, help="seconds to watch for late duplicates"
    )
    parser.add_argument(
        "--docs", default="docs/performance.md", help="file to write the figures into ('' = none)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the processes' logs")
    parser.add_argument(
        "--csv",
        metavar="FILE",
        help="also write each reply's timings (seconds from the wave's start)",
    )
    parser.add_argument(
        "--examples", type=int, default=3, help="conversations to print (two messages each)"
    )
    args = parser.parse_args()
    exit_on_sigterm()
    if args.baseline is None:
        args.baseline = min(2000, args.participants // 4)
    if args.no_replies:
        args.reply_share = 0.0

    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="sadar-wave-"))
    log_dir = work / "logs"
    log_dir.mkdir()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    postgres, pg_process = start_postgres()
    redis, redis_process = start_redis()
    failed = True
    try:
        app_db = postgres.url(postgres.create_database("sadar"))
        tracker_db = postgres.create_database("rasa_tracker")
        with running_fake_twilio() as fake:
            box = StampedMessages()
            fake.messages = box
            values = stack_environment(work / "data", redis.url, replicas=1)
            gateway = f"http://127.0.0.1:{values['SADAR_GATEWAY_PORT']}"
            values.update({
                "SADAR_ENV": "test",
                "SADAR_LOG_LEVEL": "WARNING",
                "SADAR_DATABASE_URL": app_db,
                "SADAR_TRACKER_STORE_URL": postgres.libpq_url(tracker_db),
                "SADAR_PII_HASH_KEY": PII_KEY,
                "SADAR_PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "SADAR_PUBLIC_BASE_URL": gateway,
                "SADAR_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "SADAR_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "SADAR_TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
                "SADAR_TWILIO_API_BASE_URL": fake.base_url,
                "SADAR_WHATSAPP_REMINDER_CONTENT_SID": REMINDER_SID,
                "SADAR_WHATSAPP_MESSAGES_PER_SECOND": f"{args.rate:g}",
                **clock_environment(CLOCK_START),
            })  # fmt: skip
            os.environ.update(values)  # this process queues reminders with the same settings
            settings = Settings.model_validate({k[6:].lower(): v for k, v in values.items()})
            upgrade(settings.database_url)
            specs = {s.name: s for s in process_specs(settings, environ=dict(os.environ))}
            for name in ("rasa", "actions", "gateway"):
                processes[name] = start(specs[name], log_dir)
            context = AppContext.from_settings(settings)
            total = args.baseline + args.participants
            print(f"generating {total:,} participants (COPY) while the stack starts ...",
                  flush=True)  # fmt: skip
            started = time.perf_counter()
            generate(context, total)
            planned = plan_and_hold(context, settings)
            print(f"  generated and planned {planned:,} reminders in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
            print("waiting for Rasa, the action server and the gateway ...", flush=True)
            wait_ready(gateway)
            wait_for_actions(values["SADAR_ACTION_SERVER_PORT"])
            for k in range(args.workers):
                processes[f"worker-{k + 1}"] = start(specs["reminders"], log_dir)
            stack = Stack(
                context, gateway, box, processes, log_dir,
                {"postgres": pg_process.pid, "redis": redis_process.pid},
            )  # fmt: skip

            wave_numbers = [number(i) for i in range(args.baseline, total)]
            parts = []
            if args.baseline:
                parts.append(Part("baseline, no replies", 1, args.baseline, {}))
            parts.append(Part("wave", args.baseline + 1, total, residents(wave_numbers, args)))
            for part in parts:
                asyncio.run(run_part(part, stack, args))

            wave = parts[-1]
            check = Check()
            turns = conversations(postgres.libpq_url(tracker_db), context, wave.repliers.keys())
            received: dict[str, list[tuple[str, float]]] = {}
            for i in range(wave.first_message, len(box)):
                message = box[i]
                if message.get("ContentSid") != REMINDER_SID:
                    phone = message["To"].removeprefix("whatsapp:")
                    received.setdefault(phone, []).append((message.get("Body", ""), box.times[i]))
            for phone, resident in wave.repliers.items():
                if resident.posted:
                    verify(resident, turns[phone], received.get(phone, []), default_late, check)
            reminded = Counter(m["To"] for m in box if m.get("ContentSid") == REMINDER_SID)
            # Answers to numbers that never wrote.
            stray = sum(1 for phone in received if phone not in wave.repliers)

        posted = [p for r in wave.repliers.values() for p in r.posted]
        last_reminder = max(
            (box.times[i] for i in range(wave.first_message, wave.last_message)
             if box[i].get("ContentSid") == REMINDER_SID),
            default=0.0,
        )  # fmt: skip
        pairs = sum(len(r.posted) == 2 for r in wave.repliers.values())
        figures: dict[str, Any] = {
            "participants in the wave": f"{args.participants:,}",
            "configured WhatsApp limit (msg/s; the Outbox paces at 97%)": f"{args.rate:g}",
            "reminders' share of it (SADAR_REMINDER_SHARE_OF_SEND_RATE; the rest is kept "
            "for answers)": f"{settings.reminder_share_of_send_rate:g}",
            "reminder worker processes": args.workers,
        }
        for part in parts:
            for key, value in dispatch_figures(part, box).items():
                figures[f"{part.name}: {key}"] = value
            figures[f"{part.name}: reminder states"] = part.states
            figures[f"{part.name}: CPU, % of one core"] = ", ".join(
                f"{name} {share:.0%}" for name, share in part.cpu.items()
            )
            figures[f"{part.name}: this process's event loop late by, p99 / max"] = (
                f"{percentile(part.lag, 0.99):.2f} / {max(part.lag, default=0):.2f} s"
            )
            if part.unfinished:
                figures[f"{part.name}: NOT FINISHED"] = part.unfinished
        figures["reminders sent twice (any number)"] = sum(n - 1 for n in reminded.values())
        if not args.no_replies:
            statuses = Counter(p.status for p in posted)
            figures.update({
                "residents who replied": f"{len(wave.repliers):,} "
                f"({args.reply_share:.0%}, within {args.reply_within:g} s of their reminder)",
                "messages posted to the webhook (two in a row)": f"{len(posted):,} ({pairs:,})",
                "webhook answers": dict(statuses),
                "webhook answer time p50 / p95 / p99 / max (Twilio waits 15 s)":
                    latency_row([p.answered_in for p in posted]),
                "reply latency p50 / p95 / p99 / max (post to first answer at the stand-in)":
                    latency_row(check.first_answer),
                "same, to the answer's last message": latency_row(check.full_answer),
                "same, replies posted while reminders went out": latency_row(
                    [v for v, at in zip(check.first_answer, check.posted_at, strict=True)
                     if at <= last_reminder]
                ),
                "same, replies posted after the last reminder": latency_row(
                    [v for v, at in zip(check.first_answer, check.posted_at, strict=True)
                     if at > last_reminder]
                ),
                f"replies that waited and got 'mohon tunggu' (after {default_late:g} s)":
                    f"{check.noticed_messages:,} ({check.noticed_senders:,} residents, "
                    f"{check.notices:,} notices)",
                f"replies answered after {default_late:g} s without a notice (one per "
                "resident per 5 min; waits outside the admission queue are not counted)":
                    f"{check.late_without_notice:,} ({check.late_second:,} second messages; "
                    f"{check.late_untold:,} residents never told)",
                "replies answered exactly once": f"{check.once:,} / {check.messages:,}",
                "replies not answered": check.unanswered,
                "replies answered twice": check.answered_twice,
                "replies Rasa processed twice": check.processed_twice,
                "messages no turn explains (duplicates, failures)": check.extra_messages,
                "answers to numbers that sent nothing": stray,
                "residents whose answers came in the order of their messages":
                    f"{check.senders_in_order:,} / {check.senders:,}",
                "failure texts sent": dict(check.failure_texts) or 0,
                **{f"gateway's own count: {k}": v for k, v in wave.gateway.items()},
            })  # fmt: skip
        print()
        for key, value in figures.items():
            print(f"  {key}: {value}")
        for problem in check.problems[:10]:
            print(f"  PROBLEM {problem}")
        shown = [r for r in wave.repliers.values() if len(r.posted) > 1][: args.examples]
        for resident in shown:  # what residents wrote and got, to read the run by eye
            print(f"  example {resident.number}: wrote {[p.text for p in resident.posted]}")
            for body, _ in received.get(resident.number, []):
                print(f"    <- {body.splitlines()[0][:90]}")
        if args.csv:
            start_at = (
                box.times[wave.first_message] if wave.last_message > wave.first_message else 0
            )
            rows = zip(
                check.posted_at, check.first_answer, check.with_notice, check.nth, strict=True
            )
            Path(args.csv).write_text(
                "posted_s,latency_s,notice,nth\n"
                + "".join(f"{at - start_at:.3f},{v:.3f},{int(n)},{k}\n" for at, v, n, k in rows)
            )
        if args.docs:
            write_doc(ROOT / args.docs, figures, load)
            print(f"written to {args.docs}")
        failed = bool(
            any(part.unfinished for part in parts)
            or check.problems
            or check.unanswered
            or check.answered_twice
            or check.extra_messages
            or stray
        )
        return 1 if failed else 0
    finally:
        stop_groups(processes)
        stop(redis_process)
        stop(pg_process)
        shutil.rmtree(postgres.data_dir, ignore_errors=True)
        if args.keep or failed:
            print(f"logs of the processes: {log_dir}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
