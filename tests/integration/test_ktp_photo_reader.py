"""The KTP photo reader on generated cards (issue 30), with the real engine (libtesseract
through tesserocr, Debian's Indonesian model): a floor on a small normal set, no wrong NIK
ever kept, a specific problem named for each kind of spoiled photo, photos refused before
decoding, a bounded number read at once, and nothing written to the temporary directory.
`make ocr-eval` measures the full sets."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import date

import pytest
from cryptography.fernet import Fernet

from bot.domain.ktp import (
    FORM_FIELDS,
    PROBLEM_METADATA,
    READING_METADATA,
    PhotoProblem,
    PhotoRefused,
    PhotoStep,
)
from bot.domain.replies import BotReply
from bot.infra.crypto import PiiCipher
from bot.infra.region_register import place_register
from bot.infra.shared_state import MemoryStore
from bot.services.ktp_photo.reader import KtpPhotoReader
from bot.services.ktp_photo.readings import PhotoReadings
from tests.support.ktp_cards import card_set, spoiled

TODAY = date(2026, 12, 1)


def area_name(code: str) -> str | None:
    area = place_register().area(code)
    return area.name if area else None


@pytest.fixture(scope="module")
def reader() -> Iterator[KtpPhotoReader]:
    reader = KtpPhotoReader(area_name, workers=2)
    yield reader
    reader.close()


def test_a_small_normal_set_reads_above_the_floor_and_keeps_no_wrong_nik(
    reader: KtpPhotoReader, caplog: pytest.LogCaptureFixture
) -> None:
    cards = card_set("normal", 12, 2026)
    with caplog.at_level(logging.DEBUG):
        readings = [(person, reader.read(photo, TODAY).reading) for person, photo in cards]
    logged = caplog.text
    assert "KTP photo read" in logged  # what was kept is logged by field name...
    assert not [p for p, _ in readings if p.nik in logged or p.full_name in logged]  # ...only
    niks = [(person.nik, reading.nik if reading else None) for person, reading in readings]
    assert [read for truth, read in niks if read is not None and read != truth] == []
    assert sum(truth == read for truth, read in niks) >= 10  # see make ocr-eval
    names = [reading.full_name if reading else None for _, reading in readings]
    assert sum(name == p.full_name for (p, _), name in zip(readings, names, strict=True)) >= 9
    for person, reading in readings:
        if reading is not None and reading.nik is not None:
            assert (reading.birth_date, reading.sex.value) == (
                person.birth_date,
                "P" if person.sex == "PEREMPUAN" else "L",
            )


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("dark", PhotoProblem.TOO_DARK),
        ("blurred", PhotoProblem.BLURRED),
        ("glare", PhotoProblem.GLARE),
        ("not_a_ktp", PhotoProblem.NOT_A_KTP),
    ],
)
def test_a_spoiled_photo_gets_its_own_problem_and_no_nik(
    reader: KtpPhotoReader, kind: str, problem: PhotoProblem
) -> None:
    result = reader.read(spoiled(kind, 2), TODAY)
    assert result.problem is problem
    assert result.reading is None or result.reading.nik is None


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"%PDF-1.7 a scanned form", PhotoRefused.NOT_AN_IMAGE), (bytes(9 * 1024 * 1024), None)],
)
def test_files_that_are_not_photos_are_refused_unread(
    reader: KtpPhotoReader, data: bytes, why: PhotoRefused | None
) -> None:
    result = reader.read(data, TODAY)
    assert result.refused is not None and result.reading is None
    assert result.refused.why is (why or PhotoRefused.TOO_LARGE)


async def test_photos_are_read_off_the_event_loop_two_at_most_and_leave_no_file(
    reader: KtpPhotoReader,
) -> None:
    photos = [photo for _, photo in card_set("normal", 4, 7)]
    before = set(os.listdir(tempfile.gettempdir()))
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beating = asyncio.create_task(heartbeat())
    results = await asyncio.gather(*(reader.read_async(photo, TODAY) for photo in photos))
    beating.cancel()
    assert all(result.reading is not None for result in results)
    assert ticks > 10  # the loop kept turning while the photos were read
    assert reader.engines_created <= 2
    assert set(os.listdir(tempfile.gettempdir())) == before


async def test_fields_read_wait_encrypted_and_only_while_benar_is_asked(
    reader: KtpPhotoReader,
) -> None:
    """bot/services/ktp_photo/readings.py with the real reader: the form's fields of a card,
    kept encrypted in the shared store (no NIK or name in clear there), handed to the next
    message, and forgotten once Rasa no longer asks "Benar?"."""
    person, photo = card_set("normal", 1, 2026)[0]
    store = MemoryStore()
    cipher = PiiCipher(Fernet.generate_key().decode())
    readings = PhotoReadings(reader, store, cipher, lambda s: f"h-{s}", lambda: TODAY)
    metadata = await readings.read("wa:+628", photo)
    assert metadata[READING_METADATA]["nik"] == person.nik
    assert set(metadata[READING_METADATA]) <= set(FORM_FIELDS)
    (kept,) = [await store.get(key) for key in ("ktp:h-wa:+628",)]
    assert kept is not None and person.nik not in kept and person.full_name not in kept
    assert await readings.pending("wa:+628") == metadata
    await readings.after_turn("wa:+628", [BotReply(photo_step=PhotoStep.CONFIRMING)])
    assert await readings.pending("wa:+628") == metadata
    await readings.after_turn("wa:+628", [BotReply(text="Dicatat.")])
    assert await readings.pending("wa:+628") == {}
    # A file that is no photo, a photo not fetched, and no reader: each named, nothing kept.
    assert await readings.read("wa:+628", b"%PDF-1.7") == {PROBLEM_METADATA: "not_an_image"}
    assert await readings.read("wa:+628", None) == {PROBLEM_METADATA: "not_received"}
    without = PhotoReadings(None, store, cipher, lambda s: s, lambda: TODAY)
    assert await without.read("wa:+628", photo) == {PROBLEM_METADATA: "unavailable"}
    assert len(store) == 0
