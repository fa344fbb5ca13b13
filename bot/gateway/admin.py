"""The operations console at /admin: for the administrator and for operators limited to a
regency or a set of villages (bot/domain/access.py), who see only their scope.

Pages answer one question each (the summary answers the four a regency's coordinator asks
first: how many registered, where residents give up, whether reminders arrive, who waits
for a KPJ number). Every table sorts and filters on the server and downloads as CSV with
the rows shown; every view of personal data, masked or not, is audited (admin_audit).
Server-rendered HTML with SVG charts drawn here (bot/gateway/console.py): nothing is loaded
from elsewhere, so it works on a village office's slow phone connection and leaks nothing
to third parties."""

from __future__ import annotations

import asyncio
import html
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from string import Template
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot import messages
from bot.app_context import AppContext
from bot.domain.access import ADMINISTRATOR, OutsideScope, Viewer
from bot.domain.formatting import MONTHS, bulan_range, percent, rupiah
from bot.domain.funnel import Outcome, where_most_gave_up
from bot.domain.replies import BotReply
from bot.domain.senders import channel_of
from bot.domain.submissions import SubmissionState
from bot.gateway.admin_auth import (
    SESSION_SECONDS,
    AdminSessions,
    LoginGuard,
    account_lookup,
    authenticate_operator,
    check_password,
)
from bot.gateway.console import (
    Markup,
    Row,
    Sorted,
    Table,
    bar_chart,
    day,
    funnel_chart,
    lasting,
    on,
    page,
    when,
    wib,
)
from bot.gateway.console import filter_form as filters_html
from bot.infra.privacy import keyed_hash
from bot.infra.settings import Settings
from bot.infra.spreadsheets import write_rows
from bot.services.activity import monthly_activity, registrations_between
from bot.services.agents import list_agents
from bot.services.coverage import coverage_report
from bot.services.delivery_stats import (
    FALLBACK_NOTE,
    delivery_csv_rows,
    delivery_report,
    failure_csv_rows,
    reminder_csv_rows,
)
from bot.services.funnel import (
    breakdown_rows,
    day_bounds,
    funnel_report,
    funnel_rows,
)
from bot.services.handoff import answer, list_tickets, ticket_in_scope, ticket_label
from bot.services.handoff_relay import HandoffRelay
from bot.services.operators import record_view
from bot.services.payments import (
    CASH_BOOK_HEADER,
    cash_book,
    cash_book_rows,
    cash_by_village,
    count_payments,
    list_payments,
)
from bot.services.registry.submissions import (
    pipeline,
    rejected_registrations,
    waiting_count,
    waiting_registrations,
)

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
COOKIE = "sadar_admin"
HOUSEHOLD_TARGET = 0.5
#: Receipts shown on the page; the rest are in each village's CSV.
MAX_PAYMENT_ROWS = 200
#: The period a page shows when none is chosen: the last 7 days, today included.
DEFAULT_DAYS = 7
MAX_DAYS = 366
#: The query parameters the console reads; any other is dropped before use.
QUERY_KEYS = ("from", "to", "month", "channel", "q", "sort", "table", "village")


@dataclass
class View:
    title: str
    blocks: list[str | Table]
    #: Which filters the page offers (bot.gateway.console.filter_form).
    filters: tuple[str, ...] = ()


Builder = Callable[[AppContext, Viewer, dict[str, str]], Awaitable[View]]


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


#: The earliest day the console asks the database about (Sadar did not exist before).
EARLIEST = date(2020, 1, 1)


def _day_asked(text: str | None, today: date) -> date | None:
    """A day from the query (2026-11-30), within EARLIEST and today; None if it is none."""
    try:
        asked = date.fromisoformat(text) if text else None
    except ValueError:
        return None
    return None if asked is None else min(max(asked, EARLIEST), today)


def period(query: dict[str, str], today: date) -> tuple[date, date]:
    """The days asked for (?from=2026-11-01&to=2026-11-30), else the last DEFAULT_DAYS; at
    most MAX_DAYS, never before EARLIEST nor past today."""
    last = _day_asked(query.get("to"), today) or today
    first = _day_asked(query.get("from"), today)
    if first is None or first > last:
        first = max(last - timedelta(days=DEFAULT_DAYS - 1), EARLIEST)
    return max(first, last - timedelta(days=MAX_DAYS - 1)), last


def month_of(query: dict[str, str], today: date) -> date:
    """The month asked for (?month=2026-12), else this one; never before EARLIEST nor
    after this month."""
    this_month = today.replace(day=1)
    try:
        asked = datetime.strptime(query.get("month") or "", "%Y-%m").date()
    except ValueError:
        return this_month
    return min(max(asked, EARLIEST), this_month)


def _area(text: str) -> tuple[str, str, str] | None:
    parts = [part.strip() for part in text.split("/")]
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 and all(parts) else None


def _period_line(first: date, last: date) -> str:
    return f"<p>{messages.CONSOLE_PERIOD.format(first=day(first), last=day(last))}</p>"


def _link(path: str, text: str) -> str:
    return f'<a href="{html.escape(path)}">{html.escape(text)}</a>'


# --- the pages ----------------------------------------------------------------------------


async def summary_view(context: AppContext, viewer: Viewer, query: dict[str, str]) -> View:
    """The four questions, for the last 7 days, each with the page that answers more."""
    today, now, scope = context.clock.today(), context.clock.now(), viewer.scope
    first = today - timedelta(days=DEFAULT_DAYS - 1)
    start, end = day_bounds(first, today)
    registered, funnel, delivery, handover, (waiting, since) = await asyncio.gather(
        asyncio.to_thread(
            partial(registrations_between, scope=scope), context.unit_of_work(), start, end
        ),
        asyncio.to_thread(
            partial(funnel_report, scope=scope), context.unit_of_work(), first, today, now
        ),
        asyncio.to_thread(
            partial(delivery_report, regency=scope.regency, villages=scope.villages or None),
            context.unit_of_work(),
            first,
            today,
        ),
        asyncio.to_thread(partial(pipeline, scope=scope), context.unit_of_work()),
        asyncio.to_thread(partial(waiting_count, scope=scope), context.unit_of_work()),
    )
    gave_up_at = where_most_gave_up(funnel.steps)
    abandoned = funnel.outcomes.get(Outcome.ABANDONED, 0)
    if gave_up_at is not None:
        question, row = gave_up_at
        gave_up = (
            f'<p class="big">{html.escape(messages.FUNNEL_QUESTION_LABELS[question.value])}</p>'
            + "<p>"
            + messages.CONSOLE_GAVE_UP.format(
                lost=row.lost, share=percent(row.share_lost), abandoned=abandoned
            )
            + "</p>"
        )
    else:
        gave_up = f'<p class="big">-</p><p>{messages.CONSOLE_NOBODY_GAVE_UP}</p>'
    # Only WhatsApp reports arrival: the share is of the reminders WhatsApp took.
    sent = sum(r.sent_on_reporting_channel for r in delivery.reminders)
    arrived = sum(r.delivered for r in delivery.reminders)
    failed = sum(r.failed for r in delivery.reminders)
    # The same registrations as the waiting list on /admin/bpjs.
    totals = handover.totals()
    oldest = wib(since, with_time=False) if since else "-"
    cards = [
        (
            "registered",
            messages.CONSOLE_REGISTERED_TITLE,
            f'<p class="big">{registered}</p><p>'
            + messages.CONSOLE_REGISTERED.format(
                started=funnel.started, done=funnel.outcomes.get(Outcome.CONFIRMED, 0)
            )
            + "</p>",
            "/admin/pendaftaran",
            messages.CONSOLE_REGISTERED_MORE,
        ),
        (
            "gave-up",
            messages.CONSOLE_GAVE_UP_TITLE,
            gave_up,
            "/admin/pendaftaran",
            messages.CONSOLE_GAVE_UP_MORE,
        ),
        (
            "reminders",
            messages.CONSOLE_REMINDERS_TITLE,
            f'<p class="big">{percent(arrived / sent if sent else None)}</p><p>'
            + messages.CONSOLE_REMINDERS.format(arrived=arrived, sent=sent, failed=failed)
            + "</p>",
            "/admin/pengiriman",
            messages.CONSOLE_REMINDERS_MORE,
        ),
        (
            "waiting-kpj",
            messages.CONSOLE_WAITING_TITLE,
            f'<p class="big">{waiting}</p><p>'
            + messages.CONSOLE_WAITING.format(
                oldest=oldest, rejected=totals[SubmissionState.REJECTED.value]
            )
            + "</p>",
            "/admin/bpjs",
            messages.CONSOLE_WAITING_MORE,
        ),
    ]
    body = "".join(
        f'<section class="card" id="{key}"><h2>{title}</h2>{content}{_link(href, more)}</section>'
        for key, title, content, href, more in cards
    )
    return View(
        "Ringkasan",
        [
            "<p>"
            + messages.CONSOLE_SUMMARY_INTRO.format(
                first=day(first), last=day(today), scope=html.escape(scope.describe())
            )
            + "</p>",
            f'<div class="cards">{body}</div>',
        ],
    )


def shown_period(query: dict[str, str], today: date) -> tuple[date, date]:
    """``period``, written back into the query so the filter form shows the days the page
    shows (and the sort links and the CSV keep them)."""
    first, last = period(query, today)
    query.update({"from": first.isoformat(), "to": last.isoformat()})
    return first, last


async def funnel_view(context: AppContext, viewer: Viewer, query: dict[str, str]) -> View:
    first, last = shown_period(query, context.clock.today())
    channel = query.get("channel") if query.get("channel") in messages.CHANNEL_LABELS else None
    village = _area(query.get("village", ""))
    report = await asyncio.to_thread(
        partial(funnel_report, scope=viewer.scope, channel=channel, village=village),
        context.unit_of_work(),
        first,
        last,
        context.clock.now(),
    )
    median = report.median_minutes_to_complete
    outcomes = ", ".join(
        f"{messages.FUNNEL_OUTCOME_LABELS[o.value]} {n}" for o, n in report.outcomes.items()
    )
    retried = ", ".join(
        f"{messages.FUNNEL_STEP_LABELS[s.step.value]} ({s.retries}×)" for s in report.most_retried()
    )
    helped = ", ".join(
        f"{messages.FUNNEL_STEP_LABELS[s.step.value]} ({s.handoffs}×)"
        for s in report.most_handed_over()
    )
    focus = ""
    if not viewer.scope.everything:
        focus += f'<p class="note">{messages.CONSOLE_FUNNEL_SCOPED}</p>'
    if village:
        everywhere = _link("/admin/pendaftaran", messages.CONSOLE_FUNNEL_ALL_VILLAGES)
        one = messages.CONSOLE_FUNNEL_ONE_VILLAGE.format(
            village=html.escape(" / ".join(village)), all_villages=everywhere
        )
        focus += f"<p>{one}</p>"
    villages = Table(
        "funnel-villages",
        messages.FUNNEL_BREAKDOWN_HEADER,
        [
            [
                Markup(
                    _link(
                        "/admin/pendaftaran?"
                        + urlencode({**_kept(query, "from", "to", "channel"), "village": row[0]}),
                        str(row[0]),
                    ),
                    str(row[0]),
                ),
                *row[1:],
            ]
            for row in breakdown_rows(report.by_village)
        ],
        numeric=frozenset(range(1, 8)),
        caption="Per desa (desa diketahui setelah warga menjawab pertanyaan desa)",
        download="pendaftaran-desa",
    )
    return View(
        "Tahap pendaftaran",
        [
            _period_line(first, last),
            focus,
            "<p>"
            + messages.CONSOLE_FUNNEL_TOTALS.format(
                started=f"<strong>{report.started}</strong>",
                in_progress=report.in_progress,
                outcomes=outcomes or messages.CONSOLE_FUNNEL_NONE_DONE,
                median=f"<strong>{'-' if median is None else f'{median:.0f} menit'}</strong>",
            )
            + "</p>",
            "<p>"
            + messages.CONSOLE_FUNNEL_TRIES.format(retried=retried or "-", helped=helped or "-")
            + "</p>",
            funnel_chart(
                "funnel",
                [
                    (messages.FUNNEL_STEP_LABELS[s.step.value], s.reached, s.lost)
                    for s in report.steps
                ],
                "Jumlah pendaftaran yang sampai di tiap langkah",
            ),
            Table(
                "funnel-steps",
                messages.FUNNEL_HEADER,
                [list(row) for row in funnel_rows(report)],
                numeric=frozenset(range(1, 6)),
                caption="Per langkah",
                download="pendaftaran-langkah",
            ),
            Table(
                "funnel-channels",
                messages.FUNNEL_BREAKDOWN_HEADER,
                [list(row) for row in breakdown_rows(report.by_channel, channels=True)],
                numeric=frozenset(range(1, 8)),
                caption="Per kanal",
                download="pendaftaran-kanal",
            ),
            villages,
        ],
        filters=("period", "channel"),
    )


def _kept(query: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: query[k] for k in keys if query.get(k)}


async def delivery_view(context: AppContext, viewer: Viewer, query: dict[str, str]) -> View:
    first, last = shown_period(query, context.clock.today())
    scope = viewer.scope
    report = await asyncio.to_thread(
        partial(delivery_report, regency=scope.regency, villages=scope.villages or None),
        context.unit_of_work(),
        first,
        last,
    )
    channel = query.get("channel")
    days = [d for d in report.days if not channel or d.channel == channel]
    dates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    # A year's days need the year to tell them apart.
    labels = [d.strftime("%d-%m" if len(dates) <= 62 else "%d-%m-%y") for d in dates]

    def per_day(field: str) -> list[int]:
        totals = dict.fromkeys(dates, 0)
        for d in days:
            totals[d.day] += int(getattr(d, field))
        return list(totals.values())

    header, rows = delivery_csv_rows(report)
    shown = [[on(d.day), *r[1:]] for r, d in zip(rows, report.days, strict=True) if d in days]
    failure_header, failures = failure_csv_rows(report)
    reminder_header, reminders = reminder_csv_rows(report)
    scoped = "" if scope.everything else f'<p class="note">{messages.CONSOLE_DELIVERY_SCOPED}</p>'
    return View(
        "Pengiriman dan pengingat",
        [
            _period_line(first, last),
            scoped,
            bar_chart(
                "delivery-chart",
                labels,
                [
                    ("terkirim", per_day("sent")),
                    ("sampai (WhatsApp)", per_day("delivered")),
                    ("gagal", per_day("failed")),
                ],
                "Pesan terkirim, sampai dan gagal per hari",
            ),
            Table(
                "delivery-days",
                header,
                [list(r) for r in shown],
                numeric=frozenset(range(2, len(header))),
                caption="Per hari dan kanal (Telegram tidak melaporkan sampai dan dibaca)",
                download="pengiriman-harian",
                footnote=html.escape(FALLBACK_NOTE),
            ),
            Table(
                "delivery-failures",
                failure_header,
                [list(r) for r in failures],
                numeric=frozenset({len(failure_header) - 1}),
                caption="Alasan gagal dari platform",
                download="pengiriman-gagal",
            ),
            Table(
                "reminder-kinds",
                reminder_header,
                [list(r) for r in reminders],
                numeric=frozenset(range(1, len(reminder_header))),
                caption="Pengingat per jenis, dan pembayaran dalam 7 hari sesudahnya",
                download="pengingat",
            ),
        ],
        filters=("period", "channel"),
    )


async def registry_view(context: AppContext, viewer: Viewer, query: dict[str, str]) -> View:
    scope = viewer.scope
    handover, waiting, rejections = await asyncio.gather(
        asyncio.to_thread(partial(pipeline, scope=scope), context.unit_of_work()),
        asyncio.to_thread(
            partial(waiting_registrations, scope=scope), context.unit_of_work(), context.cipher
        ),
        asyncio.to_thread(partial(rejected_registrations, scope=scope), context.unit_of_work()),
    )
    now = context.clock.now()
    states = list(SubmissionState)
    pipeline_table = Table(
        "handover",
        ["Desa / kabupaten", *(messages.SUBMISSION_STATE_LABELS[s.value] for s in states)],
        [
            [f"{village} / {regency}", *(counts[s.value] for s in states)]
            for (regency, village), counts in sorted(handover.by_area.items())
        ],
        numeric=frozenset(range(1, len(states) + 1)),
        caption="Jumlah per keadaan",
        download="bpjs-keadaan",
    )
    waiting_table = Table(
        "waiting",
        ["Nomor Sadar", "Warga", "Desa / kabupaten", "Keadaan", "Terdaftar", "Menunggu"],
        [
            [
                line.reference,
                line.masked_name,
                f"{line.village} / {line.regency}",
                messages.SUBMISSION_STATE_LABELS[line.state.value],
                when(line.registered_at),
                _waited_days(now - line.registered_at),
            ]
            for line in waiting
        ],
        numeric=frozenset({5}),
        codes=frozenset({0}),
        caption="Menunggu nomor KPJ, terlama dulu (nama disamarkan)",
        personal=True,
        download="menunggu-kpj",
    )
    rejection_table = Table(
        "rejections",
        ["Nomor Sadar", "Desa / kabupaten", "Alasan", "Sejak", "Tindak lanjut"],
        [
            [
                line.reference,
                f"{line.village} / {line.regency}",
                messages.REJECTION_LABELS.get(line.reason, line.reason),
                when(line.since, with_time=False),
                Markup(_link(f"#alasan-{line.reason}", "Apa yang dilakukan"), ""),
            ]
            for line in rejections
        ],
        codes=frozenset({0}),
        caption="Ditolak BPJS, terbaru dulu (warga dan agen desanya melihat alasannya di chat)",
        personal=True,
        download="ditolak-bpjs",
    )
    by_reason = Table(
        "rejection-reasons",
        ["Alasan penolakan", "Jumlah", "Tindak lanjut"],
        [
            [
                messages.REJECTION_LABELS.get(reason, reason),
                count,
                Markup(_link(f"#alasan-{reason}", "Apa yang dilakukan"), ""),
            ]
            for reason, count in handover.rejections.most_common()
        ],
        numeric=frozenset({1}),
        caption="Penolakan per alasan",
        download="ditolak-per-alasan",
    )
    guidance = "".join(
        f'<li id="alasan-{code}"><strong>{html.escape(messages.REJECTION_LABELS[code])}</strong>:'
        f" {html.escape(action)}</li>"
        for code, action in messages.REJECTION_ACTIONS.items()
    )
    oldest = wib(waiting[0].registered_at) if waiting else "-"  # the list is oldest first
    return View(
        "Pendaftaran ke BPJS Ketenagakerjaan",
        [
            "<p>"
            + messages.CONSOLE_REGISTRY_INTRO.format(
                oldest=f"<strong>{oldest}</strong>", due=handover.withdrawals_due
            )
            + "</p>",
            pipeline_table,
            by_reason,
            waiting_table,
            rejection_table,
            f'<h2>{messages.CONSOLE_REGISTRY_GUIDANCE}</h2><ul class="guidance">{guidance}</ul>',
        ],
        filters=(),
    )


async def coverage_view(context: AppContext, viewer: Viewer, query: dict[str, str]) -> View:
    today, scope = context.clock.today(), viewer.scope
    rows, activity = await asyncio.gather(
        asyncio.to_thread(
            partial(coverage_report, scope=scope), context.unit_of_work(), today, "village"
        ),
        asyncio.to_thread(partial(monthly_activity, scope=scope), context.unit_of_work(), today),
    )
    header = [
        "Desa / kecamatan / kabupaten", "Rumah tangga", "Peserta", "% RT", "Perangkat",
        "Perangkat ikut", "Bayar bulan ini", "Menunggak", "Nonaktif", "Baru bulan ini",
        "Menunggu KPJ", "Tanpa alamat pengingat", "Target",
    ]  # fmt: skip
    table_rows: list[Row] = []
    # Where villages were imported, a place the table does not list is most likely a typo
    # or an answer read as a place name: said in the row, for someone to put right.
    listed = any(row.villages for row in rows)
    unlisted = 0
    for row in rows:
        met = row.meets(HOUSEHOLD_TARGET)
        word = messages.ADMIN_TARGET_MET if met else messages.ADMIN_TARGET_NOT_MET
        if listed and not row.villages:
            met, word = False, messages.ADMIN_PLACE_UNLISTED
            unlisted += 1
        table_rows.append(
            [
                " / ".join(reversed(row.area)), row.households, row.participants,
                percent(row.household_share), row.officials, row.officials_enrolled,
                row.paid_this_month, row.in_arrears, row.non_active, row.new_this_month,
                row.awaiting_kpj, row.unreachable,
                Markup(f'<span class="{"yes" if met else "no"}">{word}</span>', word),
            ]
        )  # fmt: skip
    labels = [f"{MONTHS[a.month.month - 1][:3]} {a.month:%y}" for a in activity]
    check = (
        f'<p class="note" id="unlisted">'
        f"{html.escape(messages.CONSOLE_COVERAGE_UNLISTED.format(count=unlisted))}</p>"
        if unlisted
        else ""
    )
    return View(
        "Cakupan desa",
        [
            "<p>"
            + messages.CONSOLE_COVERAGE_INTRO.format(
                today=day(today), target=percent(HOUSEHOLD_TARGET)
            )
            + "</p>",
            check,
            Table(
                "coverage",
                header,
                table_rows,
                numeric=frozenset(range(1, 12)),
                download="cakupan-desa",
            ),
            f"<h2>{messages.CONSOLE_COVERAGE_MONTHLY}</h2>",
            bar_chart(
                "activity",
                labels,
                [
                    ("pendaftaran", [a.registrations for a in activity]),
                    ("pembayaran", [a.payments for a in activity]),
                ],
                "Pendaftaran dan pembayaran terverifikasi per bulan",
            ),
        ],
    )


def _waited_days(delta: timedelta) -> Sorted:
    hours = int(delta.total_seconds() // 3600)
    return lasting(delta, f"{hours} jam" if hours < 24 else f"{hours // 24} hari")


def _waited(delta: timedelta) -> Sorted:
    minutes = int(delta.total_seconds() // 60)
    text = f"{minutes} menit" if minutes < 120 else f"{minutes // 60} jam {minutes % 60} menit"
    return lasting(delta, text)


async def tickets_view(context: AppContext, viewer: Viewer, query: dict[str, str]) -> View:
    scope = viewer.scope
    tickets, agents = await asyncio.gather(
        asyncio.to_thread(
            partial(list_tickets, scope=scope), context.unit_of_work(), context.clock.now()
        ),
        asyncio.to_thread(list_agents, context.unit_of_work(), context.cipher),
    )
    eligible = [a for a in agents if a.active and scope.allows(a.village, a.district, a.regency)]
    rows: list[Row] = []
    for t in tickets:
        state = (
            messages.TICKET_CLOSED_LABELS.get(t.closed_because or "", "ditutup")
            if t.state == "closed"
            else messages.TICKET_STATE_LABELS.get(t.state, t.state)
        )
        form = ""
        if t.state != "closed":
            form = (
                '<form class="inline" method="post" action="/admin/tickets/answer">'
                f'<input type="hidden" name="number" value="{t.number}">'
                '<input name="text" maxlength="1000" required aria-label="Balasan">'
                "<button>Balas</button></form>"
            )
            if eligible:
                options = "".join(
                    f'<option value="{a.id}">{html.escape(a.name)} ({html.escape(a.village)})'
                    "</option>"
                    for a in eligible
                )
                form += (
                    '<form class="inline" method="post" action="/admin/tickets/reassign">'
                    f'<input type="hidden" name="number" value="{t.number}">'
                    f'<select name="agent_id" aria-label="Agen">{options}</select>'
                    "<button>Alihkan</button></form>"
                )
        rows.append(
            [
                ticket_label(t.number), state,
                messages.TICKET_REASON_LABELS.get(t.reason, t.reason), t.village or "-",
                t.agent_name or "admin", when(t.created_at), _waited(t.waited),
                Markup(form, ""),
            ]
        )  # fmt: skip
    return View(
        "Tiket: warga minta bicara dengan petugas",
        [
            f"<p>{messages.CONSOLE_TICKETS_INTRO}</p>",
            Table(
                "tickets",
                ["Tiket", "Keadaan", "Alasan", "Desa", "Agen", "Dibuat", "Menunggu", "Tindakan"],
                rows,
                codes=frozenset({0}),
                personal=True,
                download="tiket",
            ),
        ],
    )


async def payments_view(context: AppContext, viewer: Viewer, query: dict[str, str]) -> View:
    scope = viewer.scope
    month = month_of(query, context.clock.today())
    query["month"] = f"{month:%Y-%m}"  # shown in the filter form
    payments, receipts, cash = await asyncio.gather(
        asyncio.to_thread(
            partial(list_payments, month=month, limit=MAX_PAYMENT_ROWS, scope=scope),
            context.unit_of_work(),
            context.cipher,
        ),
        asyncio.to_thread(partial(count_payments, scope=scope), context.unit_of_work(), month),
        asyncio.to_thread(partial(cash_by_village, scope=scope), context.unit_of_work(), month),
    )
    cash_rows: list[Row] = []
    for row in cash:
        village, district, regency = row.area
        query_string = urlencode(
            {
                "village": village,
                "district": district,
                "regency": regency,
                "month": f"{month:%Y-%m}",
            }
        )
        cash_rows.append(
            [
                f"{village} / {district} / {regency}",
                row.receipts,
                rupiah(row.total),
                Markup(_link(f"/admin/payments.csv?{query_string}", "CSV kas"), ""),
            ]
        )
    payment_rows: list[Row] = []
    for line in payments:
        covered = (
            bulan_range(line.period_from, line.period_to)
            if line.period_from and line.period_to
            else "-"
        )
        payment_rows.append(
            [
                line.receipt, line.group_receipt or "-", on(line.paid_on),
                line.area[0] if line.area else "-", _collector(line.collected_by),
                f"{line.participant_reference or '-'} {line.member}".strip(), line.months,
                covered, rupiah(line.amount),
                messages.PAYMENT_SOURCE_LABELS.get(line.source, line.source),
                "ya" if line.verified else "belum",
            ]
        )  # fmt: skip
    more = max(0, receipts - len(payments))
    label = f"{MONTHS[month.month - 1]} {month.year}"
    return View(
        f"Pembayaran {label}",
        [
            f"<p>{messages.CONSOLE_PAYMENTS_INTRO}</p>",
            Table(
                "cash",
                ["Desa / kecamatan / kabupaten", "Kuitansi", "Jumlah", "Unduh"],
                cash_rows,
                numeric=frozenset({1, 2}),
            ),
            Table(
                "payments",
                [
                    "Kuitansi",
                    "Kuitansi jimpitan",
                    "Tanggal",
                    "Desa",
                    "Dicatat oleh",
                    "Warga",
                    "Bulan",
                    "Untuk",
                    "Jumlah",
                    "Sumber",
                    "Terverifikasi",
                ],
                payment_rows,
                numeric=frozenset({6, 8}),
                codes=frozenset({0, 1}),
                caption="Semua kuitansi, terbaru dulu (warga: nomor Sadar dan nama disamarkan)",
                personal=True,
                download="pembayaran",
                footnote=(
                    f'<span id="more-payments">…dan {more} kuitansi lainnya: lihat CSV kas per '
                    "desa.</span>"
                    if more
                    else ""
                ),
            ),
        ],
        filters=("month",),
    )


PAGES: dict[str, Builder] = {
    "/admin": summary_view,
    "/admin/pendaftaran": funnel_view,
    "/admin/pengiriman": delivery_view,
    "/admin/bpjs": registry_view,
    "/admin/desa": coverage_view,
    "/admin/tiket": tickets_view,
    "/admin/pembayaran": payments_view,
}


# --- the routes ---------------------------------------------------------------------------


def admin_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    key = keyed_hash(settings.pii_hash_key.get_secret_value(), "admin-session")
    secure = settings.public_base_url.startswith("https://") or settings.env == "production"

    def sessions(request: Request) -> AdminSessions:
        stored = settings.admin_password_hash
        context: AppContext = request.app.state.context
        return AdminSessions(
            request.app.state.store,
            key,
            stored.get_secret_value() if stored is not None else None,
            account_lookup(context.unit_of_work),
        )

    async def viewer_of(request: Request) -> Viewer | None:
        return await sessions(request).viewer(request.cookies.get(COOKIE))

    def query_of(request: Request) -> dict[str, str]:
        return {k: v.strip()[:200] for k, v in request.query_params.items() if k in QUERY_KEYS}

    async def audit(request: Request, viewer: Viewer, what: str, rows: int) -> None:
        context: AppContext = request.app.state.context
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        await asyncio.to_thread(
            record_view, context.unit_of_work(), viewer, what, rows, target, context.clock.now()
        )

    def register(path: str, build: Builder) -> None:
        async def show(request: Request) -> Response:
            viewer = await viewer_of(request)
            if viewer is None:
                return RedirectResponse("/admin/login", status_code=303)
            context: AppContext = request.app.state.context
            query = query_of(request)
            view = await build(context, viewer, query)
            tables = [b for b in view.blocks if isinstance(b, Table)]
            for table in tables:
                table.narrowed(query)
            personal = sum(len(t.rows) for t in tables if t.personal)
            if personal:
                await audit(
                    request, viewer, path.removeprefix("/admin").strip("/") or "ringkasan", personal
                )
            body = filters_html(path, query, view.filters) if tables else ""
            body += "".join(b.render(path) if isinstance(b, Table) else b for b in view.blocks)
            return HTMLResponse(
                page(view.title, viewer, path, body, generated=context.clock.now()),
                headers={"Cache-Control": "no-store"},
            )

        async def download(request: Request) -> Response:
            viewer = await viewer_of(request)
            if viewer is None:
                return RedirectResponse("/admin/login", status_code=303)
            context: AppContext = request.app.state.context
            query = query_of(request)
            view = await build(context, viewer, query)
            found = [b for b in view.blocks if isinstance(b, Table) and b.key == query.get("table")]
            if not found or not found[0].download:
                return HTMLResponse(messages.ADMIN_BAD_FORM, status_code=404)
            table = found[0].narrowed(query)
            if table.personal:
                await audit(request, viewer, f"{table.download}.csv", len(table.rows))
            today = context.clock.today()
            return Response(
                table.csv(),
                media_type="text/csv; charset=utf-8",
                headers={
                    "Content-Disposition": (
                        f'attachment; filename="{table.download}-{today:%Y-%m-%d}.csv"'
                    ),
                    "Cache-Control": "no-store",
                },
            )

        router.add_api_route(path, show, methods=["GET"], response_class=HTMLResponse)
        router.add_api_route(f"{path}.csv", download, methods=["GET"])

    @router.get("/admin/login", response_class=HTMLResponse)
    async def login_page() -> HTMLResponse:
        return HTMLResponse(_template("admin_login.html").substitute(error="", username=""))

    @router.post("/admin/login")
    async def login(request: Request) -> Response:
        context: AppContext = request.app.state.context
        address = request.client.host if request.client else "unknown"
        guard = LoginGuard(request.app.state.store, key)
        try:
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            return HTMLResponse(messages.ADMIN_WRONG_PASSWORD, status_code=400)
        username = form.get("username", "").strip().lower()[:32]

        def again(error: str) -> str:
            return _template("admin_login.html").substitute(
                error=error, username=html.escape(username)
            )

        if await guard.locked(address, username or None):
            log.warning("console login refused: too many failures")
            return HTMLResponse(
                again(messages.ADMIN_LOCKED), status_code=429, headers={"Retry-After": "900"}
            )
        password = form.get("password", "")
        if not username and settings.admin_password_hash is None:
            return HTMLResponse(again(messages.ADMIN_CLOSED), status_code=503)
        viewer: Viewer | None = None
        if username:
            viewer = await authenticate_operator(
                context.unit_of_work(), username, password, context.clock.now()
            )
        elif settings.admin_password_hash is not None and await check_password(
            password, settings.admin_password_hash.get_secret_value()
        ):
            viewer = ADMINISTRATOR
        if viewer is None:
            failures = await guard.failed(address, username or None)
            log.warning("failed console login (%d from this address)", failures)
            await asyncio.sleep(min(2 ** (failures - 1), 8))  # slower with every failure
            return HTMLResponse(again(messages.ADMIN_WRONG_PASSWORD), status_code=401)
        await guard.succeeded(address, username or None)
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(
            COOKIE,
            await sessions(request).open(viewer),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=secure,
        )
        return response

    @router.post("/admin/logout")
    async def logout(request: Request) -> Response:
        await sessions(request).close(request.cookies.get(COOKIE))
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    for path, build in PAGES.items():
        register(path, build)

    @router.get("/admin/payments.csv")
    async def payments_csv(request: Request) -> Response:
        """One village's cash receipts of one month, for its Wadah to reconcile the cash box
        (members by reference and masked name)."""
        viewer = await viewer_of(request)
        if viewer is None:
            return RedirectResponse("/admin/login", status_code=303)
        params = request.query_params
        area = (params.get("village", ""), params.get("district", ""), params.get("regency", ""))
        if not all(part.strip() for part in area):
            return HTMLResponse(messages.ADMIN_BAD_FORM, status_code=400)
        context: AppContext = request.app.state.context
        month = month_of(dict(params), context.clock.today())
        try:
            book = await asyncio.to_thread(
                partial(cash_book, scope=viewer.scope),
                context.unit_of_work(),
                context.cipher,
                area,
                month,
            )
        except OutsideScope:
            return HTMLResponse(messages.ADMIN_OUTSIDE_SCOPE, status_code=403)
        await audit(request, viewer, "kas.csv", len(book.lines))
        stream = io.StringIO()
        write_rows(stream, CASH_BOOK_HEADER, cash_book_rows(book))
        name = "".join(c if c.isalnum() else "-" for c in area[0].lower())
        return Response(
            stream.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="kas-{name}-{month:%Y-%m}.csv"',
                "Cache-Control": "no-store",
            },
        )

    async def ticket_form(request: Request, field: str) -> tuple[Viewer, int, str] | Response:
        """A logged-in account's ticket form: who, the ticket number and ``field``'s value,
        or the page to answer with instead. A ticket outside the account's scope is
        refused as one that does not exist."""
        viewer = await viewer_of(request)
        if viewer is None:
            return RedirectResponse("/admin/login", status_code=303)
        try:
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            number, value = int(form["number"]), form[field].strip()[:1000]
        except (UnicodeDecodeError, KeyError, ValueError):
            return HTMLResponse(messages.ADMIN_BAD_FORM, status_code=400)
        if not value:
            return HTMLResponse(messages.ADMIN_BAD_FORM, status_code=400)
        context: AppContext = request.app.state.context
        if not viewer.scope.everything and not await asyncio.to_thread(
            ticket_in_scope, context.unit_of_work(), number, viewer.scope
        ):
            return HTMLResponse(messages.ADMIN_ANSWER_REFUSED, status_code=409)
        return viewer, number, value

    @router.post("/admin/tickets/answer")
    async def answer_ticket(request: Request) -> Response:
        """An administrator or operator answers a ticket (one no agent could take)."""
        form = await ticket_form(request, "text")
        if isinstance(form, Response):
            return form
        viewer, number, text = form
        context: AppContext = request.app.state.context
        outcome = await asyncio.to_thread(
            answer, context.unit_of_work(), context.cipher, None, number, text,
            context.clock.now(), admin=True,
        )  # fmt: skip
        if outcome.refused is not None or outcome.delivered_to is None:
            return HTMLResponse(messages.ADMIN_ANSWER_REFUSED, status_code=409)
        log.info("%s answered %s", _who(viewer), ticket_label(number))
        outbox = request.app.state.outbox
        resident = outcome.delivered_to
        if not outcome.queued_for_web and outbox.has_channel(channel_of(resident)):
            reply = BotReply(text=messages.HANDOFF_FROM_ADMIN.format(text=text))
            await outbox.send(resident, reply, purpose="handoff")
        return RedirectResponse("/admin/tiket", status_code=303)

    @router.post("/admin/tickets/reassign")
    async def reassign_ticket(request: Request) -> Response:
        """Give an open ticket to another agent (the administrator: any village; an
        operator: one of their scope); the agent and the resident are told (the session
        cookie is SameSite=strict: another site cannot post this form)."""
        form = await ticket_form(request, "agent_id")
        if isinstance(form, Response):
            return form
        viewer, number, chosen = form
        try:
            agent_id = int(chosen)
        except ValueError:
            return HTMLResponse(messages.ADMIN_BAD_FORM, status_code=400)
        context: AppContext = request.app.state.context
        if not viewer.scope.everything:
            agents = await asyncio.to_thread(list_agents, context.unit_of_work(), context.cipher)
            if not any(
                a.id == agent_id and viewer.scope.allows(a.village, a.district, a.regency)
                for a in agents
            ):
                return HTMLResponse(messages.ADMIN_REASSIGN_REFUSED, status_code=409)
        relay: HandoffRelay = request.app.state.relay  # the gateway's one (bot/bootstrap.py)
        if not await relay.reassign(number, agent_id):
            return HTMLResponse(messages.ADMIN_REASSIGN_REFUSED, status_code=409)
        log.info("%s reassigned %s to agent %d", _who(viewer), ticket_label(number), agent_id)
        return RedirectResponse("/admin/tiket", status_code=303)

    return router


def _collector(recorded_by: str) -> str:
    """Who recorded a payment, in words: an agent's name stays; "provider", "cli:…",
    "participant:wa" become what they are."""
    kind, _, detail = recorded_by.partition(":")
    if kind == "provider":
        return messages.PAYMENT_RECORDER_LABELS["provider"]
    if kind == "cli":
        return messages.PAYMENT_RECORDER_LABELS["cli"]
    if kind == "participant":
        channel = messages.CHANNEL_LABELS.get(detail, detail)
        return f"{messages.PAYMENT_RECORDER_LABELS['participant']} ({channel})"
    return recorded_by


def _who(viewer: Viewer) -> str:
    return "administrator" if viewer.operator_id is None else f"operator {viewer.operator_id}"
