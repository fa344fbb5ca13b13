"""Participant records on PostgreSQL and SQLite: encryption, one NIK one participant, audit."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from bot.crypto import PiiCipher
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import upgrade
from bot.db.models import AuditEvent, Participant
from bot.domain.nik import parse_nik
from bot.domain.registration import ParticipantStatus, Registration
from bot.domain.senders import Channel
from bot.services.participants import DuplicateNik, register_participant
from tests.conftest import TEST_PII_KEY

TODAY = date(2026, 11, 21)
NIK = "3571021708800001"
CIPHER = PiiCipher(Fernet.generate_key().decode())


def registration(nik: str = NIK) -> Registration:
    return Registration(
        full_name="Budi Santoso",
        nik=parse_nik(nik, TODAY),
        birth_date=date(1980, 8, 17),
        phone="+6281234567890",
        village="Karanglo",
        district="Kerek",
        regency="Tuban",
        occupation="nelayan",
        declared_income=1_000_000,
        with_jht=True,
        channel=Channel.WHATSAPP,
    )


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'sadar.db'}"
        upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def test_registration_creates_an_encrypted_participant_and_an_audit_event(sessions) -> None:
    result = register_participant(
        sessions, CIPHER, TEST_PII_KEY, registration(), "wa:+62812", TODAY
    )
    assert result.reference.startswith("SDR-")
    assert result.status is ParticipantStatus.AWAITING_FIRST_PAYMENT
    assert result.monthly_contribution == 36_800
    assert result.first_due_date == date(2026, 12, 15)  # registered after the 15th

    with sessions() as session:
        participant = session.scalars(select(Participant)).one()
        raw_row = " ".join(
            str(v) for v in session.execute(text("SELECT * FROM participants")).one()
        )
        events = session.scalars(select(AuditEvent)).all()
    assert CIPHER.decrypt(participant.nik_encrypted) == NIK
    assert CIPHER.decrypt(participant.full_name_encrypted) == "Budi Santoso"
    for secret in (NIK, "Budi", "6281234567890", "1000000", "1980-08-17"):
        assert secret not in raw_row, f"{secret} stored in clear"
    assert [(e.action, e.participant_id) for e in events] == [("registered", participant.id)]


def test_the_same_nik_from_another_sender_is_refused(sessions) -> None:
    register_participant(sessions, CIPHER, TEST_PII_KEY, registration(), "wa:+62812", TODAY)
    with pytest.raises(DuplicateNik):
        register_participant(sessions, CIPHER, TEST_PII_KEY, registration(), "tg:99", TODAY)
    with sessions() as session:
        assert session.scalar(select(Participant.id).where(Participant.id > 1)) is None


def test_concurrent_registrations_of_one_nik_create_one_participant(pg_url: str) -> None:
    engine = make_engine(pg_url)
    sessions = make_session_factory(engine)
    outcomes: list[str] = []

    def attempt(sender: str) -> None:
        try:
            register_participant(sessions, CIPHER, TEST_PII_KEY, registration(), sender, TODAY)
            outcomes.append("created")
        except DuplicateNik:
            outcomes.append("duplicate")

    threads = [threading.Thread(target=attempt, args=(f"tg:{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert sorted(outcomes) == ["created"] + ["duplicate"] * 5
