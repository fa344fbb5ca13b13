"""The administrator's password (stored only as a PBKDF2 hash in settings) and the signed
session cookie of the dashboard. Standard library only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 390_000
SESSION_SECONDS = 8 * 3600


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    """'pbkdf2_sha256$390000$<salt>$<hash>', the value for SADAR_ADMIN_PASSWORD_HASH."""
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


def _signature(key: str, expires: int) -> str:
    return hmac.new(key.encode(), f"admin:{expires}".encode(), hashlib.sha256).hexdigest()


def session_cookie(key: str, now: float | None = None) -> str:
    expires = int((now or time.time()) + SESSION_SECONDS)
    return f"{expires}.{_signature(key, expires)}"


def valid_session(key: str, cookie: str | None, now: float | None = None) -> bool:
    if not cookie or "." not in cookie:
        return False
    expires_text, signature = cookie.split(".", 1)
    if not expires_text.isdigit() or int(expires_text) < (now or time.time()):
        return False
    return hmac.compare_digest(signature, _signature(key, int(expires_text)))
