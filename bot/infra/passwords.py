"""Passwords of the console's accounts (the administrator's, in settings; each operator's,
in the database): stored only as PBKDF2-HMAC-SHA256 at OWASP's current cost (600,000
iterations; older hashes keep their own count). Shared by the gateway, which checks a
login, and the operator accounts' service and CLI, which set one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000
#: The shortest password the CLI accepts, for the administrator and for operators.
MIN_PASSWORD_CHARS = 12


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
