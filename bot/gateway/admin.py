"""The village coverage dashboard at /admin, behind the administrator's password.

Server-rendered HTML with an inline SVG chart: nothing is loaded from elsewhere, so it works
on a village office's slow connection and leaks nothing to third parties."""

from __future__ import annotations

import asyncio
import html
import io
import logging
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from string import Template
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot import messages
from bot.app_context import AppContext
from bot.domain.clock import INDONESIA_TIME, local_date
from bot.domain.formatting import MONTHS, bulan_range, rupiah
from bot.domain.replies import BotReply
from bot.domain.senders import channel_of
from bot.domain.submissions import SubmissionState
from bot.gateway.admin_auth import SESSION_SECONDS, AdminSessions, LoginGuard, check_password
from bot.infra.privacy import keyed_hash
from bot.infra.settings import Settings
from bot.infra.spreadsheets import write_rows
from bot.services.activity import MonthActivity, monthly_activity
from bot.services.agents import AgentView, list_agents
from bot.services.coverage import coverage_report
from bot.services.handoff import TicketLine, answer, list_tickets, ticket_label
from bot.services.handoff_relay import HandoffRelay
from bot.services.payments import (
    CASH_BOOK_HEADER,
    PaymentLine,
    VillageCash,
    cash_book,
    cash_book_rows,
    cash_by_village,
    count_payments,
    list_payments,
)
from bot.services.registry.submissions import (
    Pipeline,
    RejectionLine,
    pipeline,
    rejected_registrations,
)

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
COOKIE = "sadar_admin"
HOUSEHOLD_TARGET = 0.5
#: Receipts shown on the page; the rest are in each village's CSV.
MAX_PAYMENT_ROWS = 200


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def chart_svg(activity: list[MonthActivity]) -> str:
    """Paired bars per month; every bar carries its month and value as data attributes."""
    width, height, bar = 40 * len(activity) + 40, 180, 14
    top = max([1] + [max(a.registrations, a.payments) for a in activity])
    parts = [
        f'<svg id="activity" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height + 30}" role="img" aria-label="pendaftaran dan pembayaran per bulan">'
    ]
    for i, month in enumerate(activity):
        x = 30 + i * 40
        for offset, kind, value, colour in (
            (0, "registrations", month.registrations, "#2a6f97"),
            (bar, "payments", month.payments, "#e09f3e"),
        ):
            h = round(value / top * (height - 20))
            parts.append(
                f'<rect class="bar {kind}" data-month="{month.month:%Y-%m}" data-value="{value}" '
                f'x="{x + offset}" y="{height - h}" width="{bar - 2}" height="{h}" '
                f'fill="{colour}"><title>{value}</title></rect>'
            )
        label = MONTHS[month.month.month - 1][:3]
        parts.append(f'<text x="{x}" y="{height + 15}" font-size="10">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _waited(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} menit" if minutes < 120 else f"{minutes // 60} jam {minutes % 60} menit"


def ticket_rows(tickets: list[TicketLine], agents: list[AgentView]) -> list[str]:
    """One row per ticket; open ones carry the reassign form."""
    rows = []
    for t in tickets:
        values = [
            ticket_label(t.number), t.state, t.reason, t.village or "-", t.agent_name or "admin",
            t.created_at.astimezone(INDONESIA_TIME).strftime("%d-%m %H:%M"), _waited(t.waited),
            t.closed_because or "-",
        ]  # fmt: skip
        form = ""
        if t.state != "closed":
            form = (
                '<form method="post" action="/admin/tickets/answer">'
                f'<input type="hidden" name="number" value="{t.number}">'
                '<input name="text" maxlength="1000" required><button>Balas</button></form>'
            )
        if t.state != "closed" and agents:
            options = "".join(
                f'<option value="{a.id}">{html.escape(a.name)} ({html.escape(a.village)})</option>'
                for a in agents
            )
            form += (
                '<form method="post" action="/admin/tickets/reassign">'
                f'<input type="hidden" name="number" value="{t.number}">'
                f'<select name="agent_id">{options}</select><button>Alihkan</button></form>'
            )
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(str(v))}</td>" for v in values)
            + f"<td>{form}</td></tr>"
        )
    return rows


def _month(value: str | None, today: date) -> date:
    """The month asked for (?month=2026-12), else this one."""
    try:
        return datetime.strptime(value or "", "%Y-%m").date()
    except ValueError:
        return today.replace(day=1)


def payment_rows(lines: list[PaymentLine]) -> list[str]:
    """One row per receipt, newest first; members by reference and masked name."""
    rows = []
    for line in lines:
        covered = (
            bulan_range(line.period_from, line.period_to)
            if line.period_from and line.period_to
            else "-"
        )
        values = [
            line.receipt, line.group_receipt or "-", line.paid_on.strftime("%d-%m-%Y"),
            line.area[0] if line.area else "-", line.collected_by,
            f"{line.participant_reference or '-'} {line.member}".strip(), line.months, covered,
            rupiah(line.amount), line.source, "✓" if line.verified else "✗",
        ]  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in values) + "</tr>")
    return rows


def cash_rows(villages: list[VillageCash], month: date) -> list[str]:
    """Cash per village for the month, each with its CSV for the village's Wadah."""
    rows = []
    for row in villages:
        village, district, regency = row.area
        query = urlencode(
            {
                "village": village,
                "district": district,
                "regency": regency,
                "month": f"{month:%Y-%m}",
            }
        )
        rows.append(
            f"<tr><td>{html.escape(f'{village} / {district} / {regency}')}</td>"
            f"<td>{row.receipts}</td><td>{rupiah(row.total)}</td>"
            f'<td><a href="/admin/payments.csv?{html.escape(query)}">CSV</a></td></tr>'
        )
    return rows


def pipeline_rows(view: Pipeline) -> list[str]:
    """Registrations handed over to BPJS Ketenagakerjaan per village, one column a state."""
    states = [state.value for state in SubmissionState]
    rows = []
    for (regency, village), counts in sorted(view.by_area.items()):
        cells = "".join(f"<td>{counts[state]}</td>" for state in states)
        rows.append(f"<tr><td>{html.escape(f'{village} / {regency}')}</td>{cells}</tr>")
    return rows


def rejection_rows(lines: list[RejectionLine]) -> list[str]:
    return [
        f"<tr><td>{html.escape(line.reference)}</td>"
        f"<td>{html.escape(f'{line.village} / {line.regency}')}</td>"
        f"<td>{html.escape(line.reason)}</td>"
        f"<td>{local_date(line.since):%d-%m-%Y}</td></tr>"
        for line in lines
    ]


def admin_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    key = keyed_hash(settings.pii_hash_key.get_secret_value(), "admin-session")
    secure = settings.public_base_url.startswith("https://") or settings.env == "production"

    def sessions(request: Request) -> AdminSessions:
        assert settings.admin_password_hash is not None
        stored = settings.admin_password_hash.get_secret_value()
        return AdminSessions(request.app.state.store, key, stored)

    async def logged_in(request: Request) -> bool:
        return await sessions(request).valid(request.cookies.get(COOKIE))

    async def ticket_form(request: Request, field: str) -> tuple[int, str] | Response:
        """A logged-in administrator's ticket form: the ticket number and ``field``'s value,
        or the page to answer with instead."""
        if settings.admin_password_hash is None:
            return HTMLResponse(messages.ADMIN_CLOSED, status_code=503)
        if not await logged_in(request):
            return RedirectResponse("/admin/login", status_code=303)
        try:
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            number, value = int(form["number"]), form[field].strip()[:1000]
        except (UnicodeDecodeError, KeyError, ValueError):
            return HTMLResponse(messages.ADMIN_BAD_FORM, status_code=400)
        if not value:
            return HTMLResponse(messages.ADMIN_BAD_FORM, status_code=400)
        return number, value

    @router.get("/admin/login", response_class=HTMLResponse)
    async def login_page() -> HTMLResponse:
        if settings.admin_password_hash is None:
            return HTMLResponse(messages.ADMIN_CLOSED, status_code=503)
        return HTMLResponse(_template("admin_login.html").substitute(error=""))

    @router.post("/admin/login")
    async def login(request: Request) -> Response:
        if settings.admin_password_hash is None:
            return HTMLResponse(messages.ADMIN_CLOSED, status_code=503)
        address = request.client.host if request.client else "unknown"
        guard = LoginGuard(request.app.state.store, key)
        if await guard.locked(address):
            log.warning("admin login refused: too many failures")
            page = _template("admin_login.html").substitute(error=messages.ADMIN_LOCKED)
            return HTMLResponse(page, status_code=429, headers={"Retry-After": "900"})
        try:
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            return HTMLResponse(messages.ADMIN_WRONG_PASSWORD, status_code=400)
        stored = settings.admin_password_hash.get_secret_value()
        if not await check_password(form.get("password", ""), stored):
            failures = await guard.failed(address)
            log.warning("failed admin login (%d from this address)", failures)
            await asyncio.sleep(min(2 ** (failures - 1), 8))  # slower with every failure
            page = _template("admin_login.html").substitute(error=messages.ADMIN_WRONG_PASSWORD)
            return HTMLResponse(page, status_code=401)
        await guard.succeeded(address)
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(
            COOKIE,
            await sessions(request).open(),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=secure,
        )
        return response

    @router.post("/admin/logout")
    async def logout(request: Request) -> Response:
        if settings.admin_password_hash is not None:
            await sessions(request).close(request.cookies.get(COOKIE))
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @router.get("/admin")
    async def dashboard(request: Request) -> Response:
        if settings.admin_password_hash is None:
            return HTMLResponse(messages.ADMIN_CLOSED, status_code=503)
        if not await logged_in(request):
            return RedirectResponse("/admin/login", status_code=303)
        context: AppContext = request.app.state.context
        today = context.clock.today()
        month = _month(request.query_params.get("month"), today)
        rows, activity, tickets, agents = await asyncio.gather(
            asyncio.to_thread(coverage_report, context.unit_of_work(), today, "village"),
            asyncio.to_thread(monthly_activity, context.unit_of_work(), today),
            asyncio.to_thread(list_tickets, context.unit_of_work(), context.clock.now()),
            asyncio.to_thread(list_agents, context.unit_of_work(), context.cipher),
        )
        handover, rejections = await asyncio.gather(
            asyncio.to_thread(pipeline, context.unit_of_work()),
            asyncio.to_thread(rejected_registrations, context.unit_of_work()),
        )
        payments, receipts, cash = await asyncio.gather(
            asyncio.to_thread(
                partial(list_payments, month=month, limit=MAX_PAYMENT_ROWS),
                context.unit_of_work(),
                context.cipher,
            ),
            asyncio.to_thread(count_payments, context.unit_of_work(), month),
            asyncio.to_thread(cash_by_village, context.unit_of_work(), month),
        )
        cells = []
        for row in rows:
            values = [
                " / ".join(reversed(row.area)), row.households, row.participants,
                _share(row.household_share), row.officials, row.officials_enrolled,
                row.paid_this_month, row.in_arrears, row.non_active, row.new_this_month,
                row.awaiting_kpj, row.unreachable,
            ]  # fmt: skip
            met = row.meets(HOUSEHOLD_TARGET)
            cells.append(
                "<tr>"
                + "".join(f"<td>{html.escape(str(v))}</td>" for v in values)
                + f'<td class="{"yes" if met else "no"}">'
                + (messages.ADMIN_TARGET_MET if met else messages.ADMIN_TARGET_NOT_MET)
                + "</td></tr>"
            )
        page = _template("admin_dashboard.html").substitute(
            today=today.strftime("%d-%m-%Y"),
            target=f"{HOUSEHOLD_TARGET:.0%}",
            rows="\n".join(cells),
            tickets="\n".join(ticket_rows(tickets, [a for a in agents if a.active])),
            chart=chart_svg(activity),
            month=f"{month:%Y-%m}",
            month_label=f"{MONTHS[month.month - 1]} {month.year}",
            cash="\n".join(cash_rows(cash, month)),
            payments="\n".join(payment_rows(payments)),
            more_payments=max(0, receipts - len(payments)),
            more_hidden="" if receipts > len(payments) else "hidden",
            handover="\n".join(pipeline_rows(handover)),
            oldest_waiting=(
                f"{local_date(handover.oldest_waiting):%d-%m-%Y}"
                if handover.oldest_waiting
                else "-"
            ),
            withdrawals_due=handover.withdrawals_due,
            rejections="\n".join(rejection_rows(rejections)),
        )
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @router.get("/admin/payments.csv")
    async def payments_csv(request: Request) -> Response:
        """One village's cash receipts of one month, for its Wadah to reconcile the cash box
        (members by reference and masked name)."""
        if settings.admin_password_hash is None:
            return HTMLResponse(messages.ADMIN_CLOSED, status_code=503)
        if not await logged_in(request):
            return RedirectResponse("/admin/login", status_code=303)
        params = request.query_params
        area = (params.get("village", ""), params.get("district", ""), params.get("regency", ""))
        if not all(part.strip() for part in area):
            return HTMLResponse(messages.ADMIN_BAD_FORM, status_code=400)
        context: AppContext = request.app.state.context
        month = _month(params.get("month"), context.clock.today())
        book = await asyncio.to_thread(
            cash_book, context.unit_of_work(), context.cipher, area, month
        )
        stream = io.StringIO()
        write_rows(stream, CASH_BOOK_HEADER, cash_book_rows(book))
        name = "".join(c if c.isalnum() else "-" for c in area[0].lower())
        log.info(
            "administrator exported %d cash receipt(s) of %s", len(book.lines), f"{month:%Y-%m}"
        )
        return Response(
            stream.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="kas-{name}-{month:%Y-%m}.csv"',
                "Cache-Control": "no-store",
            },
        )

    @router.post("/admin/tickets/answer")
    async def answer_ticket(request: Request) -> Response:
        """An administrator answers a ticket (one no agent could take, for instance)."""
        form = await ticket_form(request, "text")
        if isinstance(form, Response):
            return form
        number, text = form
        context: AppContext = request.app.state.context
        outcome = await asyncio.to_thread(
            answer, context.unit_of_work(), context.cipher, None, number, text,
            context.clock.now(), admin=True,
        )  # fmt: skip
        if outcome.refused is not None or outcome.delivered_to is None:
            return HTMLResponse(messages.ADMIN_ANSWER_REFUSED, status_code=409)
        log.info("administrator answered %s", ticket_label(number))
        outbox = request.app.state.outbox
        resident = outcome.delivered_to
        if not outcome.queued_for_web and outbox.has_channel(channel_of(resident)):
            reply = BotReply(text=messages.HANDOFF_FROM_ADMIN.format(text=text))
            await outbox.send(resident, reply, purpose="handoff")
        return RedirectResponse("/admin", status_code=303)

    @router.post("/admin/tickets/reassign")
    async def reassign_ticket(request: Request) -> Response:
        """Give an open ticket to another agent (of any village: the administrator
        decides); the agent and the resident are told (the session cookie is
        SameSite=strict: another site cannot post this form)."""
        form = await ticket_form(request, "agent_id")
        if isinstance(form, Response):
            return form
        number, chosen = form
        try:
            agent_id = int(chosen)
        except ValueError:
            return HTMLResponse(messages.ADMIN_BAD_FORM, status_code=400)
        relay: HandoffRelay = request.app.state.relay  # the gateway's one (bot/bootstrap.py)
        if not await relay.reassign(number, agent_id):
            return HTMLResponse(messages.ADMIN_REASSIGN_REFUSED, status_code=409)
        log.info("administrator reassigned %s to agent %d", ticket_label(number), agent_id)
        return RedirectResponse("/admin", status_code=303)

    return router
