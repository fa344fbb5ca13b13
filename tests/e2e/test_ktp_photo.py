"""Issue 30, end to end: a resident registers by sending a photo of their KTP, on WhatsApp
(the Twilio stand-in serves the media and records its deletion) and on Telegram (getFile),
confirming what was read. An unreadable photo gets a tip, then the typed path; a photo
before consent is not read; oversized and fake-type files are refused politely; and no
image byte or read text reaches the database, the conversation store, the logs or the
temporary directory.

The cards are generated (tests/support/ktp_cards.py): made-up people with NIKs valid in
structure. The ones used are those this machine's reader reads in full, picked by the
same reader the gateway runs, so a test never depends on one lucky card."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import text

from bot.app_context import AppContext
from bot.domain.registration import age_on
from bot.infra.region_register import place_register
from bot.services.agents import enrol_agent
from bot.services.ktp_photo.reader import KtpPhotoReader
from tests.e2e.conftest import Stack, TelegramUser, participant_by_nik
from tests.support.clock import E2E_CLOCK_START
from tests.support.ktp_cards import CardPerson, card_set, spoiled

TODAY = E2E_CLOCK_START.date()


@dataclass(frozen=True)
class Card:
    person: CardPerson
    photo: bytes


def _area_name(code: str) -> str | None:
    area = place_register().area(code)
    return area.name if area else None


@pytest.fixture(scope="module")
def cards() -> Iterator[Card]:
    """Cards read in full (NIK, name, village), of people Sadar may register (20–60)."""
    reader = KtpPhotoReader(_area_name, workers=1)

    def readable() -> Iterator[Card]:
        for person, photo in card_set("normal", 40, 3030):
            if not 20 <= age_on(person.birth_date, TODAY) <= 60:
                continue
            reading = reader.read(photo, TODAY).reading
            if (
                reading is not None
                and reading.nik == person.nik
                and reading.full_name == person.full_name
                and reading.village is not None
            ):
                yield Card(person, photo)

    try:
        found = list(readable())
    finally:
        reader.close()
    assert len(found) >= 7, "too few generated cards read in full: see make ocr-eval"
    return iter(found)


def _temporary_files(stack: Stack) -> set[Path]:
    """What the stack's processes have in their own temporary directory (TMPDIR)."""
    assert stack.tmp_dir is not None
    return set(stack.tmp_dir.rglob("*"))


def _whatsapp_photo(stack: Stack, number: str, data: bytes, content_type: str = "image/jpeg"):
    form = stack.twilio.inbound_media(data, content_type)
    media_sid = form["MediaUrl0"].rsplit("/", 1)[-1]
    return stack.whatsapp(number, "", **form), media_sid


def test_a_whatsapp_resident_registers_from_a_ktp_photo(stack: Stack, db, cards) -> None:
    card = next(cards)
    person, number = card.person, "+6285730300001"
    stack.whatsapp(number, "halo")
    stack.whatsapp(number, "1")
    assert "nama lengkap" in stack.whatsapp(number, "1")[-1]  # consent given

    before = _temporary_files(stack)
    replies, media_sid = _whatsapp_photo(stack, number, card.photo)
    shown = replies[-1]
    assert shown.startswith("Dari foto KTP, saya membaca:")
    assert f"• Nama: {person.full_name}" in shown and f"• NIK: {person.nik}" in shown
    assert "Benar?" in shown and shown.endswith("1. Ya, benar\n2. Ada yang salah")
    # Twilio's copy was fetched once, with the account's credentials, then deleted.
    assert stack.twilio.fetched_media.count(media_sid) == 1
    assert media_sid in stack.twilio.deleted_media and media_sid not in stack.twilio.media
    assert _temporary_files(stack) <= before

    # Nothing read is stored before the resident confirms it.
    stored = json.dumps(stack.tracker(f"wa:{number}"))
    assert person.nik not in stored and person.full_name not in stored
    assert participant_by_nik(db, person.nik) is None

    noted = stack.whatsapp(number, "1")
    assert any(r.startswith("Dicatat:") for r in noted)
    assert "pekerjaan" in noted[-1]  # name, NIK, birth date and village are not asked again
    assert "penghasilan" in stack.whatsapp(number, "petani")[-1]
    stack.whatsapp(number, "1 juta")
    summary = stack.whatsapp(number, "tidak")[-1]
    assert person.nik in summary and person.full_name in summary
    done = stack.whatsapp(number, "1")[-1]
    assert "Nomor pendaftaran Sadar Anda: SDR-" in done

    participant = participant_by_nik(db, person.nik)
    assert participant is not None and participant.reference in done
    assert participant.sex == ("P" if person.sex == "PEREMPUAN" else "L")
    assert participant.village.lower() == person.village.lower()
    assert participant.district.lower() == person.district.lower()


def test_a_telegram_resident_registers_from_a_ktp_photo(stack: Stack, db, cards) -> None:
    card = next(cards)
    person = card.person
    user = TelegramUser(stack, 883001, "Warga")
    user.says("/start")
    consent = user.says("mau daftar")[-1]
    assert "Siapa nama lengkap" in user.presses(consent, "Ya, setuju")[-1]["text"]

    shown = user.sends_photo(card.photo)[-1]
    assert shown["text"].startswith("Dari foto KTP, saya membaca:")
    assert person.nik in shown["text"] and person.full_name in shown["text"]
    assert len(stack.telegram.downloaded) >= 1  # through getFile and the file URL
    # A wrong field is corrected in words, as at the summary.
    corrected = user.says(f"namanya salah, yang benar {person.full_name.title()} Saja")
    assert any("diperbaiki" in m["text"] for m in corrected)
    question = corrected[-1]["text"]
    assert "HP" in question or "nomor" in question.lower()
    assert "pekerjaan" in user.says("081234500883")[-1]["text"]
    assert "penghasilan" in user.says("pedagang")[-1]["text"]
    jht = user.says("2 juta")[-1]
    summary = user.presses(jht, "Tidak, JKK+JKM saja")[-1]
    assert person.nik in summary["text"]
    done = user.presses(summary, "Ya, daftarkan")
    assert any("Nomor pendaftaran Sadar Anda: SDR-" in m["text"] for m in done)
    participant = participant_by_nik(db, person.nik)
    assert participant is not None and participant.channel == "tg"


def test_an_unreadable_photo_gets_a_tip_then_the_typed_path(stack: Stack) -> None:
    number = "+6285730300002"
    stack.whatsapp(number, "halo")
    stack.whatsapp(number, "1")
    stack.whatsapp(number, "1")
    assert "NIK" in stack.whatsapp(number, "Sri Wahyuni")[-1]
    first, _ = _whatsapp_photo(stack, number, spoiled("dark", 7))
    assert any("terlalu gelap" in r for r in first)
    assert "NIK" in first[-1]  # the pending question again: nothing given is lost
    second, _ = _whatsapp_photo(stack, number, spoiled("blurred", 7))
    assert any("buram" in r for r in second)
    assert any("ketik saja" in r for r in second)
    # After two tries a third photo is not read: the resident types.
    fetched = len(stack.twilio.fetched_media)
    third, media_sid = _whatsapp_photo(stack, number, spoiled("glare", 7))
    assert any("ketik saja" in r for r in third)
    assert len(stack.twilio.fetched_media) == fetched and media_sid in stack.twilio.deleted_media
    assert "Tanggal lahir" in stack.whatsapp(number, "3523030101900001")[-1]


def test_a_photo_before_consent_is_not_read(stack: Stack, cards) -> None:
    card = next(cards)
    number = "+6285730300003"
    replies, media_sid = _whatsapp_photo(stack, number, card.photo)
    assert any("tidak saya baca" in r for r in replies)
    stack.whatsapp(number, "mau daftar")  # the consent question
    replies, second_sid = _whatsapp_photo(stack, number, card.photo)
    assert any("setuju" in r for r in replies) and any("tidak saya baca" in r for r in replies)
    assert media_sid not in stack.twilio.fetched_media
    assert second_sid not in stack.twilio.fetched_media
    assert {media_sid, second_sid} <= set(stack.twilio.deleted_media)
    stored = json.dumps(stack.tracker(f"wa:{number}"))
    assert card.person.nik not in stored


@pytest.mark.parametrize(
    ("data", "content_type", "reply"),
    [
        (b"\xff\xd8\xff\xe0" + bytes(9 * 1024 * 1024), "image/jpeg", "terlalu besar"),
        (b"%PDF-1.7\n" + os.urandom(2048), "image/jpeg", "bukan foto"),
        (b"%PDF-1.7\n" + os.urandom(2048), "application/pdf", "bukan foto"),
    ],
    ids=["oversized", "pdf-named-jpeg", "pdf"],
)
def test_oversized_and_fake_type_files_are_refused_politely(
    stack: Stack, data: bytes, content_type: str, reply: str
) -> None:
    number = f"+62857303001{len(content_type):02d}{len(data) % 97:02d}"
    stack.whatsapp(number, "halo")
    stack.whatsapp(number, "1")
    assert "nama lengkap" in stack.whatsapp(number, "1")[-1]
    replies, media_sid = _whatsapp_photo(stack, number, data, content_type)
    assert any(reply in r for r in replies), replies
    assert "nama lengkap" in replies[-1]  # asked again: the registration goes on
    assert media_sid in stack.twilio.deleted_media


def test_a_declined_reading_leaves_nothing_anywhere(stack: Stack, db, cards) -> None:
    """The photo is read and shown, then the resident cancels: the image and the text read
    are in no database row, no conversation event, no log line and no temporary file."""
    card = next(cards)
    person, number = card.person, "+6285730300004"
    stack.whatsapp(number, "halo")
    stack.whatsapp(number, "1")
    stack.whatsapp(number, "1")
    before = _temporary_files(stack)
    replies, _ = _whatsapp_photo(stack, number, card.photo)
    assert person.nik in replies[-1]
    stack.whatsapp(number, "batal")

    assert _temporary_files(stack) <= before
    stored = json.dumps(stack.tracker(f"wa:{number}"))
    assert person.nik not in stored and person.full_name not in stored
    logs = "\n".join(p.read_text() for p in stack.log_dir.glob("*.log"))
    assert person.nik not in logs and person.full_name not in logs
    with db() as session:
        tables = session.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        for table in list(tables):
            dump = session.execute(text(f'SELECT CAST(t AS text) FROM "{table}" t')).scalars()
            rows = "\n".join(dump)
            assert person.nik not in rows and person.full_name not in rows, table
            assert card.photo[:64].hex() not in rows


@pytest.mark.browser
def test_the_web_chat_uploads_a_ktp_photo_and_shows_the_nik_masked(
    stack: Stack, browser: webdriver.Chrome, cards, tmp_path: Path
) -> None:
    """The page's upload button, in headless Chromium: the web chat may be the village
    office's shared computer, so the NIK read is shown masked."""
    card = next(cards)
    browser.get(stack.gateway_url + "/")
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    wait = WebDriverWait(browser, 30)

    def bot_texts(b: webdriver.Chrome) -> list[str]:
        return [e.text for e in b.find_elements(By.CSS_SELECTOR, ".msg.bot")]

    wait.until(lambda b: any(t.startswith("Halo! Saya Sadar") for t in bot_texts(b)))
    for title in ("Daftar sekarang", "Ya, setuju"):
        button = (By.XPATH, f"//div[@class='buttons']/button[.='{title}']")
        wait.until(ec.element_to_be_clickable(button)).click()
    wait.until(lambda b: any("nama lengkap" in t for t in bot_texts(b)))
    upload = tmp_path / "ktp.jpg"
    upload.write_bytes(card.photo)
    browser.find_element(By.ID, "photo").send_keys(str(upload))
    wait.until(lambda b: any(t.startswith("Dari foto KTP") for t in bot_texts(b)))
    shown = next(t for t in bot_texts(browser) if t.startswith("Dari foto KTP"))
    nik = card.person.nik
    assert f"NIK: {nik[:6]}******{nik[-4:]}" in shown and nik not in shown
    assert card.person.full_name in shown
    wait.until(
        ec.element_to_be_clickable((By.XPATH, "//div[@class='buttons']/button[.='Ya, benar']"))
    ).click()
    wait.until(lambda b: any("Dicatat" in t for t in bot_texts(b)))


def test_a_web_upload_past_the_limit_is_refused_in_words_or_never_taken(stack: Stack) -> None:
    """What the page sends of a large photo (one byte past the limit) gets the polite reply;
    a body far past it is not even received (413)."""
    stack.chat("foto-besar", "mau daftar")
    assert "nama lengkap" in stack.chat("foto-besar", "ya setuju")[-1]["text"]
    session = stack.web_session("foto-besar")
    url = f"{stack.gateway_url}/api/chat/photo"
    limit = 8 * 1024 * 1024
    body = b"\xff\xd8\xff\xe0" + bytes(limit - 3)
    response = httpx.post(url, content=body, headers={"X-Sadar-Session": session}, timeout=60)
    texts = [r["text"] for r in response.json()["replies"]]
    assert any("terlalu besar" in t for t in texts) and "nama lengkap" in texts[-1]
    response = httpx.post(
        url, content=bytes(3 * limit), headers={"X-Sadar-Session": session}, timeout=60
    )
    assert response.status_code == 413
    forged = httpx.post(url, content=body, headers={"X-Sadar-Session": "made-up"}, timeout=60)
    assert forged.status_code == 422


def test_an_agent_registers_a_walk_in_from_the_resident_s_ktp_photo(
    stack: Stack, db, cards
) -> None:
    """An agent at the village office sends the walk-in's KTP: the fields are shown masked
    (the agent's phone is shown to the resident beside them) and fill the walk-in's form."""
    card = next(cards)
    person = card.person
    context = AppContext.from_settings(stack.settings)
    agent, resident = "+6281830300005", "+6281930300005"
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Rina Perisai",
        phone=agent, village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    context.engine.dispose()
    stack.whatsapp(agent, "menu agen")
    assert "Nama lengkap warga" in stack.whatsapp(agent, "4")[-1]
    replies, media_sid = _whatsapp_photo(stack, agent, card.photo)
    shown = replies[-1]
    nik = person.nik
    assert f"NIK: {nik[:6]}******{nik[-4:]}" in shown and nik not in shown
    assert media_sid in stack.twilio.deleted_media
    assert "Nomor WhatsApp warga" in stack.whatsapp(agent, "1")[-1]
    assert "pekerjaan warga" in stack.whatsapp(agent, resident)[-1]
    assert "penghasilan warga" in stack.whatsapp(agent, "petani")[-1]
    stack.whatsapp(agent, "1 juta")
    summary = stack.whatsapp(agent, "tidak")[-1]
    assert summary.startswith("Mohon periksa data warga")
    assert stack.whatsapp(agent, "1")[-1].startswith("Terakhir, persetujuan warga")
    stack.whatsapp(agent, "2")  # read aloud to the resident
    participant = participant_by_nik(db, nik)
    assert participant is not None and participant.registered_by_agent_id == agent_id


def test_a_reading_said_wrong_twice_is_dropped_and_the_resident_types(stack: Stack, cards) -> None:
    card = next(cards)
    number = "+6285730300006"
    stack.whatsapp(number, "halo")
    stack.whatsapp(number, "1")
    stack.whatsapp(number, "1")
    replies, _ = _whatsapp_photo(stack, number, card.photo)
    assert replies[-1].startswith("Dari foto KTP")
    which = stack.whatsapp(number, "namanya salah")  # says which, gives no new name
    assert which[-1].startswith("Bagian mana yang salah?")
    dropped = stack.whatsapp(number, "tidak, semua salah")
    assert any("tidak saya pakai" in r for r in dropped)
    assert "nama lengkap" in dropped[-1]  # back to the question that was pending
    stored = json.dumps(stack.tracker(f"wa:{number}"))
    assert card.person.nik not in stored
