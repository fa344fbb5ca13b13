"""Finding the card in a photo and straightening it (OpenCV), and telling what is wrong
with a photo that cannot be read: too dark, glare, blurred, the card cut off. The
thresholds are data (PhotoQuality), measured on the generated cards (docs/ktp-photo.md)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from bot.domain.ktp import PhotoProblem

#: An e-KTP is 85.6 x 54 mm (ISO/IEC 7810 ID-1); straightened to this many pixels, where
#: the printed letters are tall enough for the OCR engine.
CARD_SIZE = (1284, 810)
CARD_RATIO = 85.6 / 54

Pixels = NDArray[np.uint8]
#: left, top, right, bottom in an image's pixels.
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class PhotoQuality:
    """Limits below or above which a photo is too poor to read (on the straightened card)."""

    darkest_mean: float = 40.0
    glare_share: float = 0.06
    sharpest_blur: float = 60.0


@dataclass(frozen=True)
class FoundCard:
    image: Pixels
    #: A card-shaped outline was found (else ``image`` is the whole photo).
    outlined: bool
    #: The outline runs along the photo's edge: part of the card may be outside it.
    at_edge: bool


def _ordered(corners: NDArray[np.float32]) -> NDArray[np.float32]:
    """Top-left, top-right, bottom-right, bottom-left."""
    total = corners.sum(axis=1)
    difference = np.diff(corners, axis=1).ravel()
    return np.array(
        [
            corners[np.argmin(total)],
            corners[np.argmin(difference)],
            corners[np.argmax(total)],
            corners[np.argmax(difference)],
        ],
        dtype=np.float32,
    )


def _light_blue(rgb: Pixels) -> Pixels:
    """Where the e-KTP's light blue is: its hue, a little colour, bright (OpenCV's hue runs
    0-180; blue is about 100-120)."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    low, high = np.array([85, 12, 110], np.uint8), np.array([125, 150, 255], np.uint8)
    mask = cv2.inRange(hsv, low, high)
    closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    return np.asarray(closed, dtype=np.uint8)


def _edges(gray: Pixels) -> Pixels:
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(blurred, 30, 90)
    return np.asarray(cv2.dilate(edges, np.ones((5, 5), np.uint8), iterations=2), dtype=np.uint8)


def _outline(rgb: Pixels) -> NDArray[np.float32] | None:
    """The four corners of the largest card-shaped region, in ``rgb``'s pixels: by the
    card's colour first, by its edges when the colour does not stand out."""
    gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    by_colour = _card_shape(_light_blue(rgb))
    return by_colour if by_colour is not None else _card_shape(_edges(gray))


def _card_shape(mask: Pixels) -> NDArray[np.float32] | None:
    height, width = mask.shape
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    best: tuple[float, NDArray[np.float32]] | None = None
    for contour in contours:
        area = cv2.contourArea(contour)
        if area < 0.12 * width * height:
            continue
        rect = cv2.minAreaRect(contour)
        (_, _), (w, h), _ = rect
        if min(w, h) == 0:
            continue
        ratio = max(w, h) / min(w, h)
        if not 1.2 <= ratio <= 2.0:
            continue
        approx = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
        corners = (
            approx.reshape(4, 2).astype(np.float32)
            if len(approx) == 4
            else cv2.boxPoints(rect).astype(np.float32)
        )
        if best is None or area > best[0]:
            best = (area, corners)
    return best[1] if best else None


def find_card(rgb: Pixels) -> FoundCard:
    """The card straightened to CARD_SIZE, or the whole photo when no outline is found."""
    height, width = rgb.shape[:2]
    scale = min(1.0, 1000 / max(height, width))
    small = cv2.resize(rgb, (round(width * scale), round(height * scale))) if scale < 1 else rgb
    corners = _outline(np.asarray(small, dtype=np.uint8))
    if corners is None:
        return FoundCard(rgb, outlined=False, at_edge=False)
    corners = _ordered(corners / scale)
    top = np.linalg.norm(corners[1] - corners[0])
    side = np.linalg.norm(corners[3] - corners[0])
    if side > top:  # held upright: turn it to lie as printed
        corners = np.roll(corners, -1, axis=0)
    margin = 0.01 * max(height, width)
    at_edge = bool(
        (corners[:, 0] < margin).any()
        or (corners[:, 1] < margin).any()
        or (corners[:, 0] > width - margin).any()
        or (corners[:, 1] > height - margin).any()
    )
    target = np.array(
        [
            [0, 0],
            [CARD_SIZE[0] - 1, 0],
            [CARD_SIZE[0] - 1, CARD_SIZE[1] - 1],
            [0, CARD_SIZE[1] - 1],
        ],
        dtype=np.float32,
    )
    warp = cv2.getPerspectiveTransform(corners, target)
    card = cv2.warpPerspective(rgb, warp, CARD_SIZE, flags=cv2.INTER_CUBIC)
    return FoundCard(np.asarray(card, dtype=np.uint8), outlined=True, at_edge=at_edge)


def problem_of(found: FoundCard, quality: PhotoQuality, ktp_text: bool) -> PhotoProblem | None:
    """What most likely spoils a photo whose NIK could not be read (None: nothing to blame,
    the fields read are offered and the NIK is asked). ``ktp_text``: a KTP's labels or
    fields were read at all."""
    gray = cv2.cvtColor(found.image, cv2.COLOR_RGB2GRAY)
    if float(gray.mean()) < quality.darkest_mean:
        return PhotoProblem.TOO_DARK
    if float((gray >= 250).mean()) > quality.glare_share:
        return PhotoProblem.GLARE
    sharpness = float(cv2.Laplacian(cv2.resize(gray, CARD_SIZE), cv2.CV_64F).var())
    if not ktp_text:
        if sharpness < quality.sharpest_blur and (found.outlined or sharpness < 5):
            return PhotoProblem.BLURRED
        return PhotoProblem.NOT_A_KTP
    if not found.outlined or found.at_edge:
        return PhotoProblem.CUT_OFF  # a KTP's text, but not the whole card
    if sharpness < quality.sharpest_blur:
        return PhotoProblem.BLURRED
    return None
