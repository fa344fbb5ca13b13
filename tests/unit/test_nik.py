from datetime import date

import pytest

from bot.domain.nik import InvalidNik, NikProblem, Sex, parse_nik

TODAY = date(2026, 11, 21)


def test_a_man_born_on_17_august_1980_in_east_java() -> None:
    nik = parse_nik("3571021708800001", TODAY)
    assert nik.province.name == "Jawa Timur"
    assert nik.province.timezone == "Asia/Jakarta"
    assert (nik.regency_code, nik.district_code) == ("3571", "357102")
    assert nik.birth_date == date(1980, 8, 17)
    assert nik.sex is Sex.MALE


def test_women_have_forty_added_to_the_day() -> None:
    nik = parse_nik("3504 0152 0785 0002", TODAY)
    assert nik.birth_date == date(1985, 7, 12)
    assert nik.sex is Sex.FEMALE


def test_two_digit_year_gives_an_age_between_0_and_100() -> None:
    assert parse_nik("3571020101050001", TODAY).birth_date == date(2005, 1, 1)
    assert parse_nik("3571020101300001", TODAY).birth_date == date(1930, 1, 1)


def test_a_date_later_this_year_belongs_to_the_last_century() -> None:
    assert parse_nik("3571022512260001", TODAY).birth_date == date(1926, 12, 25)


def test_time_zone_follows_the_province() -> None:
    assert parse_nik("5171020101800001", TODAY).province.timezone == "Asia/Makassar"  # Bali
    assert parse_nik("9171020101800001", TODAY).province.timezone == "Asia/Jayapura"  # Papua


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("357102170880000", NikProblem.LENGTH),
        ("35710217088000011", NikProblem.LENGTH),
        ("3571O21708800001", NikProblem.LENGTH),
        ("2071021708800001", NikProblem.PROVINCE),
        ("3571023102800001", NikProblem.BIRTH_DATE),  # 31 February
        ("3571027508800001", NikProblem.BIRTH_DATE),  # day 75 - 40 = 35
        ("3571020013800001", NikProblem.BIRTH_DATE),  # month 13
        ("3571022902010001", NikProblem.BIRTH_DATE),  # 29 February 2001
    ],
)
def test_refused_niks_name_their_problem(raw: str, problem: NikProblem) -> None:
    with pytest.raises(InvalidNik) as error:
        parse_nik(raw, TODAY)
    assert error.value.problem is problem
