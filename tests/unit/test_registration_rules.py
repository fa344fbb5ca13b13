from datetime import date

import pytest

from bot.domain.nik import parse_nik
from bot.domain.registration import (
    REFERENCE_ALPHABET,
    RegistrationProblem,
    age_on,
    birth_date_matches_nik,
    check_age,
    check_income,
    clean_full_name,
    due_date,
    first_period,
    make_reference,
)

TODAY = date(2026, 11, 21)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Budi   Santoso ", "Budi Santoso"),
        ("I Ketut Darma", "I Ketut Darma"),
        ("Siti Nur'aini", "Siti Nur'aini"),
        ("A. Rahman", "A. Rahman"),
    ],
)
def test_names_are_tidied(raw: str, clean: str) -> None:
    assert clean_full_name(raw) == clean


@pytest.mark.parametrize("raw", ["", "x", "3571021708800001", "Budi 123", "😀😀"])
def test_non_names_are_refused(raw: str) -> None:
    with pytest.raises(RegistrationProblem):
        clean_full_name(raw)


def test_age_counts_whole_years() -> None:
    assert age_on(date(1980, 11, 22), TODAY) == 45
    assert age_on(date(1980, 11, 21), TODAY) == 46


def test_age_limits_are_parameters() -> None:
    assert check_age(date(1980, 8, 17), TODAY, 18, 65) == 46
    with pytest.raises(RegistrationProblem, match="under"):
        check_age(date(2010, 1, 1), TODAY, 18, 65)
    with pytest.raises(RegistrationProblem, match="over"):
        check_age(date(1950, 1, 1), TODAY, 18, 65)


def test_birth_date_must_match_the_nik() -> None:
    nik = parse_nik("3571021708800001", TODAY)
    assert birth_date_matches_nik(nik, date(1980, 8, 17))
    assert not birth_date_matches_nik(nik, date(1981, 8, 17))


def test_income_sanity() -> None:
    assert check_income(1_500_000) == 1_500_000
    with pytest.raises(RegistrationProblem):
        check_income(1_500)
    with pytest.raises(RegistrationProblem):
        check_income(5_000_000_000)


def test_reference_format() -> None:
    reference = make_reference(bytes(range(8)))
    assert reference == "SDR-0123-4567"
    random_reference = make_reference()
    assert random_reference.startswith("SDR-") and len(random_reference) == 13
    assert all(c in REFERENCE_ALPHABET for c in random_reference[4:].replace("-", ""))


@pytest.mark.parametrize(
    ("registered", "period", "due"),
    [
        (date(2026, 10, 15), date(2026, 10, 1), date(2026, 10, 15)),  # Thursday
        (date(2026, 10, 16), date(2026, 11, 1), date(2026, 11, 16)),
        # 15 November 2026 is a Sunday: due the next working day, so the 16th still counts.
        (date(2026, 11, 16), date(2026, 11, 1), date(2026, 11, 16)),
        (date(2026, 11, 17), date(2026, 12, 1), date(2026, 12, 15)),
        (date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 15)),
    ],
)
def test_first_period_and_due_date(registered: date, period: date, due: date) -> None:
    assert first_period(registered) == period
    assert due_date(period) == due


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Budi Santoso", "Budi Santoso"),
        ("nama saya Budi Santoso", "Budi Santoso"),
        ("Nama: Siti Aminah, NIK 3571021708800001", "Siti Aminah"),
        ("nami kulo Paiman", "Paiman"),
        ("saya Joko lahir 17-8-1980", "Joko"),
        ("namanya Lestari Handayani", "Lestari Handayani"),
        ("Namane: Tarmuji", "Tarmuji"),
        ("jenenge kulo Parmin", "Parmin"),
        ("asmanipun Rasmani", "Rasmani"),
        ("Asma Nadia", "Asma Nadia"),
        ("Namira Putri", "Namira Putri"),
    ],
)
def test_name_from_message(text: str, name: str) -> None:
    from bot.domain.registration import name_from_message

    assert name_from_message(text) == name
