"""A photo is checked before anything decodes it (bot/services/ktp_photo/image.py): its size,
its real type from its first bytes whatever it claims, and its pixel count from the header,
so a decompression bomb is refused without being expanded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.services.ktp_photo.image import (
    PhotoLimits,
    PhotoRefused,
    RefusedPhoto,
    decode_photo,
    sniff,
)


def encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_are_decoded_in_memory(kind: str) -> None:
    data = encoded(Image.new("RGB", (64, 40), (200, 220, 240)), kind)
    assert sniff(data) == kind.lower()
    pixels = decode_photo(data, PhotoLimits())
    assert pixels.shape == (40, 64, 3)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"%PDF-1.7 not a photo", PhotoRefused.NOT_AN_IMAGE),
        (b"GIF89a" + bytes(100), PhotoRefused.NOT_AN_IMAGE),
        # A JPEG by its name and first bytes, and nothing after them.
        (b"\xff\xd8\xff\xe0" + bytes(200), PhotoRefused.NOT_AN_IMAGE),
    ],
)
def test_what_is_not_a_photo_is_refused_whatever_it_claims(data: bytes, why: PhotoRefused) -> None:
    with pytest.raises(RefusedPhoto) as refused:
        decode_photo(data, PhotoLimits())
    assert refused.value.why is why


def test_an_oversized_file_is_refused_before_it_is_looked_at() -> None:
    data = encoded(Image.new("RGB", (64, 40)), "PNG")
    with pytest.raises(RefusedPhoto) as refused:
        decode_photo(data, PhotoLimits(max_bytes=len(data) - 1))
    assert refused.value.why is PhotoRefused.TOO_LARGE


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = encoded(Image.new("1", (12_000, 5_000)), "PNG")  # 60 megapixels in a few KB
    assert len(bomb) < 100_000
    with pytest.raises(RefusedPhoto) as refused:
        decode_photo(bomb, PhotoLimits())
    assert refused.value.why is PhotoRefused.TOO_MANY_PIXELS
