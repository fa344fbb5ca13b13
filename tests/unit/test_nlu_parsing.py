"""The deterministic parsers behind SadarEntityExtractor (nlu/parsing)."""

from datetime import date

import pytest

from nlu.parsing.dates import find_dates, full_year
from nlu.parsing.extract import extract_entities
from nlu.parsing.identifiers import code_word, find_niks, find_phones, normalise_phone
from nlu.parsing.lookups import find_occupations, find_villages, occupations
from nlu.parsing.money import find_money
from nlu.parsing.normalise import normalise_text, normalise_word
from nlu.parsing.numbers import words_to_number

TODAY = date(2026, 11, 21)


def values(found: list) -> list:
    return [f.value for f in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3571021708800001", "3571021708800001"),
        ("NIK saya 3571 0217 0880 0001", "3571021708800001"),
        ("nik: 3571.0217.0880.0001", "3571021708800001"),
        ("3571-0217-0880-0001 ya", "3571021708800001"),
    ],
)
def test_nik_with_any_separator(text: str, expected: str) -> None:
    assert values(find_niks(text)) == [expected]


@pytest.mark.parametrize("text", ["357102170880000", "35710217088000012", "nik 1234 5678"])
def test_not_a_nik(text: str) -> None:
    assert find_niks(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("hp 081234567890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("wa 6285712345678", "+6285712345678"),
        ("0857 1122 334", "+628571122334"),
    ],
)
def test_phone_numbers_become_e164(text: str, expected: str) -> None:
    assert values(find_phones(text)) == [expected]


def test_phone_rejects_landlines_and_short_numbers() -> None:
    assert normalise_phone("0215551234") is None
    assert find_phones("no 0812 34") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,5 juta", 1_500_000),
        ("1.500.000", 1_500_000),
        ("1.5jt", 1_500_000),
        ("1,5 jt", 1_500_000),
        ("sejuta", 1_000_000),
        ("dua juta", 2_000_000),
        ("500rb", 500_000),
        ("Rp 2 jt", 2_000_000),
        ("Rp. 750.000", 750_000),
        ("rp2jt", 2_000_000),
        ("dua setengah juta", 2_500_000),
        ("sejuta setengah", 1_500_000),
        ("2 juta setengah", 2_500_000),
        ("lima ratus ribu", 500_000),
        ("seratus lima puluh ribu", 150_000),
        ("800 ewu", 800_000),
        ("limang atus ewu", 500_000),
        ("2 juta 500 ribu", 2_500_000),
        ("gaji saya 2000000 sebulan", 2_000_000),
        ("2jt-an", 2_000_000),
        ("500k", 500_000),
    ],
)
def test_money_in_every_common_form(text: str, expected: int) -> None:
    assert values(find_money(text)) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "dapat berapa juta",
        "umur 45 tahun",
        "kira2 saja",
        "no 3 dan 4",
        "17-08-1980",
        "0812 3456 7890",
    ],
)
def test_not_money(text: str) -> None:
    assert find_money(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17-08-1980", "1980-08-17"),
        ("17/8/80", "1980-08-17"),
        ("17 agustus 1980", "1980-08-17"),
        ("17 agt 80", "1980-08-17"),
        ("tgl 17 bln 8 thn 1980", "1980-08-17"),
        ("tanggal 5 bulan juni tahun 75", "1975-06-05"),
        ("17.08.1980", "1980-08-17"),
        ("lahir 1 Jan 2001", "2001-01-01"),
        ("3/4/05", "2005-04-03"),
        ("17 agustus '80", "1980-08-17"),
    ],
)
def test_dates_become_iso(text: str, expected: str) -> None:
    assert values(find_dates(text, TODAY)) == [expected]


@pytest.mark.parametrize("text", ["31-02-1990", "jam 10.30", "0812-3456-7890", "32 januari 1980"])
def test_impossible_or_non_dates(text: str) -> None:
    assert find_dates(text, TODAY) == []


def test_two_digit_years_are_never_in_the_future() -> None:
    assert full_year("26", TODAY) == 2026
    assert full_year("27", TODAY) == 1927
    assert full_year("80", TODAY) == 1980


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("saya petani", "petani"),
        ("kerja di sawah", "petani"),
        ("ngojek online", "ojek"),
        ("saya melaut", "nelayan"),
        ("bakul di pasar", "pedagang"),
        ("kepala dusun", "perangkat_desa"),
        ("guru ngaji", "guru_ngaji"),
    ],
)
def test_occupation_synonyms_map_to_canonical_codes(text: str, code: str) -> None:
    assert values(find_occupations(text)) == [code]


def test_occupation_codes_are_unique_and_synonyms_not_shared() -> None:
    codes = [o.code for o in occupations()]
    assert len(codes) == len(set(codes))
    synonyms = [s for o in occupations() for s in o.synonyms]
    assert len(synonyms) == len(set(synonyms))


def test_villages_from_the_lookup_file() -> None:
    assert values(find_villages("saya dari desa KARANGLO kec kerek")) == ["Karanglo"]
    assert values(find_villages("alamat ekang anculai")) == ["Ekang Anculai"]
    assert find_villages("tanjungan") == []


def test_number_words() -> None:
    assert words_to_number(["dua", "puluh", "tiga"]) == 23
    assert words_to_number(["tiga", "juta", "lima", "ratus", "ribu"]) == 3_500_000
    assert words_to_number(["se"]) is None
    assert words_to_number(["dua", "kucing"]) is None


def test_a_message_with_many_fields() -> None:
    text = "nama Budi, NIK 3571021708800001, lahir 17-8-1980, nelayan, 2 juta, hp 0812-3456-7890"
    found = {(f.entity, f.value) for f in extract_entities(text, TODAY)}
    assert found == {
        ("nik", "3571021708800001"),
        ("date", "1980-08-17"),
        ("occupation", "nelayan"),
        ("money", 2_000_000),
        ("phone", "+6281234567890"),
    }


def test_spans_point_at_the_original_text() -> None:
    text = "Gaji Saya Rp 2 JT"
    (money,) = extract_entities(text, TODAY)
    assert text[money.start : money.end] == "Rp 2 JT"


def test_slang_normalisation() -> None:
    assert normalise_word("brp") == "berapa"
    assert normalise_word("Piye") == "bagaimana"
    assert normalise_word("iyaaaa") == "iya"
    assert normalise_text("sy pengen daptar") == "saya ingin daftar"


def test_villages_of_a_nik_regency() -> None:
    from nlu.parsing.lookups import villages_in_regency

    assert [v.name for v in villages_in_regency("3504")] == ["Bendosari", "Tanjung"]
    assert villages_in_regency("9999") == []


@pytest.mark.parametrize(
    ("token", "word"),
    [
        ("SDR-T643-GSBN", "kodewarga"),
        ("sdr-7k3m-9qxa,", "kodewarga"),
        ("KWT-Z4D7-3XRY", "kodekuitansi"),
        ("JMP-AB12-CD34.", "kodekuitansi"),
        ("T-1042", "kodetiket"),
        ("SDR-T643", None),  # not a whole reference
        ("bayar", None),
        ("T-shirt", None),
    ],
)
def test_codes_sadar_hands_out_are_one_word_for_the_classifier(
    token: str, word: str | None
) -> None:
    """The random letters of a reference must not sway the intent (issue 28's flaky
    "bayar SDR-… 12 bulan"): the classifier sees the code's kind, never its letters."""
    assert code_word(token) == word
