"""Reading a place against the register (bot/understanding/places.py), on a small register
built here, and the loader on the real one."""

from __future__ import annotations

import pytest

from bot.domain.places import PlaceRegister, nik_district_code, place_key, regency_label
from bot.understanding.places import labelled_place, place_words, read_place

AREAS = {
    "35": "Jawa Timur",
    "35.23": "Kabupaten Tuban",
    "35.23.15": "Semanding",
    "35.23.16": "Tuban",
    "35.23.18": "Palang",
    "35.78": "Kota Surabaya",
    "35.78.01": "Karang Pilang",
    "32": "Jawa Barat",
    "32.05": "Kabupaten Garut",
    "32.05.01": "Cisewu",
}
VILLAGES = {
    "35.23.15.2004": "Tegalagung",
    "35.23.15.2005": "Penambangan",
    "35.23.16.1006": "Latsari",
    "35.23.16.2001": "Sumurgung",
    "35.23.18.2001": "Sumurgung",
    "35.23.18.2002": "Latsari",
    "35.23.18.2003": "Leran Wetan",
    "35.78.01.1001": "Kebraon",
    "32.05.01.2001": "Sukamaju",
    "32.05.01.2002": "Glagah (Glagga)",
}
REGISTER = PlaceRegister(AREAS, VILLAGES, source="test")
TUBAN_NIK = "3523155207850002"  # issued in Kec. Semanding


def label(text: str, nik: str | None = TUBAN_NIK) -> str | None:
    near = nik_district_code(nik) if nik else None
    found = read_place(text, REGISTER, near).place
    return found.label if found else None


def test_names_are_compared_without_case_spaces_punctuation_or_old_spelling() -> None:
    assert place_key("Desa  Sumur-Gung") == "desasumurgung"
    assert place_key("sumur gung") == place_key("Soemoergoeng") == "sumurgung"
    assert regency_label("Kabupaten Tuban") == "Tuban"
    assert regency_label("Kota Surabaya") == "Kota Surabaya"
    # Regencies whose names begin with "Kota…" are not cities.
    assert regency_label("Kotawaringin Barat") == "Kotawaringin Barat"
    assert regency_label("Kabupaten Kotabaru") == "Kotabaru"
    assert nik_district_code(TUBAN_NIK) == "35.23.15"


@pytest.mark.parametrize(
    ("text", "village", "district", "regency"),
    [
        ("ds. sumurgung", "sumurgung", "", ""),
        ("desa tegalagung kecamatan semanding", "tegalagung", "semanding", ""),
        ("kec palang, desanya leran wetan", "leran wetan", "palang", ""),
        ("Sumurgung, Palang, Tuban", "sumurgung", "palang", "tuban"),
        ("saya tinggal di desa Latsari kab Tuban", "latsari", "", "tuban"),
        ("dsn krajan rt 02 rw 03 ds sumurgung", "sumurgung", "", ""),
    ],
)
def test_a_message_is_split_into_village_kecamatan_and_regency(
    text: str, village: str, district: str, regency: str
) -> None:
    words = place_words(text)
    assert (words.village, words.district, words.regency) == (village, district, regency)


def test_a_clear_match_settles_on_one_place() -> None:
    assert label("desa tegalagung kecamatan semanding") == "Tegalagung, Kec. Semanding, Kab. Tuban"
    assert label("Tegalagung") == "Tegalagung, Kec. Semanding, Kab. Tuban"
    assert label("kec palang, desanya leran wetan") == "Leran Wetan, Kec. Palang, Kab. Tuban"
    assert label("penambangan semanding") == "Penambangan, Kec. Semanding, Kab. Tuban"
    assert label("desa glagga") == "Glagah (Glagga), Kec. Cisewu, Kab. Garut"


def test_a_typo_near_the_nik_settles_far_from_it_is_only_offered() -> None:
    assert label("Tegalagng") == "Tegalagung, Kec. Semanding, Kab. Tuban"
    far = read_place("desa Kebraonn", REGISTER, "35.23.15")
    assert far.place is None
    assert [p.name for p in far.choices] == ["Kebraon"]
    # A bare word is close to some village somewhere ("benar", "Bendar"): not looked for
    # beyond the NIK's regency unless it is marked as a village or names its area.
    assert not read_place("Kebraonn", REGISTER, "35.23.15").names_a_place


def test_two_villages_of_one_name_nearby_take_the_nearest_unless_the_message_decides() -> None:
    # Both in the NIK's regency: the nearer kecamatan by Kemendagri number (Tuban, 16, to
    # the NIK's Semanding, 15) is taken and the other offered beside it.
    reading = read_place("ds sumurgung", REGISTER, "35.23.15")
    assert reading.place is not None and reading.place.district == "Tuban"
    assert [p.district for p in reading.choices] == ["Palang"]
    assert label("sumurgung kec palang") == "Sumurgung, Kec. Palang, Kab. Tuban"
    assert label("sumurgung", nik="3523185207850002") == "Sumurgung, Kec. Palang, Kab. Tuban"
    # The marker tells a kelurahan from a desa of the same name.
    assert label("kel. latsari") == "Latsari, Kec. Tuban, Kab. Tuban"
    assert label("desa latsari") == "Latsari, Kec. Palang, Kab. Tuban"


def test_a_bare_word_that_is_a_village_far_away_is_offered_not_taken() -> None:
    reading = read_place("sukamaju", REGISTER, "35.23.15")
    assert reading.place is None and [p.name for p in reading.choices] == ["Sukamaju"]
    # Marked as a village, or with its kecamatan, it is taken: the resident moved.
    assert label("desa sukamaju") == "Sukamaju, Kec. Cisewu, Kab. Garut"


@pytest.mark.parametrize(
    "text", ["tidak", "belum dulu", "ga usah jht deh", "dua jutaan", "desa saya rahasia", ""]
)
def test_text_naming_no_place_is_no_place(text: str) -> None:
    reading = read_place(text, REGISTER, "35.23.15")
    assert not reading.names_a_place


def test_a_kecamatan_alone_is_recognised_as_one() -> None:
    reading = read_place("kec. semanding", REGISTER, "35.23.15")
    assert reading.place is None and reading.district is not None
    assert reading.district.name == "Semanding"


def test_the_place_part_of_a_message_with_several_fields() -> None:
    text = "nama saya Budi, desa Tegalagung kec. Semanding, kerja petani"
    assert label(labelled_place(text) or "") == "Tegalagung, Kec. Semanding, Kab. Tuban"
    assert labelled_place("nik 3523155207850002 ds sumurgung kec palang pekerjaan dagang") == (
        "ds sumurgung kec palang"
    )
    assert labelled_place("saya petani, umur 40") is None


def test_the_real_register_is_loaded_from_the_installed_package() -> None:
    from bot.infra.region_register import place_register

    register = place_register()
    assert len(register) > 80_000
    assert "Kepmendagri" in register.source
    found = read_place("ds. tegalagung kec semanding", register, "35.23.03").place
    assert found is not None and found.code == "35.23.15.2004"


def test_a_village_sadar_serves_ranks_after_the_nik_regency_and_before_the_rest() -> None:
    garut_nik_area = "32.05.01"
    served = frozenset({"35.23.18.2001"})  # Sumurgung, Kec. Palang
    found = read_place("sumurgung", REGISTER, garut_nik_area, deployed=served).place
    assert found is not None and found.code == "35.23.18.2001"
    # A resident whose NIK names Kec. Tuban still gets Tuban's Sumurgung.
    found = read_place("sumurgung", REGISTER, "35.23.16", deployed=served).place
    assert found is not None and found.code == "35.23.16.2001"
