"""Trades said as verbs in the resident's own morphology (issue 27): the rule of
nlu/parsing/lookups.py and its data (nlu/lookups/occupation_words.json), tried on forms
generated here from prefixes, stems and objects written out by hand (not by the rule's own
generator), and on what must not become an occupation."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from bot.understanding.interpreter import Entity, Meaning, Message, interpret
from nlu.parsing.extract import extract_entities
from nlu.parsing.lookups import (
    find_occupations,
    occupations,
    sender_occupation,
    trades_said_as_verbs,
)

TODAY = date(2026, 11, 20)
FILLED = {
    "full_name": "Sutinah",
    "nik": "3523031708800001",
    "birth_date": "1980-08-17",
    "phone": "+6281234567001",
    "village": "Karanglo",
}


def codes(text: str) -> list[str]:
    return [str(f.value) for f in find_occupations(text)]


def read_at(asking: str | None, text: str, intent: str | None = None) -> Any:
    found = extract_entities(text, TODAY)
    entities = tuple(Entity(f.entity, f.value, f.start, f.end) for f in found)
    message = Message(text, intent, 0.9 if intent else 0.0, entities)
    filled = FILLED if asking == "occupation" else {}
    return interpret(message, asking, filled, TODAY)


# --- the residents' own words (issue 27) ------------------------------------------------

ISSUE_EXAMPLES = [
    ("manggaleh kain di pasa raya", "pedagang"),  # Minang: mang- + galeh (dagang)
    ("bejualan iwak di pasar", "pedagang"),  # Banjar: be- + jual + -an; iwak = ikan
    ("dagang di payun bumi", "pedagang"),  # Sundanese
    ("dodolan sayur", "pedagang"),  # Javanese
    ("kulakan", "pedagang"),
    ("dagang", "pedagang"),  # Betawi
    ("ngojek", "ojek"),
    ("narik becak", "becak"),
    ("ngurus sawah", "petani"),
    ("nggarap sawah", "petani"),
    ("ngurus kebon", "pekebun"),
    ("ke ladang", "petani"),
    ("bersawah", "petani"),
    ("bahuma", "petani"),  # Banjar farming
    ("Pak RT bilang orang tani juga bisa ikut", "petani"),
    ("saya RT di sini", "perangkat_desa"),
    ("saya perangkat desa", "perangkat_desa"),
]


@pytest.mark.parametrize(("text", "code"), ISSUE_EXAMPLES)
def test_the_residents_words_are_their_occupation_at_the_occupation_step(
    text: str, code: str
) -> None:
    reading = read_at("occupation", text)
    assert (reading.meaning, reading.answer) == (Meaning.ANSWER, code)


@pytest.mark.parametrize(("text", "code"), ISSUE_EXAMPLES)
def test_an_occupation_that_is_no_question_comes_before_a_question_intent(
    text: str, code: str
) -> None:
    """ "ngurus sawah" was taken as a question about claims ("urus"): at the occupation
    step a message that reads as an occupation and asks nothing is the occupation."""
    reading = read_at("occupation", text, intent="ask_claim")
    assert (reading.meaning, reading.answer) == (Meaning.ANSWER, code)


def test_a_role_of_someone_named_with_an_honorific_is_not_kept_before_consent() -> None:
    reading = read_at(None, "Pak RT bilang orang tani juga bisa ikut")
    assert reading.given.get("occupation") == "petani"


# --- generated forms: prefix x stem x suffix x object -----------------------------------

#: Trade stems with their nasal (N-) and meN-/maN- forms, written out by hand.
TRADE_FORMS = {
    "jual": ["njual", "menjual", "manjual", "ngejual"],
    "dagang": ["ndagang", "mendagang", "ngadagang", "medagang", "madagang"],
    "galeh": ["nggaleh", "menggaleh", "manggaleh"],
    "dodol": ["ndodol", "ngedodol"],
    "jaja": ["njaja", "menjaja"],
    "ical": ["ngical", "mangical"],
    "asong": ["ngasong", "mengasong"],
    "lapak": ["ngelapak", "melapak"],
}
BER = ["ber", "be", "ba", "bar"]
VERB_ENDINGS = ["", "kan", "in", "ke", "i", "an", "ane", "annya"]
TRADE_OBJECTS = ["", " iwak di pasar", " ikan", " sayur", " kain di pasa raya", " di pasar"]


def trade_words() -> list[str]:
    words = []
    for stem, forms in TRADE_FORMS.items():
        for written in [*forms, *(prefix + stem for prefix in BER)]:
            words += [written + ending for ending in VERB_ENDINGS]
        words += [stem + "an", stem + "ane", stem + "annya"]  # jualan, dodolane
    return words


@pytest.mark.parametrize("obj", TRADE_OBJECTS)
def test_every_affixed_trade_verb_is_a_trader(obj: str) -> None:
    wrong = [w + obj for w in trade_words() if codes(w + obj) != ["pedagang"]]
    assert not wrong, wrong[:20]


def test_cooked_food_sold_is_a_food_business_as_in_the_catalogue() -> None:
    assert codes("jualan nasi") == ["usaha_makanan"]  # the catalogue's own
    for verb in ("dodolan", "bejualan", "menjajakan", "manggaleh"):
        assert codes(f"{verb} nasi") == ["usaha_makanan"], verb
        assert codes(f"{verb} kue di pasar") == ["usaha_makanan"], verb


#: Stems that need an object (what is tended), with their affixed forms.
TEND_FORMS = {
    "urus": ["ngurus", "mengurus", "mangurus", "ngurusin", "ngurusi", "diurus"],
    "garap": ["nggarap", "menggarap", "manggarap", "garap", "nggarapke", "digarap"],
    "olah": ["ngolah", "mengolah", "mangolah", "olah"],
    "kerja": ["kerja di", "bekerja di", "kerjaan di", "ngerjain", "mengerjakan", "kerja"],
    "kelola": ["ngelola", "mengelola"],
    "rawat": ["merawat", "ngerawat"],
}
TENDED = {
    "petani": ["sawah", "ladang", "huma", "tegalan", "sawahnya", "sawahe", "lahan", "padi"],
    "pekebun": ["kebun", "kebon", "kebone", "kebun kopi", "sawit", "karet"],
    "peternak": ["sapi", "kambing", "ternak", "bebek"],
    "pembudidaya_ikan": ["kolam ikan", "tambak", "lele", "empang"],
}


@pytest.mark.parametrize("code", TENDED)
def test_tending_a_field_a_garden_animals_or_a_pond_names_the_trade(code: str) -> None:
    cases = [
        f"{form} {obj}" for forms in TEND_FORMS.values() for form in forms for obj in TENDED[code]
    ]
    wrong = [(c, codes(c)) for c in cases if codes(c) != [code]]
    assert not wrong, wrong[:20]


@pytest.mark.parametrize(
    "text",
    ["ngurus", "mengurus surat tanah", "ngurus klaim", "mau ngurus kartu", "nggarap skripsi",
     "kerja di pabrik", "mengolah data", "merawat orang tua", "urusan keluarga", "menarik",
     "narik uang", "nyari kerja", "cari uang", "tanaman hias", "jaringan internet"],
)  # fmt: skip
def test_a_verb_that_needs_an_object_says_nothing_without_one(text: str) -> None:
    assert codes(text) == []


#: A place of work written as a verb: the prefixes of Indonesian and regional languages.
PLACE_VERBS = {
    "petani": ["bersawah", "besawah", "basawah", "nyawah", "menyawah", "manyawah", "bahuma",
               "behuma", "berhuma", "ngahuma", "berladang", "beladang", "baladang",
               "maladang", "ngeladang", "pahuma"],
    "pekebun": ["berkebun", "bakebun", "ngebun", "mengebun", "ngebon", "bakebon"],
    "nelayan": ["melaut", "balaut", "ngelaut"],
    "pembudidaya_ikan": ["nambak", "bertambak", "menambak"],
}  # fmt: skip


@pytest.mark.parametrize(("code", "word"), [(c, w) for c, ws in PLACE_VERBS.items() for w in ws])
def test_a_place_of_work_with_a_verb_prefix_is_working_it(code: str, word: str) -> None:
    assert codes(word) == [code]
    assert codes(f"saya {word} tiap hari") == [code]
    assert codes(f"{word.capitalize()}, di desa") == [code]


@pytest.mark.parametrize(
    ("place", "code"),
    [("sawah", "petani"), ("ladang", "petani"), ("huma", "petani"), ("kebun", "pekebun"),
     ("kebon", "pekebun"), ("laut", "nelayan"), ("tambak", "pembudidaya_ikan")],
)  # fmt: skip
def test_going_to_a_place_of_work(place: str, code: str) -> None:
    for before in ("", "tiap hari ", "pagi pergi ", "saya "):
        for go in ("ke", "ka"):
            assert codes(f"{before}{go} {place}") == [code]


@pytest.mark.parametrize("text", ["ke pasar", "ke kota", "pergi ke kantor desa", "sawah", "laut"])
def test_a_place_alone_or_elsewhere_is_no_trade(text: str) -> None:
    assert codes(text) == []


CATCH_VERBS = ["nyari", "mencari", "cari", "nangkap", "menangkap", "golek", "nggolek", "pencari"]
CAUGHT = ["iwak", "ikan", "udang", "lauak", "ikan di laut", "iwak ning segoro", "ikannya"]


def test_catching_fish_is_fishing() -> None:
    wrong = [f"{v} {o}" for v in CATCH_VERBS for o in CAUGHT if codes(f"{v} {o}") != ["nelayan"]]
    assert not wrong, wrong
    gear = ["memancing", "njaring", "menjaring", "menjala", "nguseup", "maunjun", "mamukek"]
    assert all(codes(word) == ["nelayan"] for word in gear), [codes(w) for w in gear]
    assert codes("nyari rumput") == [] and codes("mencari kerja") == []


KEEP_VERBS = ["ngingu", "memelihara", "melihara", "miara", "piara", "pelihara", "budidaya"]


def test_keeping_animals_or_fish() -> None:
    for verb, animal in itertools.product(KEEP_VERBS, ["sapi", "kambing", "ayam", "wedus"]):
        assert codes(f"{verb} {animal}") == ["peternak"], (verb, animal)
    for verb, fish in itertools.product(KEEP_VERBS, ["lele", "ikan nila", "ikan", "udang"]):
        assert codes(f"{verb} {fish}") == ["pembudidaya_ikan"], (verb, fish)
    for word in ("beternak", "ngangon", "menggembala", "penggembala kambing"):
        assert codes(word) == ["peternak"], word


@pytest.mark.parametrize(
    ("vehicle", "code"),
    [("becak", "becak"), ("angkot", "sopir"), ("truk", "sopir"), ("mobil travel", "sopir"),
     ("ojek", "ojek"), ("bentor", "becak")],
)  # fmt: skip
def test_driving_a_vehicle(vehicle: str, code: str) -> None:
    for verb in ("narik", "menarik", "nyetir", "bawa", "mbawa", "pengemudi"):
        assert codes(f"{verb} {vehicle}") == [code], verb


@pytest.mark.parametrize(
    ("text", "code"),
    [("penjual", "pedagang"), ("penjaja kue", "usaha_makanan"), ("panggaleh", "pedagang"),
     ("padagang", "pedagang"), ("padangkang", "pedagang"), ("madangkang", "pedagang"),
     ("patani", "petani"), ("penanam padi", "petani"), ("pengojek", "ojek"),
     ("pemancing", "nelayan"), ("pencari ikan", "nelayan"), ("pengemudi", "sopir"),
     ("nukang", "tukang"), ("nguli", "tukang"), ("mburuh", "tenaga_lepas"),
     ("mburuh di sawah", "petani"), ("buruh di sawah", "petani"), ("membatik", "pengrajin"),
     ("menganyam tikar", "pengrajin"), ("menenun", "pengrajin"), ("njahitin", "penjahit"),
     ("menyetrika", "pekerja_rumah_tangga"), ("nyuci baju tetangga", "pekerja_rumah_tangga"),
     ("mencuci pakaian", "pekerja_rumah_tangga"), ("memijat", "tenaga_lepas"),
     ("nanem padi", "petani"), ("nanem kopi", "pekebun"), ("menanam sawit", "pekebun"),
     ("macul", "petani"), ("ditanami padi", "petani"), ("ngedol sayur", "pedagang"),
     ("ngojol", "ojek"), ("ojekan", "ojek"), ("nyupir truk", "sopir")],
)  # fmt: skip
def test_other_trades_and_their_doers(text: str, code: str) -> None:
    assert codes(text) == [code]


@pytest.mark.parametrize(
    "text",
    ["penjualan", "pertanian", "perkebunan", "pesawahan", "peternakan", "pengurus",
     "mencocokkan data", "menarik sekali", "jalan ke pasar", "dijual", "dolan", "jalan",
     "nanti dulu", "tanaman", "beli eceran", "pekerja", "urutan", "olahraga"],
)  # fmt: skip
def test_nouns_and_look_alikes_are_no_trade(text: str) -> None:
    assert codes(text) == []


# --- someone else's occupation ----------------------------------------------------------

HONORIFICS = ["pak", "bu", "bapak", "ibu", "mas", "mbak", "kang", "teh", "bang", "Pak", "Bu"]
ROLES = ["RT", "RW", "lurah", "kades", "kepala desa", "bidan", "nelayan", "ustadz",
         "guru ngaji", "sopir", "tukang ojek", "penjual sayur"]  # fmt: skip


def test_a_role_after_an_honorific_names_another_person() -> None:
    said = [f"{h} {r} bilang saya bisa ikut" for h in HONORIFICS for r in ROLES] + [
        f"kata {h} {r} tadi" for h in HONORIFICS for r in ROLES
    ]
    wrong = [(text, codes(text)) for text in said if codes(text)]
    assert not wrong, wrong[:20]


def test_the_senders_own_occupation_beside_someone_elses() -> None:
    for honorific in HONORIFICS:
        assert codes(f"{honorific} RT bilang orang tani juga bisa ikut") == ["petani"]
        assert codes(f"{honorific} lurah nyuruh daftar, saya bersawah") == ["petani"]


@pytest.mark.parametrize(
    ("text", "code"),
    [("tolong daftarkan bu penjual sayur ini", "pedagang"),
     ("bapak nelayan ini mau ikut", "nelayan"),
     ("mas tukang ojek iki arep melu", "ojek")],
)  # fmt: skip
def test_an_agent_pointing_at_the_walk_in_names_the_one_registered(text: str, code: str) -> None:
    assert codes(text) == [code]


@pytest.mark.parametrize(
    "text",
    ["saya RT di sini", "saya rt", "aku RW", "sebagai RT", "jadi RW di dusun", "saya pak RT",
     "saya perangkat desa", "kulo kamituwo", "saya ketua RT"],
)  # fmt: skip
def test_a_role_said_of_oneself_is_the_senders(text: str) -> None:
    assert codes(text) == ["perangkat_desa"]


@pytest.mark.parametrize("text", ["RT 03 RW 02", "saya rt 3", "dusun krajan rt 01", "rt/rw 2/3"])
def test_rt_in_an_address_is_no_occupation(text: str) -> None:
    assert codes(text) == []


RELATIVES = ["suami saya", "istri saya", "bapak saya", "anak saya", "suamiku", "bojoku",
             "istri", "anak", "mertua saya", "bojone"]  # fmt: skip


def test_a_relatives_trade_is_not_the_senders() -> None:
    for relative, title in itertools.product(RELATIVES, ["nelayan", "petani", "tukang ojek"]):
        assert sender_occupation(f"{relative} {title}, saya jualan sayur") == "pedagang"
        assert sender_occupation(f"saya {relative} {title}") is None, (relative, title)


@pytest.mark.parametrize(
    "text",
    ["desa Kebun Agung", "ds. nambak", "Kec. Tambak", "kampung Nelayan", "desa tegalan"],
)
def test_a_name_after_a_place_word_is_a_place(text: str) -> None:
    assert codes(text) == []


# --- a title the sender gives, a negation -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [("saya petani, jualan sayur juga", "petani"),
     ("jualan hasil kebun, saya petani", "petani"),
     ("nelayan, kadang jualan ikan", "nelayan"),
     ("saya petani, nanem kopi", "petani"),
     ("ngojek, aslinya tukang bangunan", "tukang"),
     ("saya penjual, sambil nggarap sawah", "pedagang"),
     ("petani kopi", "pekebun"),  # the catalogue's own mapping stays
     ("petani sawit", "pekebun"),
     ("nanem kopi", "pekebun")],
)  # fmt: skip
def test_a_title_the_sender_gives_wins_over_what_they_grow_or_sell(text: str, code: str) -> None:
    assert codes(text) == [code]
    reading = read_at("occupation", text)
    assert (reading.meaning, reading.answer) == (Meaning.ANSWER, code)
    assert read_at("full_name", f"Sutinah. {text}").given.get("occupation") == code


NEGATIONS = ["bukan", "dudu", "sanes", "dulu", "dulunya", "mantan", "bukan seorang",
             "sudah tidak jadi", "ga jadi"]  # fmt: skip


def test_a_negated_title_is_not_the_senders_and_does_not_hide_the_trade() -> None:
    for negation, title in itertools.product(NEGATIONS, ["petani", "nelayan", "tukang ojek"]):
        text = f"{negation} {title}, sekarang ngojek"
        if title == "tukang ojek":
            text = f"{negation} {title}, sekarang bersawah"
        wanted = "petani" if title == "tukang ojek" else "ojek"
        assert sender_occupation(text) == wanted, text
    assert sender_occupation("bukan petani") is None
    reading = read_at("occupation", "eh bukan petani tapi nelayan")
    assert (reading.meaning, reading.answer) == (Meaning.ANSWER, "nelayan")


# --- questions stay questions -----------------------------------------------------------

TRADES = ["jualan", "bejualan iwak", "ngurus sawah", "bersawah", "manggaleh", "ngojek",
          "petani", "dodolan sayur"]  # fmt: skip
QUESTIONS = ["{} bisa ikut?", "kalau {} bisa daftar gak?", "gimana kalau {}",
             "apakah {} boleh ikut", "{} berapa iurannya",
             "bayarnya bisa di tempat {}?"]  # fmt: skip


def test_a_question_about_a_trade_is_a_question_at_the_occupation_step() -> None:
    for trade, question in itertools.product(TRADES, QUESTIONS):
        text = question.format(trade)
        assert read_at("occupation", text).meaning is Meaning.QUESTION, text
    assert read_at("occupation", "bayarnya bisa di tempat jualan?").meaning is Meaning.QUESTION


# --- the data ---------------------------------------------------------------------------


def test_every_code_the_rule_gives_is_a_catalogue_code() -> None:
    from nlu.parsing.lookups import _occupation_words

    words = _occupation_words()
    known = {o.code for o in occupations()}
    given = {verb.alone for verb in words.verbs.values()} | {
        code for verb in words.verbs.values() for code in verb.objects.values()
    }
    given |= {verb.any_object for verb in words.verbs.values()} | set(words.self_roles.values())
    assert given - {None} <= known


def test_the_rule_reads_few_names_of_the_national_register() -> None:
    """Villages are often named after a trade ("Nambak", "Patani"); the rule adds only a
    few of the 83,000 names to what the catalogue already reads, and never by a stray
    analysis ("Maluku" is no plough, "Penjaringan" no net-fisher)."""
    from bot.infra.region_register import place_register

    register = place_register()
    names = {
        place.name
        for province in range(10, 100)
        for code in register.village_codes_in(str(province))
        if (place := register.place(code)) is not None
    }
    assert len(names) > 60_000
    read = sorted(name for name in names if trades_said_as_verbs(name))
    assert len(read) <= 30, read
    assert not {"Maluku", "Penjaringan", "Pedagangan", "Alahan", "Juai"} & set(read)
