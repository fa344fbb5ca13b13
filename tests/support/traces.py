"""Where a person is still in a database: every table and every text or bytes value,
ciphertext decrypted with the test key, so that a table added later is searched too
(erasure must leave no trace: tests/e2e/test_erasure.py)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import Engine, MetaData, select

from bot.infra.crypto import PiiCipher

#: Fernet tokens start with the version byte 0x80, "gAAAAA" in URL-safe base64.
_FERNET_PREFIX = "gAAAAA"


@dataclass(frozen=True)
class Trace:
    table: str
    column: str
    #: What was found (the name of the needle).
    what: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}: {self.what}"


def _readable(value: object, cipher: PiiCipher) -> list[str]:
    """The stored value as text, and its plaintext when it is ciphertext."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return []
    readings = [value]
    if value.startswith(_FERNET_PREFIX):
        with suppress(ValueError):  # looks like a token but is none of ours
            readings.append(cipher.decrypt(value))
    return readings


def find_traces(
    engine: Engine,
    cipher: PiiCipher,
    contained: Mapping[str, str],
    equal: Mapping[str, str] | None = None,
) -> list[Trace]:
    """Every (table, column, needle) where a value contains a ``contained`` needle, or is
    exactly an ``equal`` one (short labels such as a ticket's "T-12" that would otherwise
    match "T-123"). Needles are named: the report says what was found, never the value."""
    equal = equal or {}
    metadata = MetaData()
    metadata.reflect(engine)
    found: set[Trace] = set()
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                for column, value in row.items():
                    for reading in _readable(value, cipher):
                        for what, needle in contained.items():
                            if needle and needle in reading:
                                found.add(Trace(table.name, column, what))
                        for what, needle in equal.items():
                            if reading.strip() == needle:
                                found.add(Trace(table.name, column, what))
    return sorted(found, key=str)
