"""Only the confirmed points of the tariff are asserted (../shared/domain.md section 2)."""

import pytest

from bot.domain.tariff import load_tariff, monthly_contribution


@pytest.mark.parametrize("income", [0, 500_000, 999_999, 1_000_000])
def test_lowest_bracket_packages(income: int) -> None:
    assert monthly_contribution(income, with_jht=False).total == 16_800
    assert monthly_contribution(income, with_jht=True).total == 36_800


def test_parts_at_the_lowest_bracket() -> None:
    contribution = monthly_contribution(1_000_000, with_jht=True)
    assert (contribution.jkk, contribution.jkm, contribution.jht) == (10_000, 6_800, 20_000)


@pytest.mark.parametrize("income", [1_000_001, 3_000_000, 20_000_000, 50_000_000, 10**10])
def test_jkk_grows_with_income_but_never_above_207000(income: int) -> None:
    contribution = monthly_contribution(income, with_jht=False)
    assert 10_000 < contribution.jkk <= 207_000
    assert contribution.jkm == 6_800


def test_highest_jkk_is_reached() -> None:
    assert monthly_contribution(10**9, with_jht=False).jkk == 207_000


def test_contribution_never_decreases_with_income() -> None:
    totals = [monthly_contribution(i, with_jht=True).total for i in range(0, 25_000_001, 50_000)]
    assert totals == sorted(totals)


def test_negative_income_is_refused() -> None:
    with pytest.raises(ValueError):
        monthly_contribution(-1, with_jht=False)


def test_tariff_names_its_source() -> None:
    tariff = load_tariff()
    assert "PP 44/2015" in tariff.regulation
    assert tariff.effective_date
