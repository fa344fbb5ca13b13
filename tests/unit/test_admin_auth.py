"""The dashboard password and session cookie, and the chart's data (bot/gateway/admin_auth.py)."""

from __future__ import annotations

from bot.gateway.admin_auth import AdminSessions, hash_password, verify_password


def test_only_the_right_password_matches_its_hash() -> None:
    stored = hash_password("kata-sandi-desa-2026", iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$") and "kata-sandi" not in stored
    assert verify_password("kata-sandi-desa-2026", stored)
    assert not verify_password("kata-sandi-desa-2027", stored)
    assert not verify_password("kata-sandi-desa-2026", "md5$1$x$y")
    assert hash_password("same", iterations=1000) != hash_password("same", iterations=1000)


async def test_sessions_are_server_side_end_at_logout_and_at_a_password_change() -> None:
    from bot.infra.shared_state import MemoryStore

    store = MemoryStore()
    sessions = AdminSessions(store, "key", "pbkdf2_sha256$1000$salt$old")
    token = await sessions.open()
    assert await sessions.valid(token)
    assert not await sessions.valid("guessed-token") and not await sessions.valid(None)
    # A new password hash: every session opened with the old one ends.
    assert not await AdminSessions(store, "key", "pbkdf2_sha256$1000$salt$new").valid(token)
    await sessions.close(token)
    assert not await sessions.valid(token)
