"""Issue 27, point 2: incomes and birth dates as people write them. Hypothesis generates the
values (incomes Rp1.000..Rp50.000.000 in the shapes people use, dates 1940..2010), renders
each in many written forms (digits, words, mixed, abbreviations, approximations, per day or
week, labelled parts in any order) and the parsers must read back exactly that value.

Issue 28: the renderers also write the regional forms: a period unit fused with a prefix
("saminggu", "sapoe", "sataun", "sak wulan", "perbulan") or with "-an", approximations in
Sundanese and Javanese ("kinten-kinten", "kurang luwih") between the period and the amount,
and a date part's label with the possessive of any language, fused or apart ("taunnyo 88",
"bulanna 9", "tahun e 82") or bare and alone ("taun 82")."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from nlu.parsing.dates import MONTHS, find_date_parts, find_dates, merge_date
from nlu.parsing.money import find_money

TODAY = date(2026, 11, 20)

_UNITS = ["", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]


def say(n: int) -> str:
    """Indonesian number words, written independently of the parser: 1_250_000 ->
    'satu juta dua ratus lima puluh ribu' (with 'se-' where people say it)."""
    if n == 0:
        return "nol"
    parts = []
    for size, name, fused in ((1_000_000, "juta", "sejuta"), (1_000, "ribu", "seribu")):
        if n >= size:
            head, n = divmod(n, size)
            parts.append(fused if head == 1 and size == 1_000 else f"{say(head)} {name}")
    if n >= 100:
        head, n = divmod(n, 100)
        parts.append("seratus" if head == 1 else f"{_UNITS[head]} ratus")
    if n >= 20:
        head, n = divmod(n, 10)
        parts.append(f"{_UNITS[head]} puluh")
    if n >= 10:
        parts.append({10: "sepuluh", 11: "sebelas"}.get(n) or f"{_UNITS[n - 10]} belas")
        n = 0
    if n:
        parts.append(_UNITS[n])
    return " ".join(parts)


def dotted(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def decimal(value: float) -> str:
    return f"{value:g}"


# --- incomes -----------------------------------------------------------------------------

#: Amounts in the shapes people give them: whole or tenths of millions, round thousands.
millions_in_tenths = st.integers(10, 500).map(lambda tenths: tenths * 100_000)
round_thousands = st.integers(1, 999).map(lambda k: k * 1_000)
any_thousands = st.integers(1, 50_000).map(lambda k: k * 1_000)


def written_forms(n: int) -> list[str]:
    forms = [dotted(n), f"Rp {dotted(n)}", f"rp{n}"]
    if n >= 10_000:  # a bare figure below Rp10.000 is no income, even after "gaji"
        forms.append(f"gaji {n}")
    forms += [say(n), f"sekitar {say(n)}", f"kurang lebih {dotted(n)}", f"± Rp{dotted(n)}"]
    if n % 1_000 == 0:
        k = n // 1_000
        forms += [f"{k}rb", f"{k} ribu", f"{k} rebu", f"{k}k", f"kira2 {k} ribuan"]
    if n >= 1_000_000 and n % 100_000 == 0:
        millions = decimal(n / 1_000_000)
        forms += [f"{millions} juta", f"{millions}jt", f"{millions.replace('.', ',')} jt"]
        forms += [f"sekitar {millions}jt an", f"{millions}jt-an", f"Rp {millions} juta"]
        whole, rest = divmod(n, 1_000_000)
        if rest:
            forms += [f"{whole} juta {rest // 1_000}", f"{whole} juta {rest // 1_000} ribu"]
            if rest % 100_000 == 0:
                forms.append(f"{say(whole)} koma {_UNITS[rest // 100_000]} juta")
            if rest == 500_000:
                forms += [f"{say(whole)} setengah juta", f"{whole} juta setengah"]
        else:
            forms += [f"{say(whole)} jutaan", f"{whole} juta an"]
    return forms


@settings(max_examples=150, deadline=None)
@given(st.one_of(millions_in_tenths, round_thousands, any_thousands), st.data())
def test_an_income_reads_back_in_every_written_form(amount: int, data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(written_forms(amount)))
    found = find_money(text)
    assert [(f.value, f.period) for f in found] == [(amount, "month")], text


PERIOD_FORMS = {
    "day": ["sehari {x}", "{x} per hari", "{x}/hari", "harian {x}", "tiap hari dapat {x}",
            "{x} perhari"],
    "week": ["seminggu {x}", "{x} per minggu", "mingguan {x}", "{x} seminggu", "{x}/mg"],
    "month": ["sebulan {x}", "{x} per bulan", "{x} sebulan", "{x}", "gaji bulanan {x}"],
    "year": ["setahun {x}", "{x} per tahun"],
}  # fmt: skip
#: Period units of Indonesian, Javanese (dina, wulan, sasi, krama dinten), Sundanese (poe,
#: sasih, taun) and the prefixes and words that make them a period.
UNITS = {
    "day": ["hari", "dina", "poe", "dinten"],
    "week": ["minggu", "pekan"],
    "month": ["bulan", "wulan", "sasi", "sasih"],
    "year": ["tahun", "taun"],
}
PREFIXES = ["se", "sa", "sak", "sa'", "per"]
EVERY = ["per", "tiap", "setiap", "saben", "unggal", "sak", "sa"]
APPROXIMATELY = ["sekitar", "kira-kira", "kinten-kinten", "kinten", "sakitar", "kurang luwih",
                 "kirang langkung", "udakara", "sekitaran"]  # fmt: skip


def period_forms(period: str) -> list[str]:
    """Every way of naming ``period`` around an amount {x}: the fixed ones above, and each
    unit fused with each prefix or "-an", or after a word for "every"."""
    forms = list(PERIOD_FORMS[period])
    for unit in UNITS[period]:
        forms += [f"{prefix}{unit} {{x}}" for prefix in PREFIXES]
        forms += [f"{{x}} {prefix}{unit}" for prefix in PREFIXES]
        forms += [f"{{x}} {every} {unit}" for every in EVERY]
        if len(unit) >= 4:
            forms.append(f"{unit}an {{x}}")
    return forms


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(round_thousands, millions_in_tenths),
    st.sampled_from(sorted(PERIOD_FORMS)),
    st.data(),
)
def test_an_income_keeps_the_period_it_was_given_for(
    amount: int, period: str, data: st.DataObject
) -> None:
    figure = data.draw(st.sampled_from([f for f in written_forms(amount) if "gaji" not in f]))
    text = data.draw(st.sampled_from(period_forms(period))).format(x=figure)
    found = find_money(text)
    assert [(f.value, f.period) for f in found] == [(amount, period)], text


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(round_thousands, millions_in_tenths),
    st.sampled_from(sorted(UNITS)),
    st.data(),
)
def test_an_approximation_between_the_period_and_the_amount_is_skipped(
    amount: int, period: str, data: st.DataObject
) -> None:
    """ "saminggu kinten-kinten 400 rebu", "upami sabulan mah 1,6 juta": the period still
    reaches the amount across the words for "about" and Sundanese "mah"."""
    figure = data.draw(
        st.sampled_from([f for f in written_forms(amount) if f[0].isdigit() or f[0] == "R"])
    )
    prefix = data.draw(st.sampled_from(PREFIXES))
    unit = data.draw(st.sampled_from(UNITS[period]))
    about = data.draw(st.sampled_from([*APPROXIMATELY, "mah", "mah kinten-kinten"]))
    text = f"{prefix}{unit} {about} {figure}"
    found = find_money(text)
    assert [(f.value, f.period) for f in found] == [(amount, period)], text


# --- dates -------------------------------------------------------------------------------

birth_dates = st.dates(date(1940, 1, 1), date(2010, 12, 31))


def year_words(year: int) -> list[str]:
    forms = [say(year)]
    if year < 2000:
        forms += [f"sembilan belas {say(year - 1900)}" if year % 100 else "sembilan belas ratus"]
        forms.append(say(year % 100))  # "delapan puluh": two digits, this century or the last
    return [f for f in forms if "ratus" not in f or year % 100 == 0 or "ribu" in f]


def date_forms(d: date) -> list[str]:
    names = MONTHS[d.month]
    yy = f"{d.year % 100:02d}"
    forms = [
        f"{d.day}-{d.month}-{d.year}",
        f"{d.day:02d}/{d.month:02d}/{yy}",
        f"{d.day}.{d.month}.{d.year}",
        f"{d.day}-{d.month}-{yy}",
        f"{d.day} {names[0]} {d.year}",
        f"{d.day} {names[-1]} '{yy}",
        f"{d.day} {names[1].capitalize()} {yy}",
        f"tgl {d.day} bln {d.month} thn {d.year}",
        f"lahir th {yy} bulan {names[0]} tgl {d.day}",
        f"bulan {d.month} tahun {d.year} tanggal {d.day}",
        f"tanggal {say(d.day)} {names[0]} {d.year}",
        f"{names[0].capitalize()} {d.day}, {d.year}",
        d.isoformat(),
    ]
    forms += [f"{say(d.day)} {names[0]} {words}" for words in year_words(d.year)]
    return forms


@settings(max_examples=200, deadline=None)
@given(birth_dates, st.data())
def test_a_birth_date_reads_back_in_every_written_form(d: date, data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(date_forms(d)))
    assert [f.value for f in find_dates(text, TODAY)] == [d.isoformat()], text


#: A date part's labels in Indonesian, Javanese and Sundanese, abbreviations included.
DATE_LABELS = {
    "day": ["tgl", "tanggal"],
    "month": ["bln", "bulan", "wulan", "sasi", "sasih"],
    "year": ["thn", "tahun", "taun"],
}
#: Possessives: Indonesian "-nya", Minang and Malay "-nyo", Sundanese and Bugis "-na",
#: Javanese "-e" (after a consonant) and "-ne" (after a vowel).
FUSED_POSSESSIVES = ["nya", "nyo", "na"]


def labels_with_possessives(part: str) -> list[str]:
    """ "taunnyo", "bulanna", "tahune", "sasine", "thn nya", "tahun e", and the bare label
    ("taun 82" alone speaks of the date given too)."""
    forms = []
    for label in DATE_LABELS[part]:
        javanese = "ne" if label[-1] in "aiueo" else "e"
        forms += [label, f"{label}{javanese}", f"{label} {javanese}"]
        forms += [f"{label}{ending}" for ending in FUSED_POSSESSIVES]
        forms += [f"{label} {ending}" for ending in FUSED_POSSESSIVES]
    return forms


@settings(max_examples=250, deadline=None)
@given(birth_dates, birth_dates, st.sampled_from(["day", "month", "year"]), st.data())
def test_one_part_changes_only_that_part(
    first: date, other: date, part: str, data: st.DataObject
) -> None:
    yy = f"{other.year % 100:02d}"
    said = {
        "day": [f"tgl nya {other.day}", f"tanggalnya {say(other.day)}"],
        "month": [f"bulannya {other.month}", f"bulannya {MONTHS[other.month][0]}"],
        "year": [f"tahunnya {yy}", f"salah, tahunnya {other.year}", f"eh thn nya {yy}"],
    }[part]
    values = {
        "day": [str(other.day), say(other.day)],
        "month": [str(other.month), MONTHS[other.month][0]],
        "year": [yy, str(other.year)],
    }[part]
    said += [
        f"{lead}{label} {value}"
        for lead in ("", "salah, ", "eh ")
        for label in labels_with_possessives(part)
        for value in values
    ]
    text = data.draw(st.sampled_from(said))
    parts = find_date_parts(text, TODAY)
    assert find_dates(text, TODAY) == []
    assert parts and all(p.referential for p in parts), text
    wanted = {
        "day": (first.year, first.month, other.day),
        "month": (first.year, other.month, first.day),
        "year": (other.year, first.month, first.day),
    }[part]
    try:
        expected: str | None = date(*wanted).isoformat()
    except ValueError:
        expected = None  # "tgl nya 31" of a 30-day month: no date, asked again
    assert merge_date(first.isoformat(), parts) == expected, text
