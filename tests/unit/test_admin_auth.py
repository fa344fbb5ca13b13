"""The dashboard password and session cookie, and the chart's data (bot/admin_auth.py)."""

from __future__ import annotations

from datetime import date

from bot.admin_auth import (
    SESSION_SECONDS,
    hash_password,
    session_cookie,
    valid_session,
    verify_password,
)
from bot.gateway.admin import chart_svg
from bot.services.activity import MonthActivity


def test_only_the_right_password_matches_its_hash() -> None:
    stored = hash_password("kata-sandi-desa-2026", iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$") and "kata-sandi" not in stored
    assert verify_password("kata-sandi-desa-2026", stored)
    assert not verify_password("kata-sandi-desa-2027", stored)
    assert not verify_password("kata-sandi-desa-2026", "md5$1$x$y")
    assert hash_password("same", iterations=1000) != hash_password("same", iterations=1000)


def test_sessions_are_signed_and_expire() -> None:
    cookie = session_cookie("key", now=1_000)
    assert valid_session("key", cookie, now=1_001)
    assert not valid_session("other-key", cookie, now=1_001)
    assert not valid_session("key", cookie, now=1_000 + SESSION_SECONDS + 1)
    expires, signature = cookie.split(".")
    assert not valid_session("key", f"{int(expires) + 3600}.{signature}", now=1_001)
    assert not valid_session("key", None) and not valid_session("key", "garbage")


def test_the_chart_scales_bars_to_the_largest_month() -> None:
    svg = chart_svg(
        [MonthActivity(date(2026, 10, 1), 4, 2), MonthActivity(date(2026, 11, 1), 8, 0)]
    )
    assert svg.count('class="bar registrations"') == 2
    assert 'data-month="2026-11" data-value="8"' in svg
    assert 'height="160"' in svg and 'height="80"' in svg  # 8 is full height, 4 half
