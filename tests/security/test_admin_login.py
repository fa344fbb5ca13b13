"""Admin login resists guessing (issue 15, point 5): lockout per address and overall,
server-side sessions that logout and a password change end, a Secure cookie in production,
and password hashing on its own thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.db.migrate import upgrade
from bot.gateway import admin_auth
from bot.gateway.admin_auth import MAX_FAILURES_PER_ADDRESS, hash_password
from bot.gateway.app import create_app
from bot.infra.settings import Settings
from tests.support.fake_rasa import FakeRasaREST

PASSWORD = "sandi-kantor-desa-2026"


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The growing delay after a failure is real time; the tests need not sit through it."""

    async def instant(_: float) -> None:
        return None

    monkeypatch.setattr("bot.gateway.admin.asyncio.sleep", instant)


def dashboard(tmp_path: Path, **settings: object) -> TestClient:
    values = {"admin_password_hash": hash_password(PASSWORD, iterations=1000), **settings}
    configured = Settings(_env_file=None, data_dir=tmp_path, **values)
    upgrade(configured.database_url)
    app = create_app(configured, rasa_http=FakeRasaREST().client())
    return TestClient(app, base_url="https://testserver")


def login(client: TestClient, password: str):
    return client.post(
        "/admin/login",
        content=f"password={password}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def test_an_address_is_locked_out_after_repeated_failures(tmp_path: Path) -> None:
    with dashboard(tmp_path) as client:
        codes = [login(client, "salah").status_code for _ in range(MAX_FAILURES_PER_ADDRESS)]
        assert codes == [401] * MAX_FAILURES_PER_ADDRESS
        locked = login(client, PASSWORD)  # even the right password, for now
        assert locked.status_code == 429 and "15 menit" in locked.text


def test_failures_from_everywhere_lock_all_logins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_auth, "MAX_FAILURES_OVERALL", 3)
    monkeypatch.setattr(admin_auth, "MAX_FAILURES_PER_ADDRESS", 100)
    with dashboard(tmp_path) as client:
        for _ in range(3):
            assert login(client, "salah").status_code == 401
        assert login(client, PASSWORD).status_code == 429


def test_logout_ends_the_session_on_the_server(tmp_path: Path) -> None:
    with dashboard(tmp_path) as client:
        response = login(client, PASSWORD)
        assert response.status_code == 303
        cookie = response.cookies["sadar_admin"]
        assert client.get("/admin", cookies={"sadar_admin": cookie}).status_code == 200
        client.post("/admin/logout", cookies={"sadar_admin": cookie})
        replayed = client.get("/admin", cookies={"sadar_admin": cookie}, follow_redirects=False)
        assert replayed.status_code == 303  # the stolen or kept cookie no longer works


def test_the_cookie_is_secure_in_production(tmp_path: Path) -> None:
    production = {
        "env": "production",
        "pii_hash_key": "h" * 40,
        "pii_encryption_keys": "bm90LXRoZS1kZXYta2V5LW5vdC10aGUtZGV2LWtleS0=",
        "action_server_token": "a" * 40,
        "rasa_api_token": "r" * 40,
        "rasa_channel_token": "c" * 40,
    }
    with dashboard(tmp_path, **production) as client:
        response = login(client, PASSWORD)
        header = response.headers["set-cookie"]
        assert "Secure" in header and "HttpOnly" in header and "samesite=strict" in header.lower()


def test_password_hashing_runs_on_its_own_thread(tmp_path: Path) -> None:
    threads: list[str] = []
    original = admin_auth.verify_password

    def recording(password: str, stored: str) -> bool:
        threads.append(threading.current_thread().name)
        return original(password, stored)

    admin_auth.verify_password = recording  # type: ignore[assignment]  # a recording stand-in, restored below
    try:
        with dashboard(tmp_path) as client:
            login(client, PASSWORD)
            login(client, "salah")
    finally:
        admin_auth.verify_password = original  # type: ignore[assignment]  # the real function back
    assert threads and all(name.startswith("sadar-password") for name in threads)


def test_without_an_administrator_password_only_operators_log_in(tmp_path: Path) -> None:
    with dashboard(tmp_path, admin_password_hash=None) as client:
        closed = client.post("/admin/login", data={"password": "apa saja"}, follow_redirects=False)
        assert closed.status_code == 503 and "SADAR_ADMIN_PASSWORD_HASH" in closed.text
        unknown = client.post(
            "/admin/login", data={"username": "tidakada", "password": "apa saja sandinya"},
            follow_redirects=False,
        )  # fmt: skip
        assert unknown.status_code == 401
