"""Benefit and payment facts residents are told, as constants the answers are checked against
(tests/unit/test_knowledge.py). Source: ../shared/domain.md sections 2-4, each marked there."""

from __future__ import annotations

from bot.domain.payments import load_calendar
from bot.domain.tariff import load_tariff, monthly_contribution

# JKM, death not caused by work (PP 82/2019) - confirmed
JKM_TOTAL = 42_000_000
JKM_LUMP_SUM = 20_000_000
JKM_PERIODIC = 12_000_000
JKM_FUNERAL = 10_000_000

# JKK, work accidents - confirmed
JKK_DEATH_INCOME_MULTIPLE = 48
JKK_REPORT_WITHIN_HOURS = 2 * 24

# Scholarship - confirmed (the contribution-years condition for a JKM death is weak)
SCHOLARSHIP_MAX_CHILDREN = 2
SCHOLARSHIP_MAX_TOTAL = 174_000_000
SCHOLARSHIP_PER_YEAR = {
    "tk_sd": 1_500_000,
    "smp": 2_000_000,
    "sma": 3_000_000,
    "kuliah": 12_000_000,
}
SCHOLARSHIP_YEARS = {"tk_sd": 8, "smp": 3, "sma": 3, "kuliah": 5}
SCHOLARSHIP_MIN_CONTRIBUTION_YEARS_WEAK = 3

# JHT - 2% confirmed; payout age weak
JHT_PERCENT = 2
JHT_PAYOUT_AGE_WEAK = 56

# Paying - confirmed
NON_ACTIVE_AFTER_UNPAID_MONTHS = 3
ADVANCE_PAYMENT_MONTHS = (1, 3, 6, 12)


def key_figures() -> dict[str, int]:
    """Every number an answer may state, by name."""
    tariff = load_tariff()
    return {
        "JKM_TOTAL": JKM_TOTAL,
        "JKM_LUMP_SUM": JKM_LUMP_SUM,
        "JKM_PERIODIC": JKM_PERIODIC,
        "JKM_FUNERAL": JKM_FUNERAL,
        "JKK_DEATH_INCOME_MULTIPLE": JKK_DEATH_INCOME_MULTIPLE,
        "JKK_REPORT_WITHIN_HOURS_HALF": JKK_REPORT_WITHIN_HOURS // 2,
        "SCHOLARSHIP_MAX_CHILDREN": SCHOLARSHIP_MAX_CHILDREN,
        "SCHOLARSHIP_MAX_TOTAL": SCHOLARSHIP_MAX_TOTAL,
        **{f"SCHOLARSHIP_{k.upper()}": v for k, v in SCHOLARSHIP_PER_YEAR.items()},
        **{f"SCHOLARSHIP_YEARS_{k.upper()}": v for k, v in SCHOLARSHIP_YEARS.items()},
        "SCHOLARSHIP_MIN_CONTRIBUTION_YEARS_WEAK": SCHOLARSHIP_MIN_CONTRIBUTION_YEARS_WEAK,
        "JHT_PERCENT": JHT_PERCENT,
        "JHT_PAYOUT_AGE_WEAK": JHT_PAYOUT_AGE_WEAK,
        "JKK_PERCENT": round(tariff.jkk_percent),
        "JKM_FLAT": tariff.jkm_flat,
        "LOWEST_INCOME_BRACKET": tariff.lowest_nominal,
        "PACKAGE_JKK_JKM_LOWEST": monthly_contribution(tariff.lowest_nominal, False).total,
        "PACKAGE_WITH_JHT_LOWEST": monthly_contribution(tariff.lowest_nominal, True).total,
        "DUE_DAY": load_calendar().due_day,
        "NIK_DIGITS": 16,
        "NON_ACTIVE_AFTER_UNPAID_MONTHS": NON_ACTIVE_AFTER_UNPAID_MONTHS,
        **{f"ADVANCE_{m}_MONTHS": m for m in ADVANCE_PAYMENT_MONTHS},
    }
