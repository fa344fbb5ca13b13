"""A no is never stored as a yes (issue 27, point 3), through the whole stack with the real
NLU model: an agent's "tidak ikut jht" for a walk-in and a resident's casual "not now" at
the JHT question both end as a JKK + JKM registration (with_jht False in the database).
And intent before field (point 4): at the village question a refusal is not a village and
"ga usah jht" is the JHT answer given early."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.app_context import AppContext
from bot.services.agents import enrol_agent
from tests.e2e.conftest import Stack, participant_by_nik, reply_texts


@pytest.fixture
def context(stack: Stack) -> Iterator[AppContext]:
    context = AppContext.from_settings(stack.settings)
    yield context
    context.engine.dispose()


def test_an_agent_s_tidak_ikut_jht_registers_the_walk_in_without_jht(
    stack: Stack, context: AppContext, db: sessionmaker[Session]
) -> None:
    agent = f"+62818{uuid.uuid4().int % 10**7:07d}"
    enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Wati Perisai",
        phone=agent, village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    resident, nik = f"+62819{uuid.uuid4().int % 10**7:07d}", "3523031708807201"
    stack.whatsapp(agent, "menu agen")
    assert "Nama lengkap warga" in stack.whatsapp(agent, "4")[-1]
    stack.whatsapp(agent, "Sukirah")
    stack.whatsapp(agent, nik)
    stack.whatsapp(agent, "17-08-1980")
    stack.whatsapp(agent, "0" + resident.removeprefix("+62"))
    stack.whatsapp(agent, "Karanglo")
    stack.whatsapp(agent, "petani")
    assert "JHT" in stack.whatsapp(agent, "1 juta")[-1]
    summary = stack.whatsapp(agent, "tidak ikut jht")[-1]
    assert summary.startswith("Mohon periksa data warga"), summary
    assert "Program: JKK + JKM\n" in summary, summary
    assert stack.whatsapp(agent, "1")[-1].startswith("Terakhir, persetujuan warga")
    replies = stack.whatsapp(agent, "2")
    assert any(reply.startswith("Sukirah terdaftar") for reply in replies), replies

    participant = participant_by_nik(db, nik)
    assert participant is not None and participant.with_jht is False


def test_a_resident_s_casual_not_now_to_jht_is_stored_as_no_jht(
    stack: Stack, db: sessionmaker[Session]
) -> None:
    sender, nik = f"e2e-{uuid.uuid4().hex[:8]}", "3523031708807202"
    stack.chat(sender, "mau daftar")
    assert "Siapa nama lengkap" in reply_texts(stack.chat(sender, "ya setuju"))[-1]
    stack.chat(
        sender, f"nama Darmini, nik {nik}, lahir 17-08-1980, hp 081234500077, petani, 1 juta"
    )
    assert "JHT" in reply_texts(stack.chat(sender, "Karanglo"))[-1]
    summary = reply_texts(stack.chat(sender, "ntar aja deh kak"))[-1]
    assert "Program: JKK + JKM\n" in summary, summary
    stack.chat(sender, "ya benar")

    participant = participant_by_nik(db, nik)
    assert participant is not None and participant.with_jht is False


def test_at_the_village_question_a_refusal_is_no_village_and_a_jht_no_is_kept(
    stack: Stack, db: sessionmaker[Session]
) -> None:
    sender, nik = f"e2e-{uuid.uuid4().hex[:8]}", "3523031708807203"
    stack.chat(sender, "mau daftar")
    stack.chat(sender, "ya setuju")
    asked = stack.chat(
        sender, f"nama Sarminah, nik {nik}, lahir 17-08-1980, hp 081234500078, petani, 1 juta"
    )
    assert "desa" in reply_texts(asked)[-1].lower()
    refused = reply_texts(stack.chat(sender, "saya gak mau kasih tau desa saya"))
    assert "desa" in refused[-1].lower() and "Dicatat" not in " ".join(refused)
    which = reply_texts(stack.chat(sender, "eh tadi ada yang salah"))
    assert "Data mana yang salah" in which[0] and "desa" in which[-1].lower(), which
    noted = reply_texts(stack.chat(sender, "ga usah jht"))
    assert any("Dicatat" in text and "JKK + JKM" in text for text in noted), noted
    assert "desa" in noted[-1].lower()
    summary = reply_texts(stack.chat(sender, "Karanglo"))[-1]
    assert "Program: JKK + JKM\n" in summary and "Desa: Karanglo" in summary, summary
    assert any("Data mana yang salah" in text for text in reply_texts(stack.chat(sender, "salah")))
    stack.chat(sender, "sudah benar")

    participant = participant_by_nik(db, nik)
    assert participant is not None and participant.with_jht is False
    assert participant.village == "Karanglo"
