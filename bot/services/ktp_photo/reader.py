"""Reading a KTP photo with libtesseract in memory (tesserocr: no temporary file, unlike
pytesseract), off the event loop, a bounded number at once.

The card is found and straightened (card.py), its printed side (the portrait blanked) read
in grey (and binarised when that gives no NIK) with the Indonesian model, and each read's
lines checked by bot.domain.ktp. A NIK that passes its checks is read once more on its
own, by another model (English): its row cut out, enlarged and read as one line of digits.
It is kept only when both agree: its last four digits (the serial) have no rule that could
catch a misread, and two reads by the same model share its misreads (a bold 8 taken for a
3 twice), two models' do not. Nothing read is logged;
the image and the text live only in this call's memory."""

from __future__ import annotations

import asyncio
import logging
import queue
import re
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

from bot.domain.ktp import DIGIT_LOOKALIKES, Dropped, KtpReading, PhotoProblem, read_ktp
from bot.services.ktp_photo.card import (
    Box,
    PhotoQuality,
    Pixels,
    find_card,
    problem_of,
)
from bot.services.ktp_photo.image import PhotoLimits, RefusedPhoto, decode_photo
from bot.services.ktp_photo.second_reader import RapidOcrReader, as_lines, digits_box

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
class _Engines:
    """One worker's engines: the page reader, and the digits-only line reader."""

    page: tesserocr.PyTessBaseAPI
    row: tesserocr.PyTessBaseAPI


@dataclass(frozen=True)
class PhotoReading:
    """What one photo gave: the checked fields, or why not (refused before reading, or what
    spoils it), and how long it took."""

    reading: KtpReading | None
    refused: RefusedPhoto | None = None
    problem: PhotoProblem | None = None
    seconds: float = 0.0


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
        second_reader: RapidOcrReader | None = None,
    ) -> None:
        missing = [m for m in ("ind", "eng") if not (tessdata / f"{m}.traineddata").exists()]
        if missing:
            raise OcrUnavailable(
                f"no OCR model {', '.join(missing)} in {tessdata}: install the Debian packages "
                "tesseract-ocr-ind and tesseract-ocr-eng (make test installs them), or point "
                "tessdata at a folder holding ind.traineddata and eng.traineddata"
            )
        self._area_name = area_name
        self._second = second_reader
        self._tessdata = tessdata
        self._limits = limits or PhotoLimits()
        self._quality = quality or PhotoQuality()
        self._timeout_ms = int(seconds_per_photo * 1000)
        self._engines: queue.Queue[_Engines] = queue.Queue()
        self._created = 0
        self._counting = threading.Lock()
        self._gate = asyncio.Semaphore(workers)

    @contextmanager
    def _engine(self) -> Iterator[_Engines]:
        try:
            engines = self._engines.get_nowait()
        except queue.Empty:
            page = tesserocr.PyTessBaseAPI(
                path=str(self._tessdata), lang="ind", psm=tesserocr.PSM.SINGLE_BLOCK
            )
            # Another model (English) for the confirming read: a misread of one model's
            # (a bold 8 taken for a 3) is not the other's.
            row = tesserocr.PyTessBaseAPI(
                path=str(self._tessdata), lang="eng", psm=tesserocr.PSM.SINGLE_LINE
            )
            row.SetVariable("tessedit_char_whitelist", "0123456789")
            engines = _Engines(page, row)
            with self._counting:
                self._created += 1
        try:
            yield engines
        finally:
            self._engines.put(engines)

    def _page(
        self, engine: tesserocr.PyTessBaseAPI, image: Pixels, today: date
    ) -> tuple[KtpReading, Box | None] | None:
        """One read of the card: its checked fields, and where the NIK's digits are printed
        (to read them once more); None when the time ran out."""
        engine.SetImage(Image.fromarray(image))
        if not engine.Recognize(timeout=self._timeout_ms):
            engine.Clear()
            return None
        text: str = engine.GetUTF8Text()
        reading = read_ktp(text.splitlines(), today, self._area_name)
        box = _digits_box(engine, reading.nik) if reading.nik else None
        engine.Clear()
        return reading, box

    def _nik_row(self, engine: tesserocr.PyTessBaseAPI, image: Pixels, box: Box) -> str:
        """The NIK's digits read again on their own, by the other model: the row enlarged,
        as one line, digits only."""
        left, top, right, bottom = box
        margin = max(4, (bottom - top) // 3)
        row = image[max(0, top - margin) : bottom + margin, max(0, left - margin) : right + margin]
        enlarged = cv2.resize(row, None, fx=2, fy=2, interpolation=cv2.INTER_LANCZOS4)
        engine.SetImage(Image.fromarray(np.asarray(enlarged, dtype=np.uint8)))
        digits = re.sub(r"\D", "", engine.GetUTF8Text())
        engine.Clear()
        return digits

    def _second_read(
        self, row: tesserocr.PyTessBaseAPI, card: Pixels, gray: Pixels, today: date
    ) -> KtpReading:
        """The poor photo read by the second reader; its NIK confirmed by tesseract's other
        model on the same digits, like the first reader's."""
        assert self._second is not None
        pieces = self._second.pieces(np.ascontiguousarray(card[:, :, ::-1]))  # it wants BGR
        reading = read_ktp(as_lines(pieces), today, self._area_name)
        if reading.nik is None:
            return reading
        box = digits_box(pieces, reading.nik)
        if box is None or self._nik_row(row, gray, box) != reading.nik:
            return _without_nik(reading, Dropped.READS_DISAGREE)
        return reading

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
        with self._engine() as engines:
            for variant in (text_side, binary):
                page = self._page(engines.page, variant, today)
                if page is None:
                    break
                reading, box = page
                if reading.nik is not None and (
                    box is None or self._nik_row(engines.row, variant, box) != reading.nik
                ):
                    reading = _without_nik(reading, Dropped.READS_DISAGREE)
                readings.append(reading)
                if reading.nik is not None:
                    break  # confirmed: no second page read is needed
            if self._second is not None and all(r.nik is None for r in readings):
                readings.append(self._second_read(engines.row, found.image, gray, today))
        seconds = time.perf_counter() - started
        if not readings:
            log.info("KTP photo: reading ran out of time after %.1f s", seconds)
            problem = problem_of(found, self._quality, ktp_text=False)
            return PhotoReading(None, problem=problem, seconds=seconds)
        reading = _merged(readings)
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
            engines = self._engines.get_nowait()
            engines.page.End()
            engines.row.End()


#: The fields a confirmed NIK vouches for.
_NIK_CONFIRMS = ("nik", "birth_date", "sex")


def _without_nik(reading: KtpReading, why: str) -> KtpReading:
    dropped = {**reading.dropped, "nik": why}
    dropped.update({name: Dropped.NO_VALID_NIK for name in _NIK_CONFIRMS[1:]})
    return replace(reading, nik=None, birth_date=None, sex=None, dropped=dropped)


def _merged(readings: list[KtpReading]) -> KtpReading:
    """The read with a confirmed NIK (else the first), its missing fields filled from the
    other read."""
    best = next((reading for reading in readings if reading.nik is not None), readings[0])
    for other in readings:
        for name in ("full_name", "birth_place", "address", "rt_rw", "village", "district"):
            if getattr(best, name) is None and getattr(other, name) is not None:
                best = replace(best, **{name: getattr(other, name)})
    return best


def _digits_box(engine: tesserocr.PyTessBaseAPI, nik: str) -> Box | None:
    """The box around the printed digits that read as ``nik``, a colon or crumb beside them
    left out: the symbols in reading order, a run of digit-like ones."""
    level = tesserocr.RIL.SYMBOL
    run: list[tuple[str, Box]] = []
    for symbol in tesserocr.iterate_level(engine.GetIterator(), level):
        try:
            text = symbol.GetUTF8Text(level)
        except RuntimeError:  # a symbol without text
            continue
        digit = text.translate(DIGIT_LOOKALIKES)
        if len(digit) == 1 and digit.isdigit():
            run.append((digit, symbol.BoundingBox(level)))
            if len(run) > len(nik):
                run.pop(0)
            if "".join(d for d, _ in run) == nik:
                boxes = [box for _, box in run]
                return (
                    min(b[0] for b in boxes),
                    min(b[1] for b in boxes),
                    max(b[2] for b in boxes),
                    max(b[3] for b in boxes),
                )
        else:
            run = []
    return None


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
