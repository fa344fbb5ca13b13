"""The administrator's password (stored only as a PBKDF2 hash in settings), the dashboard's
server-side sessions, and the limits on guessing.

- Hashing: PBKDF2-HMAC-SHA256 at OWASP's current cost (600,000 iterations; older hashes keep
  their own count), run on one dedicated thread, so a flood of logins queues behind itself
  instead of taking the threads webhooks and chats use.
- Sessions: a random token in the cookie; the shared store (Redis when configured) holds it
  with a fingerprint of the password hash, so logging out ends the session everywhere and
  changing the password ends every session.
- Guessing: after a few failures an address is locked out for a while, and past a larger
  number of failures from everywhere, all logins are, so guessing from many addresses
  gains nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor

from bot.infra.privacy import keyed_hash
from bot.infra.shared_state import SharedStore

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000
SESSION_SECONDS = 8 * 3600
FAILURE_WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ADDRESS = 5
MAX_FAILURES_OVERALL = 50
_hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sadar-password")


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    """'pbkdf2_sha256$600000$<salt>$<hash>', the value for SADAR_ADMIN_PASSWORD_HASH."""
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"{ALGORITHM}${iterations}${salt}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algorithm, iterations, salt, expected = stored.split("$")
    except ValueError:
        return False
    if algorithm != ALGORITHM:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    return hmac.compare_digest(base64.b64encode(digest).decode(), expected)


async def check_password(password: str, stored: str) -> bool:
    """``verify_password`` on the one hashing thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hashing, verify_password, password, stored)


class AdminSessions:
    def __init__(self, store: SharedStore, key: str, password_hash: str) -> None:
        self._store = store
        self._key = key
        self._fingerprint = keyed_hash(key, f"admin-password:{password_hash}")

    def _slot(self, token: str) -> str:
        return f"admin:session:{keyed_hash(self._key, token)}"

    async def open(self) -> str:
        token = secrets.token_urlsafe(32)
        await self._store.put(self._slot(token), self._fingerprint, SESSION_SECONDS)
        return token

    async def valid(self, token: str | None) -> bool:
        if not token:
            return False
        held = await self._store.get(self._slot(token))
        return held is not None and hmac.compare_digest(held, self._fingerprint)

    async def close(self, token: str | None) -> None:
        if token:
            await self._store.delete(self._slot(token))


class LoginGuard:
    def __init__(self, store: SharedStore, key: str) -> None:
        self._store = store
        self._key = key

    def _address(self, address: str) -> str:
        return f"admin:failures:{keyed_hash(self._key, address)}"

    async def locked(self, address: str) -> bool:
        here = await self._store.get(self._address(address))
        everywhere = await self._store.get("admin:failures:all")
        return int(here or 0) >= MAX_FAILURES_PER_ADDRESS or (
            int(everywhere or 0) >= MAX_FAILURES_OVERALL
        )

    async def failed(self, address: str) -> int:
        """Count a failure; the address's failures in the window so far."""
        await self._store.count_up("admin:failures:all", FAILURE_WINDOW_SECONDS)
        return await self._store.count_up(self._address(address), FAILURE_WINDOW_SECONDS)

    async def succeeded(self, address: str) -> None:
        await self._store.delete(self._address(address))
