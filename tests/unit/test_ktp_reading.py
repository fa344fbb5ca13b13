"""Fields of a KTP from OCR lines (bot/domain/ktp.py): found by their labels despite OCR's
slips, cleaned, and each checked before it may fill the form. A NIK that disagrees with
the printed region, birth date or sex is never kept, nor the birth date and sex then."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.ktp import Dropped, printed_fields, read_ktp
from bot.domain.nik import Sex

TODAY = date(2026, 12, 1)
AREAS = {
    "35": "Jawa Timur",
    "35.23": "Kabupaten Tuban",
    "35.73": "Kota Malang",
    "35.07": "Kabupaten Malang",
    "31": "Daerah Khusus Ibukota Jakarta",
    "31.71": "Kota Administrasi Jakarta Pusat",
    "53": "Nusa Tenggara Timur",
}

CARD = [
    "PROVINSI JAWA TIMUR",
    "KABUPATEN TUBAN",
    "NIK : 3523165708800003",
    "Nama : SITI AMINAH",
    "Tempat/Tgl Lahir : TUBAN, 17-08-1980",
    "Jenis Kelamin : PEREMPUAN Gol. Darah : O",
    "Alamat : DUSUN KRAJAN",
    "RT/RW : 003/005",
    "Kel/Desa : KARANGLO",
    "Kecamatan : KEREK",
    "Agama : ISLAM",
    "Status Perkawinan : KAWIN",
    "Pekerjaan : PETANI/PEKEBUN",
    "Kewarganegaraan : WNI",
    "Berlaku Hingga : SEUMUR HIDUP",
]


def read(lines: list[str]):  # type: ignore[no-untyped-def]
    return read_ktp(lines, TODAY, AREAS.get)


def test_a_clean_card_gives_every_field() -> None:
    reading = read(CARD)
    assert reading.nik == "3523165708800003"
    assert reading.full_name == "SITI AMINAH"
    assert (reading.birth_place, reading.birth_date) == ("TUBAN", date(1980, 8, 17))
    assert reading.sex is Sex.FEMALE
    assert (reading.address, reading.rt_rw) == ("DUSUN KRAJAN", "003/005")
    assert (reading.village, reading.district) == ("KARANGLO", "KEREK")
    assert (reading.province, reading.regency) == ("JAWA TIMUR", "KABUPATEN TUBAN")
    assert reading.dropped == {} and reading.looks_like_a_ktp


def test_ocr_slips_in_labels_colons_and_digits_are_read_through() -> None:
    slipped = [
        "PROVlNSI JAWA TIMUR",
        "KABUPATEN TUBAN",
        "NlK ; 35231657O88OOOO3",  # O for 0, ; for :
        "Nama SITI AMINAH",  # colon lost
        "TempatTgl Lahlr : TUBAN, 17-O8-198O",
        "Jenis Kelamln : PEREMPUAN Gol. Darah : O",
        "Alamat : DUSUN KRAJAN",
        "RT/RW : OO3/0O5",
        "KelDesa : KARANGLO",
        "Kecamatan : KEREK",
    ]
    reading = read(slipped)
    assert reading.nik == "3523165708800003"
    assert reading.full_name == "SITI AMINAH"
    assert reading.birth_date == date(1980, 8, 17) and reading.sex is Sex.FEMALE
    assert reading.rt_rw == "003/005" and reading.village == "KARANGLO"


@pytest.mark.parametrize(
    ("changed", "why"),
    [
        # One digit of the region misread: another regency than the printed one.
        (("NIK : 3523165708800003", "NIK : 3573165708800003"), Dropped.REGION_MISMATCH),
        # The birth date encoded differs from the printed one (a misread 7 for 1).
        (("NIK : 3523165708800003", "NIK : 3523165708700003"), Dropped.BIRTH_MISMATCH),
        # A man's day (no +40) on a woman's card.
        (("NIK : 3523165708800003", "NIK : 3523161708800003"), Dropped.BIRTH_MISMATCH),
        # Fifteen digits.
        (("NIK : 3523165708800003", "NIK : 352316570880003"), Dropped.NIK_STRUCTURE),
        # The header unread: the region cannot be checked.
        (("KABUPATEN TUBAN", ""), Dropped.REGION_UNREAD),
        # The birth line unread: the date cannot be checked.
        (("Tempat/Tgl Lahir : TUBAN, 17-08-1980", ""), Dropped.BIRTH_UNREAD),
    ],
)
def test_a_nik_that_fails_a_check_is_never_kept(changed: tuple[str, str], why: str) -> None:
    old, new = changed
    reading = read([new if line == old else line for line in CARD])
    assert reading.nik is None and reading.dropped["nik"] == why
    # What only the NIK could confirm goes with it; the rest is still offered.
    assert reading.birth_date is None and reading.sex is None
    assert reading.full_name == "SITI AMINAH"


def test_a_city_is_never_taken_for_its_namesake_regency() -> None:
    nik = "3573011708800001"  # Kota Malang
    lines = ["PROVINSI JAWA TIMUR", "KABUPATEN MALANG", f"NIK : {nik}",
             "Tempat/Tgl Lahir : MALANG, 17-08-1980", "Jenis Kelamin : LAKI-LAKI"]  # fmt: skip
    assert read(lines).dropped["nik"] == Dropped.REGION_MISMATCH
    lines[1] = "KOTA MALANG"
    assert read(lines).nik == nik


def test_long_official_names_printed_short_still_match() -> None:
    lines = ["PROVINSI DKI JAKARTA", "KOTA JAKARTA PUSAT", "NIK : 3171011708800001",
             "Tempat/Tgl Lahir : JAKARTA, 17-08-1980", "Jenis Kelamin : LAKI-LAKI"]  # fmt: skip
    assert read(lines).nik == "3171011708800001"
    lines[0] = "PROVINSI NUSA TENGGARA TIMUR"  # shares "Timur"-like endings: no match
    assert read(lines).dropped["nik"] == Dropped.REGION_MISMATCH


def test_names_with_noise_are_cleaned_and_nonsense_is_dropped() -> None:
    lines = [*CARD]
    lines[3] = "Nama : SITI AMINAH ~|"
    assert read(lines).full_name == "SITI AMINAH"
    lines[3] = "Nama : 3$#@ 1 7"
    reading = read(lines)
    assert reading.full_name is None and reading.dropped["full_name"] == Dropped.MALFORMED


def test_a_photo_of_something_else_is_not_a_ktp() -> None:
    reading = read(["SELAMAT DATANG", "HARGA Rp 15.000", "TERIMA KASIH"])
    assert not reading.looks_like_a_ktp and reading.nik is None
    assert reading.dropped["nik"] == Dropped.UNREAD


def test_labels_are_found_only_when_close_enough() -> None:
    fields = printed_fields(["Namaku : BUDI", "Agama : ISLAM", "Alamat JL. MELATI 3"])
    assert "full_name" not in fields.values  # "Namaku" is not the label "Nama"
    assert fields.values["religion"] == "ISLAM" and fields.values["address"] == "JL. MELATI 3"


def test_full_width_colons_and_headers_without_their_space_are_read() -> None:
    """What another engine returns: "NIK ：3523…", "PROVINSIJAWA TIMUR"."""
    lines = ["PROVINSIJAWA TIMUR", "KABUPATENTUBAN", *CARD[2:]]
    lines[2] = "NIK ：3523165708800003"
    reading = read(lines)
    assert reading.nik == "3523165708800003"
    assert (reading.province, reading.regency) == ("JAWA TIMUR", "KABUPATEN TUBAN")
