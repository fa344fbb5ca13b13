"""Participant records on PostgreSQL and SQLite: encryption, one NIK one participant, audit."""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import upgrade
from bot.db.models import AuditEvent, Participant, ParticipantAddress
from bot.domain.nik import parse_nik
from bot.domain.payments import ParticipantStatus
from bot.domain.registration import Registration
from bot.domain.senders import Channel
from bot.infra.crypto import PiiCipher
from bot.services.participants import DuplicateNik, register_participant
from bot.services.unit_of_work import UnitOfWork
from tests.conftest import TEST_PII_KEY
from tests.support.clock import WIB

TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=WIB)
NIK = "3571021708800001"
CIPHER_KEY = Fernet.generate_key().decode()
CIPHER = PiiCipher(CIPHER_KEY)


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
        village_code="35.23.08.2016",
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
        UnitOfWork(sessions), CIPHER, TEST_PII_KEY, registration(), "wa:+62812", NOW
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
    assert participant.village_code == "35.23.08.2016"  # from the national register
    for secret in (NIK, "Budi", "6281234567890", "1000000", "1980-08-17"):
        assert secret not in raw_row, f"{secret} stored in clear"
    assert [(e.action, e.participant_id) for e in events] == [("registered", participant.id)]


def test_the_same_nik_from_another_sender_is_refused(sessions) -> None:
    register_participant(
        UnitOfWork(sessions), CIPHER, TEST_PII_KEY, registration(), "wa:+62812", NOW
    )
    with pytest.raises(DuplicateNik):
        register_participant(
            UnitOfWork(sessions), CIPHER, TEST_PII_KEY, registration(), "tg:99", NOW
        )
    with sessions() as session:
        assert session.scalar(select(Participant.id).where(Participant.id > 1)) is None


def test_concurrent_registrations_of_one_nik_create_one_participant(pg_url: str) -> None:
    engine = make_engine(pg_url)
    sessions = make_session_factory(engine)
    outcomes: list[str] = []

    def attempt(sender: str) -> None:
        try:
            register_participant(
                UnitOfWork(sessions), CIPHER, TEST_PII_KEY, registration(), sender, NOW
            )
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


def test_find_for_sender_and_masking(sessions) -> None:
    from bot.services.participants import find_for_sender, find_participant

    result = register_participant(
        UnitOfWork(sessions), CIPHER, TEST_PII_KEY, registration(), "tg:42", NOW
    )
    mine = find_for_sender(UnitOfWork(sessions), CIPHER, TEST_PII_KEY, "tg:42")
    assert mine is not None and mine.reference == result.reference
    assert mine.nik == "357102********01" and mine.full_name == "B*** S******"
    assert find_for_sender(UnitOfWork(sessions), CIPHER, TEST_PII_KEY, "tg:43") is None
    # The number typed at registration is not proof: WhatsApp finds the registration only
    # once that number is linked by code (tests/integration/test_addresses.py).
    assert find_for_sender(UnitOfWork(sessions), CIPHER, TEST_PII_KEY, "wa:+6281234567890") is None
    full = find_participant(
        UnitOfWork(sessions), CIPHER, TEST_PII_KEY, reference=result.reference, masked=False
    )
    assert full is not None and full.nik == NIK and full.full_name == "Budi Santoso"


def test_deletion_erases_personal_data_and_keeps_an_anonymous_audit_trail(sessions) -> None:
    from bot.services.erasure import delete_for_sender

    result = register_participant(
        UnitOfWork(sessions), CIPHER, TEST_PII_KEY, registration(), "tg:42", NOW
    )
    erased = delete_for_sender(UnitOfWork(sessions), CIPHER, TEST_PII_KEY, "tg:42", NOW)
    assert erased is not None and erased.reference == result.reference
    assert delete_for_sender(UnitOfWork(sessions), CIPHER, TEST_PII_KEY, "tg:42", NOW) is None
    with sessions() as session:
        assert session.scalars(select(Participant)).all() == []
        assert session.scalars(select(ParticipantAddress)).all() == []
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.participant_id) for e in events] == [
        ("registered", None),
        ("deleted_by_participant", None),
    ]
    # The same NIK can register again after deletion.
    register_participant(UnitOfWork(sessions), CIPHER, TEST_PII_KEY, registration(), "tg:42", NOW)


def test_admin_cli_shows_and_exports_masked(pg_url: str) -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path as _Path

    engine = make_engine(pg_url)
    result = register_participant(
        UnitOfWork(make_session_factory(engine)), CIPHER, TEST_PII_KEY, registration(), "tg:1", NOW
    )
    engine.dispose()
    sadar = _Path(sys.executable).with_name("sadar")
    env = {
        **os.environ,
        "SADAR_DATABASE_URL": pg_url,
        "SADAR_PII_HASH_KEY": TEST_PII_KEY,
        "SADAR_PII_ENCRYPTION_KEYS": CIPHER_KEY,
    }
    shown = subprocess.run(
        [str(sadar), "participants", "show", "--nik", "3571 0217 0880 0001", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(shown.stdout)
    assert data["reference"] == result.reference
    assert data["nik"] == "357102********01"
    assert NIK not in shown.stdout and "Budi" not in shown.stdout

    exported = subprocess.run(
        [str(sadar), "participants", "export"], env=env, capture_output=True, text=True, check=True
    )
    lines = exported.stdout.strip().splitlines()
    assert lines[0].startswith("reference,full_name,nik,phone")
    assert len(lines) == 2 and NIK not in exported.stdout

    missing = subprocess.run(
        [str(sadar), "participants", "show", "--reference", "SDR-0000-0000"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "No participant found" in missing.stderr
