"""A no is never a yes (issue 27, point 3). The messages are generated here from this file's
own word lists (not from bot/domain/data/form_words.toml, which the reader uses): negations
and deferrals in Indonesian, Javanese and Sundanese, and (issue 28) the negations of Minang,
Banjar, Bugis and Makassar, Manado and Batak, alone and with the small words people
add ("dulu", "usah", "jadi", "aja", "deh", "ya", "kak", "min") or an "iya"/"ok" in front. At
every yes/no step (consent, JHT, the summary, an agent's walk-in JHT answer, deleting one's
data, confirming a dispute) none may read as True, even when the classifier says affirm."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.understanding.interpreter import Entity, Message, interpret, yes_no
from nlu.parsing.extract import extract_entities

TODAY = date(2026, 11, 20)

NEGATIONS = {
    "indonesian": [
        "tidak", "tdk", "gak", "ga", "nggak", "enggak", "ndak", "kagak", "belum", "jangan",
        "bukan", "ogah", "no", "tidak mau", "ga mau", "gak mau ikut", "belum mau", "tidak ikut",
        "tidak ikut jht", "ga pakai jht", "nggak usah pake jht", "ga perlu", "tidak setuju",
        "belum siap", "jangan didaftarkan", "gausah", "gak pengen",
    ],
    "javanese": [
        "ora", "ora gelem", "ora usah", "ora melu", "mboten", "boten", "mboten purun",
        "mboten usah", "ampun", "emoh", "wegah", "durung", "dereng", "ora sah", "ora melu jht",
        "moh", "moh melu",
    ],
    "sundanese": [
        "teu", "henteu", "embung", "moal", "ulah", "teu acan", "alim", "teu hoyong",
        "teu daek", "henteu kersa", "moal ngiring", "teu kedah", "teu acan hoyong",
    ],
    # Issue 28: the negations of the other regions' residents.
    "minang": [
        "indak", "indak usah", "alun", "indak nio", "alun lai", "indak ikuik", "indak batua",
        "indak bana", "iyo indak",
    ],
    "banjar": ["kada", "kadada", "kada handak", "kada usah", "kada umpat"],
    "bugis_makassar": ["tena", "tena kuero"],
    "manado": ["nyanda", "nyanda mau", "nyanda iko"],
    "batak": ["ndang", "ndada", "ndang olo"],
}  # fmt: skip
HEDGES = {
    "indonesian": [
        "nanti dulu", "nanti aja", "nanti", "ntar", "ntar aja", "entar", "lain kali",
        "lain waktu", "kapan2", "pikir2 dulu", "mikir dulu", "skip", "besok aja",
        "belum dulu", "tunda dulu", "dipikir dulu", "saya pikirkan dulu",
    ],
    "javanese": ["mengko wae", "mengko", "mangke rumiyin", "sesuk wae", "engko dhisik"],
    "sundanese": ["engke heula", "engke", "teu acan ayeuna"],
}  # fmt: skip
TAILS = ("", " dulu", " usah", " jadi", " aja", " deh", " ya", " kak", " min", " ya kak")
HEADS = ("", "iya ", "ok ", "hmm ")
#: Every step that takes a yes or a no through the form interpreter, with who answers.
STEPS = ("consent_given", "with_jht", "registration_confirmed", "walk_in:with_jht")
PROFILE: dict[str, Any] = {
    "full_name": "Sukirah",
    "nik": "3523031708800001",
    "birth_date": "1980-08-17",
    "phone": "+6281234567001",
    "village": "Karanglo",
    "occupation": "petani",
    "declared_income": 1_000_000.0,
}
#: Things a no may be read as besides no: asked again (None), or a stop.
STEM_CASES = [
    (language, kind, stem)
    for kind, groups in (("negation", NEGATIONS), ("hedge", HEDGES))
    for language, stems in groups.items()
    for stem in stems
]


def variants(stem: str) -> list[str]:
    return [f"{head}{stem}{tail}" for head in HEADS for tail in TAILS]


def message(text: str, intent: str | None) -> Message:
    found = extract_entities(text, TODAY)
    entities = tuple(Entity(f.entity, f.value, f.start, f.end) for f in found)
    return Message(text, intent, 0.95 if intent else 0.0, entities)


def filled_for(step: str) -> dict[str, Any]:
    if step == "consent_given":
        return {}
    if step.endswith("with_jht"):
        return dict(PROFILE)
    return {**PROFILE, "with_jht": False}


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize(
    ("language", "kind", "stem"), STEM_CASES, ids=[f"{k}-{lang}-{s}" for lang, k, s in STEM_CASES]
)
def test_a_negation_or_a_deferral_is_never_a_yes(
    step: str, language: str, kind: str, stem: str
) -> None:
    asking = step.split(":")[-1]
    for text in variants(stem):
        for intent in (None, "affirm"):
            reading = interpret(message(text, intent), asking, filled_for(step), TODAY)
            assert reading.answer is not True, (text, intent, reading)
            assert reading.given.get("with_jht") is not True, (text, intent, reading)
            assert reading.corrections.get("with_jht") is not True, (text, intent, reading)


@pytest.mark.parametrize(
    ("language", "kind", "stem"), STEM_CASES, ids=[f"{k}-{lang}-{s}" for lang, k, s in STEM_CASES]
)
def test_erasure_and_dispute_confirmations_never_read_a_no_as_yes(
    language: str, kind: str, stem: str
) -> None:
    """actions/my_data.py (erasure) and actions/agents.py (dispute) call yes_no directly."""
    for text in variants(stem):
        for intent in (None, "affirm", "deny"):
            assert yes_no(Message(text, intent, 0.95 if intent else 0.0)) is not True, text


@pytest.mark.parametrize(
    ("language", "kind", "stem"), STEM_CASES, ids=[f"{k}-{lang}-{s}" for lang, k, s in STEM_CASES]
)
def test_a_plain_negation_or_deferral_is_a_no(language: str, kind: str, stem: str) -> None:
    """Alone or with a particle, it is not only "not yes" but a no: nothing asked again."""
    for tail in ("", " ya kak", " deh", " min"):
        assert yes_no(Message(stem + tail)) is False, stem + tail


@pytest.mark.parametrize(
    "text",
    [
        "mau tapi nanti", "boleh, tapi jangan sekarang", "ikut jht tapi nanti dulu",
        "setuju, tapi pikir2 dulu", "iya ikut, eh tidak", "mau gak ya",
    ],
)  # fmt: skip
def test_a_yes_beside_a_no_is_asked_again(text: str) -> None:
    assert yes_no(Message(text, "affirm", 0.95)) is None


YESES = [
    "iya", "ya kak", "boleh", "mau", "setuju", "lanjut", "ok deh", "nggih", "inggih",
    "enggih", "leres", "purun", "gelem", "muhun", "sumuhun", "mangga", "sok mangga",
    "gpp", "gapapa", "tidak apa-apa", "gak papa", "ga apa2", "tidak masalah", "ora popo",
    "teu nanaon", "sekalian jht", "pakai jht", "plus jht", "ikut jht", "tiga program",
    # Issue 28: Minang, Manado, Banjar
    "iyo", "yo", "iyo bana", "batua", "alah bana", "bana", "iyo, ikuik jht", "kada papa",
    "nyanda apa-apa", "indak apa-apa", "inggih",
]  # fmt: skip
JHT_NOS = ["yang murah aja", "jkk jkm aja", "dua program saja", "jkk jkm doang", "ya, tanpa jht"]


@pytest.mark.parametrize("text", YESES)
def test_a_yes_in_any_of_the_three_languages_is_a_yes(text: str) -> None:
    assert yes_no(Message(text)) is True
    assert interpret(message(text, None), "with_jht", dict(PROFILE), TODAY).answer is True


@pytest.mark.parametrize("text", JHT_NOS)
def test_choosing_the_cheaper_programmes_is_no_jht(text: str) -> None:
    assert interpret(message(text, "affirm"), "with_jht", dict(PROFILE), TODAY).answer is False


def test_nothing_at_the_summary_is_wrong_is_a_yes() -> None:
    filled = {**PROFILE, "with_jht": True}
    for text in ("tidak ada yang salah", "ga ada yg salah kak"):
        reading = interpret(message(text, None), "registration_confirmed", filled, TODAY)
        assert reading.answer is True, (text, reading)
