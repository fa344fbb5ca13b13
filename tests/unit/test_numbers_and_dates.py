"""Issue 27, point 2, by example: every wording the issue and its brief name, read by the
parsers, the interpreter (income per period, partial date corrections) and the form's checks
(the monthly figure offered for confirmation; a partial date merged or the full one asked)."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.registration_form import Step, ValidateRegistrationForm
from bot.domain.income import IncomePerPeriod, load_factors, monthly_estimate
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.understanding.interpreter import Entity, Message, PartialDate, interpret
from nlu.parsing.dates import find_date_parts, find_dates
from nlu.parsing.extract import extract_entities
from nlu.parsing.money import PERIOD_PREFIXES, PERIOD_UNITS, find_money, period_word
from tests.support.clock import fixed_clock

TODAY = date(2026, 11, 20)
DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


@pytest.mark.parametrize(
    ("text", "amount", "period"),
    [
        ("dua jutaan", 2_000_000, "month"),
        ("lima ratusan ribu", 500_000, "month"),
        ("satu koma dua juta", 1_200_000, "month"),
        ("sekitar 1jt an", 1_000_000, "month"),
        ("kurang lebih 1,5 juta", 1_500_000, "month"),
        ("kira2 800rb", 800_000, "month"),
        ("± 2 jt", 2_000_000, "month"),
        ("sejuta", 1_000_000, "month"),
        ("setengah juta", 500_000, "month"),
        ("dua setengah juta", 2_500_000, "month"),
        ("1 juta setengah", 1_500_000, "month"),
        ("1 juta 700", 1_700_000, "month"),
        ("sejuta tujuh ratus", 1_700_000, "month"),
        ("1,2 jt", 1_200_000, "month"),
        ("800rb", 800_000, "month"),
        ("800 rebu", 800_000, "month"),
        ("1.5jt", 1_500_000, "month"),
        ("Rp1.750.000,00", 1_750_000, "month"),
        ("rong yuta", 2_000_000, "month"),
        ("limang atus ewu", 500_000, "month"),
        ("telung atus seket ewu", 350_000, "month"),
        ("sewu", None, None),  # Rp1.000 alone is no income figure (a multiplier word though)
        ("sehari 80 rb", 80_000, "day"),
        ("80rb per hari", 80_000, "day"),
        ("300 ribuan seminggu", 300_000, "week"),
        ("harian 75 ribu", 75_000, "day"),
        ("mingguan 400rb", 400_000, "week"),
        ("tiap hari dapat 100 ribu", 100_000, "day"),
        ("2 juta sebulan", 2_000_000, "month"),
        ("per bulan 2 juta", 2_000_000, "month"),
        ("setahun 24 juta", 24_000_000, "year"),
    ],
)
def test_incomes_as_people_write_them(text: str, amount: int | None, period: str | None) -> None:
    found = [(f.value, f.period) for f in find_money(text)]
    if amount is None:
        assert found in ([], [(1_000, "month")])
    else:
        assert found == [(amount, period)]


def test_two_periods_in_one_message_each_keep_their_own() -> None:
    for text in ("sehari 80rb sebulan 2jt", "80rb sehari, 2jt sebulan"):
        assert [(f.value, f.period) for f in find_money(text)] == [
            (80_000, "day"),
            (2_000_000, "month"),
        ]


# --- issue 28: regional periods and approximations -----------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "period"),
    [
        ("saminggu kinten-kinten 400 rebu", 400_000, "week"),
        ("upami sabulan mah 1,6 juta", 1_600_000, "month"),
        ("sapoe 80 rebu", 80_000, "day"),
        ("sadinten 75rb", 75_000, "day"),
        ("80rb sapoe", 80_000, "day"),
        ("unggal poe 80 rebu", 80_000, "day"),
        ("sataun 24 juta", 24_000_000, "year"),
        ("setaun kurang luwih 24 juta", 24_000_000, "year"),
        ("sewulan udakara 2 juta", 2_000_000, "month"),
        ("sasasih sakitar 1,5 juta", 1_500_000, "month"),
        ("sak wulan 2 jt", 2_000_000, "month"),
        ("sa'minggu 300rb", 300_000, "week"),
        ("sakminggu 300rb", 300_000, "week"),
        ("perminggu 400rb", 400_000, "week"),
        ("400 rebu minggon", 400_000, "week"),
        ("taunan 24 juta", 24_000_000, "year"),
        ("80rb sa dina", 80_000, "day"),  # "sa" is the period's "one", not the amount's
        ("1 juta satu bulan", 1_000_000, "month"),
        ("sabulan kirang langkung 2 juta", 2_000_000, "month"),
        ("kinten-kinten 2 juta", 2_000_000, "month"),
        ("sapoe 80000", 80_000, "day"),  # a period word is money context, like "sehari"
    ],
)
def test_regional_periods_and_approximations(text: str, amount: int, period: str) -> None:
    assert [(f.value, f.period) for f in find_money(text)] == [(amount, period)]


def test_any_prefix_fused_with_any_period_unit_names_that_period() -> None:
    for unit, period in PERIOD_UNITS.items():
        if len(unit) < 3:  # "th", "bl": abbreviations are never fused ("the", "sebl")
            continue
        for prefix in PERIOD_PREFIXES:
            assert period_word(prefix + unit) == period, prefix + unit
    for word in (
        "the",
        "seth",
        "sebl",
        "seharian",
        "sasih",
        "bulan",
        "saya",
        "sabar",
        "pertama",
        "arian",
        "sehat",
        "satu",
    ):
        assert period_word(word) is None, word


def test_an_age_or_a_year_is_not_a_period_of_the_income() -> None:
    assert [(f.value, f.period) for f in find_money("umur 40 thn penghasilan 2 jt")] == [
        (2_000_000, "month")
    ]
    assert find_money("ratusan ribu") == []  # no figure to read


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tanggal dua puluh satu april 1979", "1979-04-21"),
        ("tujuh belas agustus delapan puluh", "1980-08-17"),
        ("tujuh belas agustus sembilan belas delapan puluh", "1980-08-17"),
        ("17 agustus seribu sembilan ratus delapan puluh", "1980-08-17"),
        ("21-4-79", "1979-04-21"),
        ("17/8/80", "1980-08-17"),
        ("17.8.1980", "1980-08-17"),
        ("lahir th 79 bulan april tgl 21", "1979-04-21"),
        ("tahun 1979 tgl 21 bln 4", "1979-04-21"),
        ("21 Agt 1979", "1979-08-21"),
        ("21 ags 79", "1979-08-21"),
        ("April 21, 1979", "1979-04-21"),
        ("21 August 1979", "1979-08-21"),
        ("pitulas agustus wolung puluh", "1980-08-17"),
        ("lahir tanggal 3 bulan sembilan tahun delapan puluh dua", "1982-09-03"),
        ("5 mei 05", "2005-05-05"),
        ("25-12-26", "1926-12-25"),  # 2026-12-25 is after today: a birth date is never ahead
        ("16 10 1981", "1981-10-16"),
        ("lahir 5 3 1990", "1990-03-05"),
        ("16 10 81", "1981-10-16"),  # a two-digit year only when that is the whole message
    ],
)
def test_birth_dates_as_people_write_them(text: str, expected: str) -> None:
    assert [f.value for f in find_dates(text, TODAY)] == [expected]


@pytest.mark.parametrize(
    "text", ["RT 02 RW 03", "3523 0317 0880 0001", "gaji 2 5 juta", "ke 3 4 81 orang"]
)
def test_spaced_numbers_that_are_no_date(text: str) -> None:
    assert find_dates(text, TODAY) == []


# --- the interpreter -----------------------------------------------------------------------


def message(text: str) -> Message:
    found = [] if text.startswith("/") else extract_entities(text, TODAY)
    return Message(text, entities=tuple(Entity(f.entity, f.value, f.start, f.end) for f in found))


PROFILE = {
    "full_name": "Sutinah",
    "nik": "3523035708800001",
    "birth_date": "1980-08-17",
    "phone": "+6281234567001",
    "village": "Karanglo",
    "occupation": "petani",
}


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("sehari 80 rb", IncomePerPeriod(80_000, "day")),
        ("300 ribuan seminggu", IncomePerPeriod(300_000, "week")),
        ("kira2 dua jutaan", 2_000_000),
        ("1 juta 700", 1_700_000),
        ('/inform{"money": 2080000}', 2_080_000),  # the confirmation button
    ],
)
def test_an_income_per_day_or_week_is_never_read_as_the_months(text: str, answer: Any) -> None:
    msg = message(text)
    if text.startswith("/"):
        msg = Message(text, "inform", 1.0, (Entity("money", 2_080_000),))
    reading = interpret(msg, "declared_income", PROFILE, TODAY)
    assert reading.answer == answer


def test_an_income_per_day_given_early_is_not_kept_as_a_monthly_one() -> None:
    reading = interpret(message("saya petani, sehari 80 rb"), "occupation", PROFILE, TODAY)
    assert reading.given.get("declared_income") != 80_000


@pytest.mark.parametrize(
    ("text", "asking", "corrected"),
    [
        ("salah, tahunnya 82", "phone", "1982-08-17"),
        ("eh tahunnya 81", "occupation", "1981-08-17"),
        ("bulannya 9", "village", "1980-09-17"),
        ("tgl nya 5", "declared_income", "1980-08-05"),
        ("maaf tanggal lahir salah, harusnya 18 agustus 1980", "phone", "1980-08-18"),
    ],
)
def test_a_part_of_the_birth_date_corrects_only_that_part(
    text: str, asking: str, corrected: str
) -> None:
    reading = interpret(message(text), asking, PROFILE, TODAY)
    assert reading.corrections == {"birth_date": corrected}
    assert reading.answer is None


@pytest.mark.parametrize(
    ("text", "corrected"),
    [
        ("taunnyo 88", "1988-08-17"),  # Minang and Malay "-nyo" is "-nya"
        ("bulannyo 9", "1980-09-17"),
        ("tanggalnyo 12", "1980-08-12"),
        ("tglnyo 5", "1980-08-05"),
        ("thn nya 82", "1982-08-17"),
        ("taun 82", "1982-08-17"),  # a labelled part alone speaks of the date given
        ("tahun 82 kak", "1982-08-17"),
        ("tahun e 82", "1982-08-17"),  # Javanese "-e", apart
        ("tahune 82", "1982-08-17"),
        ("taunna 82", "1982-08-17"),  # Sundanese and Bugis "-na"
        ("bulanna 9", "1980-09-17"),
        ("sasine 9", "1980-09-17"),  # Javanese "-ne" after a vowel
        ("salah, taunnyo 88", "1988-08-17"),
    ],
)
def test_a_part_with_a_regional_possessive_corrects_only_that_part(
    text: str, corrected: str
) -> None:
    parts = find_date_parts(text, TODAY)
    assert parts and all(p.referential for p in parts), parts
    reading = interpret(message(text), "occupation", PROFILE, TODAY)
    assert reading.corrections == {"birth_date": corrected}
    filled = {k: v for k, v in PROFILE.items() if k != "birth_date"}
    at_birth_date = interpret(message(text), "birth_date", filled, TODAY).answer
    assert isinstance(at_birth_date, PartialDate)


def test_a_label_with_a_value_among_other_words_is_no_correction() -> None:
    # a year in a sentence about something else, and "th" + "e" is no label
    assert not any(p.referential for p in find_date_parts("kerja dari tahun 2010", TODAY))
    assert find_date_parts("the 82", TODAY) == []
    assert find_date_parts("taun 24 juta", TODAY) == []  # money, not a year


def test_a_part_alone_at_the_birth_date_step_is_a_partial_date() -> None:
    filled = {k: v for k, v in PROFILE.items() if k != "birth_date"}
    reading = interpret(message("tahunnya 82"), "birth_date", filled, TODAY)
    assert isinstance(reading.answer, PartialDate)
    assert reading.answer.parts[0].year == 1982


# --- the form's checks -------------------------------------------------------------------


def _tracker(slots: dict[str, Any], earlier: list[str]) -> Tracker:
    events = [{"event": "user", "text": t, "parse_data": {"entities": []}} for t in earlier]
    latest = {"text": "…", "intent": {"name": "inform", "confidence": 0.9}, "entities": []}
    return Tracker("web:test", slots, latest, events, False, None, {}, "action_listen")


def _step(tracker: Tracker, dispatcher: CollectingDispatcher) -> Step:
    context: Any = SimpleNamespace(clock=fixed_clock(), settings=Settings(_env_file=None))
    return Step(dispatcher, tracker, DOMAIN, {}, context)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("saminggu kinten-kinten 400 rebu", IncomePerPeriod(400_000, "week")),
        ("upami sabulan mah 1,6 juta", 1_600_000),
        ("sapoe 80 rebu", IncomePerPeriod(80_000, "day")),
        ("sataun kira-kira 24 juta", IncomePerPeriod(24_000_000, "year")),
    ],
)
def test_a_regional_period_at_the_income_step(text: str, answer: Any) -> None:
    assert interpret(message(text), "declared_income", PROFILE, TODAY).answer == answer


def test_a_regional_week_asks_to_confirm_the_monthly_figure() -> None:
    answer = interpret(
        message("saminggu kinten-kinten 400 rebu"), "declared_income", PROFILE, TODAY
    )
    dispatcher = CollectingDispatcher()
    verdict = ValidateRegistrationForm().check_declared_income(
        answer.answer, _step(_tracker({}, []), dispatcher)
    )
    assert verdict == {"income_offered": 1_732_000}  # nothing stored, the offer remembered
    (said,) = dispatcher.messages
    assert said["response"] == "utter_income_per_week"
    assert (said["amount"], said["monthly"]) == ("Rp400.000", "Rp1.732.000")


async def test_an_income_per_day_asks_to_confirm_the_monthly_figure_with_a_button() -> None:
    dispatcher = CollectingDispatcher()
    verdict = ValidateRegistrationForm().check_declared_income(
        IncomePerPeriod(80_000, "day"), _step(_tracker({}, []), dispatcher)
    )
    assert verdict == {"income_offered": 2_080_000}  # nothing stored, the offer remembered
    (said,) = dispatcher.messages
    assert said["response"] == "utter_income_per_day"
    assert (said["amount"], said["monthly"], said["days"]) == ("Rp80.000", "Rp2.080.000", "26")
    button = DOMAIN["responses"]["utter_income_per_day"][0]["buttons"][0]
    # filled the way Rasa's interpolator fills a response (rasa/core/nlg/interpolator.py)
    payload = re.sub(r"{([^\n{}]+?)}", r"{0[\1]}", button["payload"]).format(said)
    assert payload == '/inform{"money": 2080000}'
    # pressing it fills declared_income with the monthly figure
    verdict = ValidateRegistrationForm().check_declared_income(
        2_080_000, _step(_tracker({}, []), CollectingDispatcher())
    )
    assert verdict == {"declared_income": 2_080_000.0, "income_offered": None}


@pytest.mark.parametrize(
    "text", ["iya segitu lah", "iya kurang lebih segitu", "iya bujur segitu", "betul", "nggih"]
)
def test_a_typed_yes_to_the_offered_monthly_figure_takes_it(text: str) -> None:
    answer = interpret(message(text), "declared_income", PROFILE, TODAY).answer
    offered = _tracker({"income_offered": 1_820_000.0}, [])
    verdict = ValidateRegistrationForm().check_declared_income(
        answer, _step(offered, CollectingDispatcher())
    )
    assert verdict == {"declared_income": 1_820_000.0, "income_offered": None}


def test_a_yes_with_no_figure_offered_asks_for_the_income() -> None:
    answer = interpret(message("iya"), "declared_income", PROFILE, TODAY).answer
    dispatcher = CollectingDispatcher()
    verdict = ValidateRegistrationForm().check_declared_income(
        answer, _step(_tracker({}, []), dispatcher)
    )
    assert verdict == {}
    assert [m["response"] for m in dispatcher.messages] == ["utter_invalid_declared_income"]


def test_the_conversion_factors_are_data_marked_as_assumptions() -> None:
    factors = load_factors()
    assert (factors.days_worked_per_month, factors.weeks_per_month) == (26, 4.33)
    assert "ASSUMPTION" in (PROJECT_ROOT / "bot/domain/data/income_periods.toml").read_text()
    assert monthly_estimate(IncomePerPeriod(300_000, "week")) == 1_299_000
    assert monthly_estimate(IncomePerPeriod(24_000_000, "year")) == 2_000_000


async def test_a_partial_date_after_a_refused_one_merges_with_the_date_typed_last() -> None:
    form = ValidateRegistrationForm()
    partial = interpret(message("tahunnya 80"), "birth_date", {}, TODAY).answer
    tracker = _tracker({}, ["17 agustus 1981", "tahunnya 80"])
    dispatcher = CollectingDispatcher()
    verdict = await form._check(  # the one entry every field goes through
        _step(tracker, dispatcher).context, "birth_date", partial, dispatcher, tracker, DOMAIN, {}
    )
    assert verdict == {"birth_date": "1980-08-17"}


async def test_a_partial_date_with_nothing_before_asks_for_the_full_date() -> None:
    form = ValidateRegistrationForm()
    partial = interpret(message("bulannya 9"), "birth_date", {}, TODAY).answer
    tracker = _tracker({}, ["halo", "bulannya 9"])
    dispatcher = CollectingDispatcher()
    verdict = await form._check(
        _step(tracker, dispatcher).context, "birth_date", partial, dispatcher, tracker, DOMAIN, {}
    )
    assert verdict == {}
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_full_birth_date"]
