"""A second reader for poor photos (issue 30): RapidOCR, the PP-OCR detection and
recognition models in ONNX, shipped inside its wheel (nothing is fetched at run time). It
keeps NIKs on low-resolution, tilted, glared photos that tesseract loses, at about 0.4 GB
more memory: off by default, installed from requirements/ocr-second-reader.txt.

Only its lines are used; the NIK it finds is still checked by bot.domain.ktp and confirmed
by tesseract's English model reading the same digits (reader.py), so no single engine's
misread is ever kept."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import Any

from bot.services.ktp_photo.card import Box, Pixels


@dataclass(frozen=True)
class TextPiece:
    text: str
    box: Box


class RapidOcrReader:
    """Thread-safe (onnxruntime sessions are); made once per process."""

    def __init__(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as missing:
            raise RuntimeError(
                "the second KTP reader is not installed: .venv/bin/pip install -r "
                "requirements/ocr-second-reader.txt"
            ) from missing
        self._engine: Any = RapidOCR()

    def pieces(self, image: Pixels) -> list[TextPiece]:
        result, _ = self._engine(image)
        pieces = []
        for polygon, text, _confidence in result or []:
            xs = [int(point[0]) for point in polygon]
            ys = [int(point[1]) for point in polygon]
            pieces.append(TextPiece(str(text), (min(xs), min(ys), max(xs), max(ys))))
        return pieces


def as_lines(pieces: list[TextPiece]) -> list[str]:
    """The pieces joined into printed lines: by their vertical middle (within half a line's
    height), then left to right."""
    if not pieces:
        return []
    height = statistics.median(p.box[3] - p.box[1] for p in pieces) or 1
    rows: list[list[TextPiece]] = []
    for piece in sorted(pieces, key=lambda p: (p.box[1] + p.box[3]) / 2):
        middle = (piece.box[1] + piece.box[3]) / 2
        if rows and abs(middle - (rows[-1][0].box[1] + rows[-1][0].box[3]) / 2) <= height / 2:
            rows[-1].append(piece)
        else:
            rows.append([piece])
    return [" ".join(p.text for p in sorted(row, key=lambda p: p.box[0])) for row in rows]


def digits_box(pieces: list[TextPiece], nik: str) -> Box | None:
    """Where the NIK's digits are printed: the piece holding them, narrowed to the digits
    by their place in its text (a label before them, "NIK :", is cut off)."""
    for piece in pieces:
        found = re.search(r"\d[\d\s]{14,}\d", piece.text)
        if not found or re.sub(r"\D", "", found.group()) != nik:
            continue
        left, top, right, bottom = piece.box
        share = (right - left) / max(1, len(piece.text))
        start = left + max(0, found.start() - 0.5) * share
        end = left + min(len(piece.text), found.end() + 0.5) * share
        return round(start), top, round(end), bottom
    return None
