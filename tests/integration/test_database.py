"""Migrations and persistence against a real PostgreSQL server (and SQLite, the default)."""

from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import current_heads, downgrade, upgrade
from bot.db.models import Base, ConsentRecord
from bot.domain.consent import ConsentDecision, ConsentPurpose
from bot.domain.senders import Channel
from bot.infra.privacy import keyed_hash
from bot.services.consent import record_consent
from bot.services.unit_of_work import UnitOfWork
from tests.conftest import TEST_PII_KEY
from tests.support.clock import ORDINARY_MOMENT
from tests.support.services import PostgresServer


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'sadar.db'}"


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_migrations_upgrade_downgrade_and_upgrade_again(
    backend: str, postgres: PostgresServer, tmp_path: Path
) -> None:
    if backend == "postgresql":
        url = postgres.url(postgres.create_database("migrations_roundtrip"))
    else:
        url = _sqlite_url(tmp_path)
    assert current_heads(url) == set()
    upgrade(url)
    assert set(Base.metadata.tables) <= _tables(url)
    downgrade(url, "base")
    assert not set(Base.metadata.tables) & _tables(url)
    upgrade(url)
    assert len(current_heads(url)) == 1


def test_migrations_match_the_models(pg_url: str) -> None:
    """A model change without a migration fails here (autogenerate finds a difference)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(pg_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_consent_is_stored_with_a_keyed_hash_of_the_sender(pg_url: str) -> None:
    engine = make_engine(pg_url)
    sessions = make_session_factory(engine)
    decision = ConsentDecision(Channel.WHATSAPP, ConsentPurpose.REGISTRATION, True, "Setuju?")
    record_consent(
        UnitOfWork(sessions), TEST_PII_KEY, "wa:+6281234567890", decision, ORDINARY_MOMENT
    )

    with sessions() as session:
        rows = session.scalars(select(ConsentRecord)).all()
    engine.dispose()
    assert len(rows) == 1
    row = rows[0]
    assert row.sender_hash == keyed_hash(TEST_PII_KEY, "wa:+6281234567890")
    assert "6281234567890" not in row.sender_hash
    assert (row.channel, row.purpose, row.granted, row.wording) == (
        "wa",
        "registration",
        True,
        "Setuju?",
    )
    assert row.created_at.tzinfo is not None


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_migration_0008_gives_existing_participants_their_address_and_opt_out(
    backend: str, postgres: PostgresServer, tmp_path: Path
) -> None:
    """Participants registered before issue 19 keep the chat they registered from (preferred),
    a WhatsApp registration's number counts as proven, and a "STOP" kept on the conversation
    becomes the person's opt-out."""
    from sqlalchemy import text

    if backend == "postgresql":
        url = postgres.url(postgres.create_database("migration_0008"))
    else:
        url = _sqlite_url(tmp_path)
    upgrade(url, "0007")
    engine = make_engine(url)
    columns = (
        "reference, nik_hash, nik_encrypted, full_name_encrypted, birth_date_encrypted, "
        "phone_hash, phone_encrypted, income_encrypted, sex, province_code, district_code, "
        "village, district, regency, occupation, with_jht, monthly_contribution, status, "
        "channel, sender_hash, first_period, is_official, created_at, updated_at"
    )
    rows = [("SDR-AAAA-0001", "wa", "h-wa"), ("SDR-AAAA-0002", "web", "h-web")]
    with engine.begin() as connection:
        for reference, channel, sender_hash in rows:
            connection.execute(
                text(
                    f"INSERT INTO participants ({columns}) VALUES (:ref, :nik, 'x', 'x', 'x', "
                    "'p', 'x', 'x', 'L', '35', '350101', 'Karanglo', 'Kerek', 'Tuban', "
                    "'petani', false, 16800, 'awaiting_first_payment', :channel, :sender, "
                    "'2026-11-01', false, '2026-11-01 03:00:00+00', '2026-11-01 03:00:00+00')"
                ),
                {"ref": reference, "nik": reference, "channel": channel, "sender": sender_hash},
            )
        connection.execute(
            text(
                "INSERT INTO channel_contacts (sender_hash, channel, address_encrypted, "
                "reminders_opted_out_at, created_at) VALUES ('h-wa', 'wa', 'x', "
                "'2026-11-02 03:00:00+00', '2026-11-01 03:00:00+00')"
            )
        )
    upgrade(url)
    with engine.connect() as connection:
        addresses = connection.execute(
            text(
                "SELECT p.reference, a.channel, a.proof, a.preferred FROM participant_addresses a "
                "JOIN participants p ON p.id = a.participant_id ORDER BY p.reference"
            )
        ).all()
        people = connection.execute(
            text(
                "SELECT reference, phone_verified_by, reminders_opted_out_at IS NOT NULL "
                "FROM participants ORDER BY reference"
            )
        ).all()
    engine.dispose()
    assert [tuple(row) for row in addresses] == [
        ("SDR-AAAA-0001", "wa", "registered_here", True),
        ("SDR-AAAA-0002", "web", "registered_here", True),
    ]
    assert [tuple(row) for row in people] == [
        ("SDR-AAAA-0001", "registered_here", True),
        ("SDR-AAAA-0002", None, False),
    ]
