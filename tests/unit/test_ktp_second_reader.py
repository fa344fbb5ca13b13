"""The second reader's pieces of text made into printed lines, and the NIK's digits found
in a piece that also holds its label (bot/services/ktp_photo/second_reader.py)."""

from __future__ import annotations

from bot.services.ktp_photo.second_reader import TextPiece, as_lines, digits_box


def test_pieces_become_lines_by_their_middle_then_left_to_right() -> None:
    pieces = [
        TextPiece("TIMUR", (300, 12, 380, 40)),
        TextPiece("PROVINSI JAWA", (100, 10, 290, 38)),
        TextPiece(": SITI AMINAH", (260, 92, 500, 118)),
        TextPiece("Nama", (20, 90, 90, 116)),
    ]
    assert as_lines(pieces) == ["PROVINSI JAWA TIMUR", "Nama : SITI AMINAH"]
    assert as_lines([]) == []


def test_the_nik_box_leaves_its_label_out() -> None:
    piece = TextPiece("NIK ：3523165708800003", (100, 50, 520, 80))  # 21 characters
    box = digits_box([piece], "3523165708800003")
    assert box is not None
    left, top, right, bottom = box
    assert (top, bottom) == (50, 80)
    assert 180 <= left <= 210 and right == 520  # the label's 5 characters cut off
    assert digits_box([piece], "3523165708800004") is None
