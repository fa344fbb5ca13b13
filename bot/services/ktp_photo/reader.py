"""Reading a KTP photo with libtesseract in memory (tesserocr: no temporary file, unlike
pytesseract), off the event loop, a bounded number at once.

The card is found and straightened (card.py), its printed side (the portrait blanked) read
twice, once in grey and once binarised (a third time, enlarged, when those two disagree),
and each read's lines checked by bot.domain.ktp. A NIK is kept only when two reads agree
on it: its last four digits (the serial) have no rule that could catch a misread, two
independent reads of them do. Nothing read is logged;
the image and the text live only in this call's memory."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import tesserocr
from PIL import Image

from bot.domain.ktp import Dropped, KtpReading, read_ktp
from bot.services.ktp_photo.card import (
    PhotoProblem,
    PhotoQuality,
    Pixels,
    find_card,
    problem_of,
)
from bot.services.ktp_photo.image import PhotoLimits, RefusedPhoto, decode_photo

log = logging.getLogger(__name__)

#: Where Debian's tesseract-ocr-ind puts the Indonesian model.
DEFAULT_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
#: The portrait and signature take the card's right quarter below the two header lines
#: (which are centred over the whole card): that part is blanked, only text is read.
TEXT_SHARE = 0.76
HEADER_SHARE = 0.2


class OcrUnavailable(RuntimeError):
    """The OCR engine or its Indonesian model is missing: photos are not read (the resident
    types), and the log says what to install."""


@dataclass(frozen=True)
class PhotoReading:
    """What one photo gave: the checked fields, or why not (refused before reading, or what
    spoils it), and how long it took."""

    reading: KtpReading | None
    refused: RefusedPhoto | None = None
    problem: PhotoProblem | None = None
    seconds: float = 0.0

    @property
    def usable(self) -> bool:
        """Something checked can be offered to the resident."""
        return self.reading is not None and any(
            getattr(self.reading, name) is not None for name in ("nik", "full_name")
        )


class KtpPhotoReader:
    """One engine per worker thread (a tesseract handle is not shared between threads);
    ``workers`` photos at most are read at once."""

    def __init__(
        self,
        area_name: Callable[[str], str | None],
        *,
        workers: int = 2,
        tessdata: Path = DEFAULT_TESSDATA,
        limits: PhotoLimits | None = None,
        quality: PhotoQuality | None = None,
        seconds_per_photo: float = 8.0,
    ) -> None:
        if not (tessdata / "ind.traineddata").exists():
            raise OcrUnavailable(
                f"no Indonesian OCR model in {tessdata}: install the Debian package "
                "tesseract-ocr-ind (make setup does), or set SADAR_KTP_TESSDATA"
            )
        self._area_name = area_name
        self._tessdata = tessdata
        self._limits = limits or PhotoLimits()
        self._quality = quality or PhotoQuality()
        self._timeout_ms = int(seconds_per_photo * 1000)
        self._engines: queue.Queue[tesserocr.PyTessBaseAPI] = queue.Queue()
        self._created = 0
        self._counting = threading.Lock()
        self._workers = workers
        self._gate = asyncio.Semaphore(workers)

    @contextmanager
    def _engine(self) -> Iterator[tesserocr.PyTessBaseAPI]:
        try:
            engine = self._engines.get_nowait()
        except queue.Empty:
            engine = tesserocr.PyTessBaseAPI(
                path=str(self._tessdata), lang="ind", psm=tesserocr.PSM.SINGLE_BLOCK
            )
            with self._counting:
                self._created += 1
        try:
            yield engine
        finally:
            self._engines.put(engine)

    def _lines(self, engine: tesserocr.PyTessBaseAPI, image: Pixels) -> list[str] | None:
        engine.SetImage(Image.fromarray(image))
        if not engine.Recognize(timeout=self._timeout_ms):
            return None
        text: str = engine.GetUTF8Text()
        engine.Clear()
        return text.splitlines()

    def read(self, data: bytes, today: date) -> PhotoReading:
        """Read one photo (blocking: call ``read_async`` from the event loop)."""
        started = time.perf_counter()
        try:
            rgb = decode_photo(data, self._limits)
        except RefusedPhoto as refused:
            return PhotoReading(None, refused=refused)
        found = find_card(rgb)
        # The brightest channel: the card's light-blue security pattern fades into the
        # background there, while the black print stays dark in every channel.
        gray = np.asarray(found.image.max(axis=2), dtype=np.uint8)
        text_side = _without_portrait(gray) if found.outlined else gray
        _, thresholded = cv2.threshold(text_side, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        binary = np.asarray(thresholded, dtype=np.uint8)
        readings: list[KtpReading] = []
        with self._engine() as engine:
            for variant in (text_side, binary, _enlarged(text_side)):
                lines = self._lines(engine, variant)
                if lines is None:
                    break
                readings.append(read_ktp(lines, today, self._area_name))
                if len(readings) == 2 and readings[0].nik == readings[1].nik:
                    break  # two reads agree (or both found none): no third is needed
        seconds = time.perf_counter() - started
        if len(readings) < 2:
            log.info("KTP photo: reading ran out of time after %.1f s", seconds)
            problem = problem_of(found, self._quality, ktp_text=False)
            return PhotoReading(None, problem=problem, seconds=seconds)
        reading = _agreed(readings)
        problem = (
            None if reading.nik else problem_of(found, self._quality, reading.looks_like_a_ktp)
        )
        log.info(
            "KTP photo read in %.2f s: %s", seconds, ", ".join(_kept(reading)) or "nothing usable"
        )
        return PhotoReading(reading, problem=problem, seconds=seconds)

    async def read_async(self, data: bytes, today: date) -> PhotoReading:
        """Off the event loop, ``workers`` at most at once: chat turns stay fast."""
        async with self._gate:
            return await asyncio.to_thread(self.read, data, today)

    @property
    def engines_created(self) -> int:
        """How many OCR engines exist: never more than ``workers``."""
        return self._created

    def close(self) -> None:
        while not self._engines.empty():
            self._engines.get_nowait().End()


def _without_portrait(card: Pixels) -> Pixels:
    blanked = card.copy()
    height, width = card.shape[:2]
    blanked[round(height * HEADER_SHARE) :, round(width * TEXT_SHARE) :] = 255
    return blanked


def _kept(reading: KtpReading) -> list[str]:
    """The names of the fields kept (never their values: nothing read is logged)."""
    return [
        name
        for name in ("nik", "full_name", "birth_date", "sex", "address", "village", "district")
        if getattr(reading, name) is not None
    ]


#: The fields a NIK agreed on by two reads confirms.
_NIK_CONFIRMS = frozenset({"nik", "birth_date", "sex"})


def _agreed(readings: list[KtpReading]) -> KtpReading:
    """The first read's fields, filled from the others where it has none; the NIK (and the
    birth date and sex it confirms) only when two reads found the same one."""
    first, *others = readings
    merged = first
    for name in ("full_name", "birth_place", "address", "rt_rw", "village", "district"):
        for other in others:
            if getattr(merged, name) is None and getattr(other, name) is not None:
                merged = replace(merged, **{name: getattr(other, name)})
    niks = [reading.nik for reading in readings if reading.nik is not None]
    agreed = next((nik for nik in niks if niks.count(nik) >= 2), None)
    if agreed is not None:
        confirming = next(reading for reading in readings if reading.nik == agreed)
        return replace(
            merged,
            nik=agreed,
            birth_date=confirming.birth_date,
            sex=confirming.sex,
            dropped={
                k: v for k, v in merged.dropped.items() if k not in {"nik", "birth_date", "sex"}
            },
        )
    dropped = dict(merged.dropped)
    if niks:
        dropped["nik"] = Dropped.READS_DISAGREE
        dropped["birth_date"] = dropped["sex"] = Dropped.NO_VALID_NIK
    return replace(merged, nik=None, birth_date=None, sex=None, dropped=dropped)


def _enlarged(card: Pixels) -> Pixels:
    return np.asarray(
        cv2.resize(card, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC), dtype=np.uint8
    )
