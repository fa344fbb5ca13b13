"""No personal data in clear in Rasa's conversation store, and erasure reaches it
(issue 15, point 3): on SQLite through the store itself (run by Rasa's Python), on
PostgreSQL through the whole running stack; retention purge and migration of old rows."""

from __future__ import annotations

import json
import re
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.infra.crypto import PiiCipher
from bot.infra.privacy import conversation_key
from bot.infra.settings import DEV_PII_ENCRYPTION_KEY
from bot.services.conversations import encrypt_existing, purge_older_than, tracker_engine
from tests.conftest import TEST_PII_KEY
from tests.support.rasa_python import run_with_rasa_python
from tests.support.stack import Stack

NIK = "3523031708800001"
RASA_EVENTS_TABLE = """CREATE TABLE events (
    id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"""


def probe(url: str, sender: str, typed: str, erase: bool = False) -> dict:
    result = run_with_rasa_python(
        "tests/support/tracker_store_probe.py", url, sender, typed, "erase" if erase else "keep"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def raw_rows(url: str) -> list[tuple[str, str]]:
    engine = tracker_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT sender_id, data FROM events"))
            return [(row.sender_id, row.data) for row in rows]
    finally:
        engine.dispose()


def test_sqlite_conversations_are_encrypted_keyed_by_hash_owner_only_and_erasable(
    tmp_path: Path,
) -> None:
    database = tmp_path / "var" / "rasa_tracker.db"  # a data folder Sadar creates
    url = f"sqlite:///{database}"
    sender = "wa:+6281234567001"
    seen = probe(url, sender, NIK)
    assert seen["slots"]["nik"] == NIK  # Rasa reads it back
    rows = raw_rows(url)
    assert rows and all(key == conversation_key(TEST_PII_KEY, sender) for key, _ in rows)
    dump = database.read_bytes()
    assert NIK.encode() not in dump and b"6281234567001" not in dump
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700

    stored_ciphertexts = [data.encode() for _, data in rows]
    erased = probe(url, sender, NIK, erase=True)
    assert erased["slots"] is None and raw_rows(url) == []
    # Nothing of the erased conversation stays in the file's free pages or its WAL.
    leftovers = database.read_bytes() + b"".join(
        companion.read_bytes()
        for companion in database.parent.glob(database.name + "-*")
        if companion.is_file()
    )
    assert not any(ciphertext[:64] in leftovers for ciphertext in stored_ciphertexts)


def test_postgresql_conversations_hold_no_nik_name_or_sender_id_and_erasure_reaches_them(
    stack: Stack,
) -> None:
    sender = f"sec-{uuid.uuid4().hex[:10]}"
    name = f"Rahasia {uuid.uuid4().hex[:6].upper()}"
    nik = f"352303170880{uuid.uuid4().int % 10**4:04d}"
    for message in ("daftar", "ya", name, nik, "17-08-1980", "081234567099", "Karanglo",
                    "petani", "1 juta", "tidak", "ya"):  # fmt: skip
        stack.chat(sender, message)
    url = stack.settings.tracker_store_url
    web_sender = stack.web_sender(sender)  # the id the server issued to this chat
    key = conversation_key(TEST_PII_KEY, web_sender)
    rows = [data for k, data in raw_rows(url) if k == key]
    assert rows, "the conversation is stored under its keyed hash"
    everything = "\n".join(k + data for k, data in raw_rows(url))
    assert nik not in everything and name not in everything and sender not in everything
    assert stack.tracker(web_sender)["slots"]["full_name"] is None  # reset after submit
    stack.chat(sender, "hapus data saya")
    stack.chat(sender, "ya")
    assert [k for k, _ in raw_rows(url) if k == key] == []


@pytest.fixture(params=["sqlite", "postgresql"])
def events_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        return server.libpq_url(server.create_database(f"ev_{uuid.uuid4().hex[:10]}"))
    return f"sqlite:///{tmp_path / 'old_tracker.db'}"


def test_old_clear_conversations_are_migrated_and_stale_ones_purged(events_url: str) -> None:
    engine = tracker_engine(events_url)
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    old, recent = (now - timedelta(days=200)).timestamp(), (now - timedelta(days=2)).timestamp()
    with engine.begin() as connection:
        table = RASA_EVENTS_TABLE
        if events_url.startswith("postgresql"):
            table = table.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY")
        connection.execute(text(table))
        for sender, stamp in (("web:old", old), ("wa:+6281234567002", recent)):
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) "
                     "VALUES (:s, 'slot', :t, :d)"),
                {"s": sender, "t": stamp, "d": json.dumps({"event": "slot", "value": NIK})},
            )  # fmt: skip
    cipher = PiiCipher(DEV_PII_ENCRYPTION_KEY)
    migrated = encrypt_existing(engine, cipher, TEST_PII_KEY)
    assert (migrated.conversations, migrated.events) == (2, 2)
    assert encrypt_existing(engine, cipher, TEST_PII_KEY).events == 0  # idempotent
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sender_id, data FROM events")).all()
    assert all(re.fullmatch(r"[0-9a-f]{64}", r.sender_id) for r in rows)
    assert all(NIK in cipher.decrypt(r.data) and NIK not in r.data for r in rows)

    assert purge_older_than(engine, now, timedelta(days=90)) == 1
    with engine.connect() as connection:
        left = connection.execute(text("SELECT DISTINCT sender_id FROM events")).scalars().all()
    assert left == [conversation_key(TEST_PII_KEY, "wa:+6281234567002")]
    engine.dispose()
