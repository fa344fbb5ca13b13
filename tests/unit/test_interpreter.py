"""The interpreter of answers against hand-written labelled examples
(tests/unit/interpreter_cases.yml). Entities come from the same deterministic extractor the
Rasa pipeline runs; an intent is given only where a case names one, so most cases prove the
reading from the words alone."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.infra.settings import PROJECT_ROOT
from bot.understanding.interpreter import (
    FIELDS,
    Entity,
    Meaning,
    Message,
    Unparsed,
    early_fields,
    interpret,
    wants_to_register,
)
from nlu.parsing.extract import extract_entities

TODAY = date(2026, 11, 20)
CASES_FILE = Path(__file__).with_name("interpreter_cases.yml")
#: Answers given before each step in the cases, unless a case says otherwise.
PROFILE: dict[str, Any] = {
    "full_name": "Sutinah",
    "nik": "3523031708800001",
    "birth_date": "1980-08-17",
    "phone": "+6281234567001",
    "village": "Karanglo",
    "occupation": "petani",
    "declared_income": 1_000_000.0,
    "with_jht": False,
}
STEPS = ("consent_given", *FIELDS, "registration_confirmed")


def filled_before(asking: str | None) -> dict[str, Any]:
    if asking is None or asking == "consent_given":
        return {}
    index = STEPS.index(asking) if asking in STEPS else len(STEPS) - 1
    return {name: PROFILE[name] for name in STEPS[:index] if name in PROFILE}


def message(case: dict[str, Any]) -> Message:
    text = case["text"]
    found = [] if text.startswith("/") else extract_entities(text, TODAY)
    entities = tuple(Entity(f.entity, f.value, f.start, f.end) for f in found) + tuple(
        Entity(name, value) for name, value in (case.get("entities") or {}).items()
    )
    intent = case.get("intent")
    return Message(text, intent, 0.9 if intent else 0.0, entities)


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for group in yaml.safe_load(CASES_FILE.read_text(encoding="utf-8")):
        for case in group["cases"]:
            cases.append({"asking": group.get("asking"), **case})
    return cases


CASES = load_cases()


def test_there_are_at_least_300_labelled_examples() -> None:
    assert len(CASES) >= 300


def test_no_example_is_copied_from_the_nlu_training_data() -> None:
    training = set()
    for path in (PROJECT_ROOT / "nlu" / "data").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in (block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip()[2:])
                    training.add(text.strip().lower())
    assert not [c["text"] for c in CASES if c["text"].lower() in training]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['asking']}: {c['text']}"[:80] for c in CASES])
def test_reading(case: dict[str, Any]) -> None:
    filled = {**filled_before(case["asking"]), **(case.get("filled") or {})}
    reading = interpret(message(case), case["asking"], filled, TODAY)
    expect = case.get("expect") or {}
    assert reading.meaning == Meaning(expect.get("meaning", "answer")), reading
    if "answer" in expect:
        wanted = expect["answer"]
        got = reading.answer
        if wanted == "unparsed":
            assert isinstance(got, Unparsed), reading
        else:
            assert got == wanted, reading
    if reading.meaning is Meaning.ANSWER or "given" in expect:
        assert reading.given == (expect.get("given") or {}), reading
    if reading.meaning is Meaning.ANSWER or "corrections" in expect:
        assert reading.corrections == (expect.get("corrections") or {}), reading
    for key in ("topic", "problem"):
        if key in expect:
            assert getattr(reading, key) == expect[key], reading


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("sy mau daftar, nama Rukmini, nik 3523031708800001", True),
        ("daftar, nik 3523031708800001", True),
        ("pengen ikut, saya petani penghasilan 1 juta", True),
        ("badhe daftar, nami kulo Suparmi", True),
        ("nama saya Rukmini, nik 3523031708800001", False),
        ("saya petani", False),
        ("ibu saya mau daftar, nik 3523031708800001", False),
        ("daftarnya dimana ya?", False),
    ],
)
def test_wanting_to_register_outside_the_form(text: str, wanted: bool) -> None:
    assert wants_to_register(message({"text": text, "intent": "inform"})) is wanted


def test_early_fields_keep_what_a_first_message_carries() -> None:
    text = "sy mau daftar, nama Rukmini, nik 3523031708800001, lahir 17-08-1980, kerja petani"
    fields = early_fields(message({"text": text}), TODAY)
    assert fields == {
        "full_name": "Rukmini",
        "nik": "3523031708800001",
        "birth_date": "1980-08-17",
        "occupation": "petani",
    }


def test_an_unlabelled_name_among_other_fields_is_kept() -> None:
    text = "mau ikut. Dwi Rahayu, 3523031708800001, jualan sayur, desa Ngino"
    fields = early_fields(message({"text": text}), TODAY)
    assert fields["full_name"] == "Dwi Rahayu"
    assert fields["nik"] == "3523031708800001"
    # A single capitalised word may be a place: only a name that says so is kept.
    fields = early_fields(message({"text": "Daftar. Petani, Tuban, 3523031708800001"}), TODAY)
    assert "full_name" not in fields


def test_a_name_introduced_by_i_or_after_a_colon_may_be_one_word() -> None:
    text = "sy Mahmud, lahir 2 feb 1963, nelayan, penghasilan sktr 3 jt sebulan. mau daftar"
    assert early_fields(message({"text": text}), TODAY)["full_name"] == "Mahmud"
    text = "ada warga mau didaftarkan: Tarmuji, nik 3523031708800813"
    fields = early_fields(message({"text": text}), TODAY)
    assert (fields["full_name"], fields["nik"]) == ("Tarmuji", "3523031708800813")
    text = "ambo Zulkifli, nik 3523033001880795"
    assert early_fields(message({"text": text}), TODAY)["full_name"] == "Zulkifli"
    # "nama sy X": the pronoun is not part of the name.
    text = "nama sy Sumiyati, nik 3523032005620851"
    assert early_fields(message({"text": text}), TODAY)["full_name"] == "Sumiyati"
    # A single capitalised word without an introduction is still no name.
    text = "mau daftar: petani, 3523031708800001"
    assert "full_name" not in early_fields(message({"text": text}), TODAY)
    assert "full_name" not in early_fields(message({"text": "Saya Mau daftar"}), TODAY)


@pytest.mark.parametrize(
    "text",
    [
        "salah, desa saya Bektiharjo bukan Tegalagung",
        "eh keliru, desaku Bektiharjo dudu Tegalagung",
        "lepat, desa abdi Bektiharjo sanes Tegalagung",
        "eh salah desa, harusnya Bektiharjo",
    ],
)
def test_a_village_correction_keeps_the_new_name_and_drops_the_rejected_one(text: str) -> None:
    reading = interpret(message({"text": text}), "occupation", filled_before("occupation"), TODAY)
    assert reading.corrections == {"village": "Bektiharjo"}


@pytest.mark.parametrize("text", ["iya benar", "tidak", "benar kak", "ya"])
def test_a_yes_or_no_while_the_village_is_asked_says_it_is_not_settled(text: str) -> None:
    reading = interpret(message({"text": text}), "village", filled_before("village"), TODAY)
    assert (reading.meaning, reading.problem) == (Meaning.NOT_UNDERSTOOD, "village_not_settled")


def test_an_unmarked_village_with_its_kecamatan_is_kept_from_a_first_message() -> None:
    from tests.unit.test_places import REGISTER

    text = "sy Mahmud, nelayan di leran wetan palang, nik 3523030202630859. mau daftar"
    fields = early_fields(message({"text": text}), TODAY, REGISTER)
    assert fields["village"] == "leran wetan palang"
    # A place the register cannot pair with a kecamatan is no village.
    for text in (
        "mau daftar, jualan di pasar tuban, nik 3523031708800001",
        "mau daftar, kerja di surabaya, nik 3523031708800001",
    ):
        assert "village" not in early_fields(message({"text": text}), TODAY, REGISTER)


@pytest.mark.parametrize("text", ["sehari 80 rb", "seminggu 500 ribu", "sapoe 50 rebu"])
def test_an_income_per_period_at_the_name_step_is_no_name(text: str) -> None:
    reading = interpret(message({"text": text}), "full_name", filled_before("full_name"), TODAY)
    assert reading.answer is None, reading
    assert "declared_income" in reading.given, reading


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("ari mayarna kumaha? kedah ka kantor?", "ask_payment_channels"),
        ("bayare piye mas?", "ask_payment_channels"),
        ("mbayar iurane ning ndi?", "ask_payment_channels"),
        ("nek kulo mati, bojo kulo angsal nopo?", "ask_jkm"),
        ("menawi kulo seda, keluarga angsal menapa?", "ask_jkm"),
        ("kalo ikut sebulan bayar berapaan?", "ask_contribution"),
    ],
)
def test_a_question_s_topic_in_regional_words_and_informal_endings(text: str, topic: str) -> None:
    from bot.understanding.interpreter import question_topic

    reading = interpret(message({"text": text}), "occupation", filled_before("occupation"), TODAY)
    assert reading.meaning is Meaning.QUESTION
    assert question_topic(message({"text": text})) == topic


def test_a_name_correction_drops_a_remark_in_brackets() -> None:
    text = "tadi nama saya typo, harusnya Sumarmi (pake m)"
    reading = interpret(
        message({"text": text}), "declared_income", filled_before("declared_income"), TODAY
    )
    assert reading.corrections == {"full_name": "Sumarmi"}


@pytest.mark.parametrize(
    ("text", "answer", "given"),
    [
        ("Kebun Agung", "Kebun Agung", {}),  # a village named with a trade word
        ("Nambak Wetan", "Nambak Wetan", {}),
        ("Kebun Agung, kec. Tanjung", "Kebun Agung, kec. Tanjung", {}),  # read whole
        ("Karanglo, petani", "Karanglo", {"occupation": "petani"}),  # an early answer
        ("sy petani", None, {"occupation": "petani"}),
    ],
)
def test_an_occupation_word_in_a_village_s_name_stays_in_the_village(
    text: str, answer: str | None, given: dict[str, str]
) -> None:
    reading = interpret(message({"text": text}), "village", filled_before("village"), TODAY)
    assert (reading.answer, reading.given) == (answer, given)
