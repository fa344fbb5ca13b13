"""Who is logged in to the operations console at /admin: the administrator (password hash
in settings) or an operator limited to a regency or villages (bot/services/operators.py);
the console's server-side sessions; and the limits on guessing.

- Hashing: PBKDF2-HMAC-SHA256 (bot/infra/passwords.py), run on one dedicated thread, so a
  flood of logins queues behind itself instead of taking the threads webhooks and chats
  use. An operator's login (a database lookup and the hash) runs there too.
- Sessions: a random token in the cookie; the shared store (Redis when configured) holds
  whose session it is with a fingerprint of that account's password hash, so logging out
  ends the session everywhere and changing a password ends every session opened with the
  old one. An operator's session is checked against the database on every request:
  deactivating the account ends it at once, and a changed scope applies at once.
- Guessing: after a few failures an address is locked out for a while, and so is a
  username, and past a larger number of failures from everywhere, all logins are, so
  guessing from many addresses gains nothing."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

from bot.domain.access import ADMINISTRATOR, Viewer
from bot.infra.passwords import (
    ALGORITHM,
    ITERATIONS,
    MIN_PASSWORD_CHARS,
    hash_password,
    verify_password,
)
from bot.infra.privacy import keyed_hash
from bot.infra.shared_state import SharedStore
from bot.services.operators import SessionAccount, authenticate, session_account
from bot.services.unit_of_work import UnitOfWork

__all__ = [
    "ALGORITHM",
    "ITERATIONS",
    "MIN_PASSWORD_CHARS",
    "AccountLookup",
    "AdminSessions",
    "LoginGuard",
    "account_lookup",
    "authenticate_operator",
    "check_password",
    "hash_password",
    "verify_password",
]

SESSION_SECONDS = 8 * 3600
FAILURE_WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ADDRESS = 5
MAX_FAILURES_PER_USERNAME = 10
MAX_FAILURES_OVERALL = 50
_OPERATOR = "operator"
_hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sadar-password")

#: An operator's current account by id (None: unknown or deactivated).
AccountLookup = Callable[[int], Awaitable[SessionAccount | None]]


async def check_password(password: str, stored: str) -> bool:
    """``verify_password`` on the one hashing thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hashing, verify_password, password, stored)


async def authenticate_operator(
    uow: UnitOfWork, username: str, password: str, now: datetime
) -> Viewer | None:
    """bot.services.operators.authenticate on the one hashing thread: the operator with
    this password, or None (an unknown username costs the same hashing)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hashing, partial(authenticate, uow, username, password, now))


def account_lookup(unit_of_work: Callable[[], UnitOfWork]) -> AccountLookup:
    """Operators' accounts read from the database off the event loop (one unit of work per
    lookup), for AdminSessions."""

    async def lookup(operator_id: int) -> SessionAccount | None:
        return await asyncio.to_thread(session_account, unit_of_work(), operator_id)

    return lookup


class AdminSessions:
    """The console's sessions. ``password_hash``: the administrator's (None: no
    administrator login); ``accounts``: how operators' sessions are checked (None: only
    the administrator can have a session)."""

    def __init__(
        self,
        store: SharedStore,
        key: str,
        password_hash: str | None,
        accounts: AccountLookup | None = None,
    ) -> None:
        self._store = store
        self._key = key
        self._accounts = accounts
        self._fingerprint = (
            keyed_hash(key, f"admin-password:{password_hash}") if password_hash else None
        )

    def _slot(self, token: str) -> str:
        return f"admin:session:{keyed_hash(self._key, token)}"

    def _operator_fingerprint(self, operator_id: int, password_hash: str) -> str:
        return keyed_hash(self._key, f"operator-password:{operator_id}:{password_hash}")

    async def open(self, viewer: Viewer = ADMINISTRATOR) -> str:
        """A new session for ``viewer`` (the administrator unless an operator is given);
        the token for the cookie. LookupError if the operator's account is gone."""
        if viewer.operator_id is None:
            if self._fingerprint is None:
                raise LookupError("no administrator password is set")
            held = self._fingerprint
        else:
            account = await self._accounts(viewer.operator_id) if self._accounts else None
            if account is None:
                raise LookupError("the operator's account is unknown or deactivated")
            fingerprint = self._operator_fingerprint(viewer.operator_id, account.password_hash)
            held = f"{_OPERATOR}:{viewer.operator_id}:{fingerprint}"
        token = secrets.token_urlsafe(32)
        await self._store.put(self._slot(token), held, SESSION_SECONDS)
        return token

    async def viewer(self, token: str | None) -> Viewer | None:
        """Who this session is (with their scope as it is now), or None: no session, ended,
        opened before a password change, or an account deactivated since."""
        if not token:
            return None
        held = await self._store.get(self._slot(token))
        if held is None:
            return None
        if not held.startswith(f"{_OPERATOR}:"):
            # The administrator's sessions hold the bare fingerprint (as before operators).
            if self._fingerprint is not None and hmac.compare_digest(held, self._fingerprint):
                return ADMINISTRATOR
            return None
        _, number, fingerprint = held.split(":", 2)
        if self._accounts is None or not number.isdigit():
            return None
        account = await self._accounts(int(number))
        if account is None:
            return None
        current = self._operator_fingerprint(int(number), account.password_hash)
        return account.viewer if hmac.compare_digest(fingerprint, current) else None

    async def valid(self, token: str | None) -> bool:
        """Whether this is the administrator's session (an operator's is not: their pages
        are narrowed to their scope through ``viewer``)."""
        found = await self.viewer(token)
        return found is not None and found.operator_id is None

    async def close(self, token: str | None) -> None:
        if token:
            await self._store.delete(self._slot(token))


class LoginGuard:
    def __init__(self, store: SharedStore, key: str) -> None:
        self._store = store
        self._key = key

    def _address(self, address: str) -> str:
        return f"admin:failures:{keyed_hash(self._key, address)}"

    def _username(self, username: str) -> str:
        return f"admin:failures:user:{keyed_hash(self._key, username.strip().lower())}"

    async def locked(self, address: str, username: str | None = None) -> bool:
        """Too many failures from this address, for this username (when one is given), or
        from everywhere."""
        here = await self._store.get(self._address(address))
        everywhere = await self._store.get("admin:failures:all")
        named = await self._store.get(self._username(username)) if username else None
        return (
            int(here or 0) >= MAX_FAILURES_PER_ADDRESS
            or int(everywhere or 0) >= MAX_FAILURES_OVERALL
            or int(named or 0) >= MAX_FAILURES_PER_USERNAME
        )

    async def failed(self, address: str, username: str | None = None) -> int:
        """Count a failure; the address's failures in the window so far."""
        await self._store.count_up("admin:failures:all", FAILURE_WINDOW_SECONDS)
        if username:
            await self._store.count_up(self._username(username), FAILURE_WINDOW_SECONDS)
        return await self._store.count_up(self._address(address), FAILURE_WINDOW_SECONDS)

    async def succeeded(self, address: str, username: str | None = None) -> None:
        await self._store.delete(self._address(address))
        if username:
            await self._store.delete(self._username(username))
