"""A photo as it arrives, checked before anything decodes it: its size, its real type (from
its first bytes, whatever the name or the platform says) and its pixel count (read from the
header, so a decompression bomb is refused before it is expanded). Decoded in memory only."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from bot.domain.ktp import PhotoRefused


class RefusedPhoto(ValueError):
    def __init__(self, why: PhotoRefused, detail: str) -> None:
        super().__init__(detail)
        self.why = why


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 8 * 1024 * 1024
    #: 40 megapixels: more than any phone camera; a bomb claims far more.
    max_pixels: int = 40_000_000


def sniff(data: bytes) -> str | None:
    """ "jpeg", "png" or "webp" from the magic bytes; None for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def decode_photo(data: bytes, limits: PhotoLimits) -> NDArray[np.uint8]:
    """The photo as an RGB array. Raises RefusedPhoto (why, and a detail for the log)."""
    if len(data) > limits.max_bytes:
        raise RefusedPhoto(PhotoRefused.TOO_LARGE, f"{len(data)} bytes > {limits.max_bytes}")
    kind = sniff(data)
    if kind is None:
        raise RefusedPhoto(PhotoRefused.NOT_AN_IMAGE, "not JPEG, PNG or WebP by its bytes")
    try:
        with Image.open(io.BytesIO(data), formats=[kind.upper()]) as image:
            width, height = image.size  # from the header: nothing decoded yet
            if width * height > limits.max_pixels:
                raise RefusedPhoto(
                    PhotoRefused.TOO_MANY_PIXELS, f"{width}x{height} > {limits.max_pixels} pixels"
                )
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except RefusedPhoto:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise RefusedPhoto(PhotoRefused.NOT_AN_IMAGE, f"undecodable {kind}: {error}") from error
    return rgb
