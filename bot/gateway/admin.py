"""The village coverage dashboard at /admin, behind the administrator's password.

Server-rendered HTML with an inline SVG chart: nothing is loaded from elsewhere, so it works
on a village office's slow connection and leaks nothing to third parties."""

from __future__ import annotations

import asyncio
import html
import logging
from pathlib import Path
from string import Template
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot import messages
from bot.admin_auth import SESSION_SECONDS, AdminSessions, LoginGuard, check_password
from bot.app_context import AppContext
from bot.domain.formatting import MONTHS
from bot.privacy import keyed_hash
from bot.services.activity import MonthActivity, monthly_activity
from bot.services.coverage import coverage_report
from bot.settings import Settings

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
COOKIE = "sadar_admin"
HOUSEHOLD_TARGET = 0.5


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
        rows, activity = await asyncio.gather(
            asyncio.to_thread(coverage_report, context.unit_of_work(), today, "village"),
            asyncio.to_thread(monthly_activity, context.unit_of_work(), today),
        )
        cells = []
        for row in rows:
            values = [
                " / ".join(reversed(row.area)), row.households, row.participants,
                _share(row.household_share), row.officials, row.officials_enrolled,
                row.paid_this_month, row.in_arrears, row.non_active, row.new_this_month,
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
            chart=chart_svg(activity),
        )
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    return router
