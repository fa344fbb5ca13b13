"""The made-up KTP photos are a fair test: valid NIKs of real places, and the same photos
every time a seed is reused."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from bot.domain.nik import Sex, parse_nik
from bot.infra.region_register import place_register
from tests.support.ktp_cards import (
    CARD_SIZE,
    SPOILED_KINDS,
    CardPerson,
    card_set,
    people,
    photograph,
    regency_header,
    render_card,
    spoiled,
)

TODAY = date(2026, 12, 1)
JPEG_MAGIC = b"\xff\xd8\xff"


@pytest.fixture(scope="module")
def crowd() -> list[CardPerson]:
    return people(200, seed=7)


@pytest.fixture(scope="module")
def card() -> Image.Image:
    return render_card(people(1, seed=3)[0], seed=3)


def _size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG"
        return image.size


def test_every_nik_parses_to_the_printed_birth_date_and_sex(crowd: list[CardPerson]) -> None:
    for person in crowd:
        nik = parse_nik(person.nik, TODAY)
        assert nik.birth_date == person.birth_date, person
        assert nik.sex is (Sex.FEMALE if person.sex == "PEREMPUAN" else Sex.MALE)
        assert date(1950, 1, 1) <= person.birth_date <= date(2007, 12, 31)
    assert len({person.nik for person in crowd}) == len(crowd)
    assert {person.sex for person in crowd} == {"LAKI-LAKI", "PEREMPUAN"}


def test_women_have_forty_added_to_the_day(crowd: list[CardPerson]) -> None:
    for person in crowd:
        offset = 40 if person.sex == "PEREMPUAN" else 0
        assert int(person.nik[6:8]) == person.birth_date.day + offset
        assert person.nik[8:12] == f"{person.birth_date:%m%y}"
        assert 1 <= int(person.nik[12:]) <= 9999


def test_people_live_in_real_villages_named_as_the_register_names_them(
    crowd: list[CardPerson],
) -> None:
    register = place_register()
    codes_by_name = {(code[:8], name.upper()): code for code, name in register._villages.items()}
    for person in crowd:
        district = f"{person.nik[:2]}.{person.nik[2:4]}.{person.nik[4:6]}"
        code = codes_by_name.get((district, person.village))
        assert code is not None, person
        place = register.place(code)
        assert place is not None
        assert person.district == place.district.upper()
        assert person.regency == regency_header(place.regency)
        assert person.regency.startswith(("KABUPATEN ", "KOTA "))
        assert person.province in {place.province.upper(), "DKI JAKARTA"}


def test_printed_values_are_upper_case(crowd: list[CardPerson]) -> None:
    for person in crowd:
        for value in (person.full_name, person.birth_place, person.address, person.village):
            assert value == value.upper()
        assert 1 <= len(person.full_name.split()) <= 4  # "BR SITORUS" counts as two words
        assert len(person.rt_rw) == 7 and person.rt_rw[3] == "/"


def test_regency_header_lines() -> None:
    assert regency_header("Kabupaten Tuban") == "KABUPATEN TUBAN"
    assert regency_header("Kota Surabaya") == "KOTA SURABAYA"
    assert regency_header("Kota Administrasi Jakarta Pusat") == "KOTA JAKARTA PUSAT"


def test_people_are_reproducible_and_a_longer_list_extends_a_shorter_one() -> None:
    assert people(5, seed=11) == people(5, seed=11)
    assert people(8, seed=11)[:5] == people(5, seed=11)
    assert people(5, seed=11) != people(5, seed=12)


def test_the_card_is_an_id1_sized_rgb_image(card: Image.Image) -> None:
    assert card.mode == "RGB"
    assert card.size == CARD_SIZE
    assert abs(CARD_SIZE[0] / CARD_SIZE[1] - 85.6 / 54) < 0.01


def test_the_same_seed_gives_the_same_bytes(card: Image.Image) -> None:
    person = people(1, seed=3)[0]
    assert render_card(person, 3).tobytes() == card.tobytes()
    photo = photograph(card, 5)
    assert photograph(card, 5) == photo
    assert photograph(card, 6) != photo
    assert photograph(card, 5, hard=True) == photograph(card, 5, hard=True)


def test_normal_photos_are_large_jpegs_and_hard_ones_smaller(card: Image.Image) -> None:
    for seed in range(3):
        normal = photograph(card, seed)
        assert normal.startswith(JPEG_MAGIC)
        assert _size(normal) in {(1280, 960), (1600, 1200)}
        hard = photograph(card, seed, hard=True)
        assert hard.startswith(JPEG_MAGIC)
        assert _size(hard) == (800, 600)
        assert len(hard) < len(normal)


def test_card_sets_pair_each_person_with_a_photo() -> None:
    cards = card_set("hard", 2, seed=4)
    assert [person for person, _ in cards] == people(2, seed=4)
    assert all(photo.startswith(JPEG_MAGIC) for _, photo in cards)
    assert card_set("hard", 2, seed=4) == cards
    assert cards[0][1] != cards[1][1]
    with pytest.raises(ValueError, match="unknown card set"):
        card_set("easy", 1, seed=1)


def test_spoiled_photos_are_distinct_reproducible_jpegs() -> None:
    photos = {kind: spoiled(kind, seed=2) for kind in SPOILED_KINDS}
    for photo in photos.values():
        assert photo.startswith(JPEG_MAGIC)
        assert _size(photo) == (1280, 960)
    assert len(set(photos.values())) == len(SPOILED_KINDS)
    assert spoiled("cut_off", seed=2) == photos["cut_off"]
    assert spoiled("cut_off", seed=3) != photos["cut_off"]


def test_unknown_spoiled_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown spoiled photo"):
        spoiled("wet", seed=1)
