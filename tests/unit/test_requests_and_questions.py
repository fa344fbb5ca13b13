"""Issue 27, family 5: trades said in words map to the right occupation, other services are
told where to go, the age limits come from the settings, and a message that plainly asks
to register starts it even when the classifier is unsure."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.questions import ActionAnswerQuestion, ActionBotChallenge, ActionSuggestTopics
from bot.app_context import get_app_context
from bot.infra.settings import PROJECT_ROOT
from bot.understanding.handoff_messages import wants_a_person
from bot.understanding.interpreter import Message, question_topic, wants_to_register
from bot.understanding.outside_topics import outside_topic, outside_topics
from nlu.parsing.lookups import find_occupations, occupation_label

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def _tracker(
    text: str,
    intent: str,
    confidence: float = 0.9,
    loop: str | None = None,
    entities: list[dict[str, Any]] | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": [{"name": intent, "confidence": confidence}],
    }
    return Tracker(
        sender_id="web:test",
        slots={},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": loop} if loop else {},
        latest_action_name="action_listen",
    )


async def _run(action: Any, tracker: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages, events


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("saya jahit baju di rumah", "penjahit"),
        ("penjahit rumahan", "penjahit"),
        ("tukang jait", "penjahit"),  # was "tukang": a construction worker
        ("nerima jahitan dari tetangga", "penjahit"),
        ("narik becak di pasar", "becak"),  # was "sopir"
        ("saya tukang becak", "becak"),
        ("bentor", "becak"),
        ("tukang pijet", "tenaga_lepas"),
        ("tukang urut", "tenaga_lepas"),  # was "tukang"
        ("buruh cuci", "pekerja_rumah_tangga"),
        ("tukang setrika", "pekerja_rumah_tangga"),  # was "tukang"
        ("jualan online", "pedagang"),
        ("olshop baju", "pedagang"),
        ("peternak kambing", "peternak"),
        ("anyam tikar pandan", "pengrajin"),
        ("tukang cukur", "tenaga_lepas"),
        ("sopir angkot", "sopir"),
    ],
)
def test_trades_in_words_map_to_the_right_occupation(text: str, code: str) -> None:
    assert [f.value for f in find_occupations(text)] == [code]


def test_the_becak_code_has_its_own_label() -> None:
    assert occupation_label("becak") == "Pengemudi becak"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("bpjs kesehatan saya nunggak gimana?", "health"),
        ("mau ganti faskes", "health"),
        ("kartu KIS ibu hilang", "health"),
        ("bisa minjam duit buat modal?", "loan"),
        ("ada pinjaman lunak?", "loan"),
        ("bansos bulan ini kapan", "social_aid"),
        ("pkh saya dicoret", "social_aid"),
        ("jht itu apa", None),
        ("daftar bpjs ketenagakerjaan", None),
        ("Kuriyah", None),  # a name, not "kur"
    ],
)
def test_other_services_are_named(text: str, topic: str | None) -> None:
    assert outside_topic(text) == topic


def test_every_other_service_has_its_answer() -> None:
    for topic in outside_topics():
        assert f"utter_outside_{topic}" in DOMAIN["responses"], topic


def test_a_question_about_another_service_is_not_a_programme_question() -> None:
    """Inside the form: "bpjs" must not make it the programme blurb."""
    message = Message(
        text="kalau bpjs kesehatan gimana?", intent="ask_about_programme", confidence=0.4
    )
    assert question_topic(message) == "out_of_scope"


async def test_inside_a_form_another_service_gets_where_to_go_and_no_blurb() -> None:
    messages, _ = await _run(
        ActionAnswerQuestion(),
        _tracker("kalau mau pinjam uang bisa?", "out_of_scope", loop="registration_form"),
    )
    assert [m["response"] for m in messages] == ["utter_outside_loan"]
    messages, _ = await _run(
        ActionAnswerQuestion(),
        _tracker("hasil bola semalam", "out_of_scope", loop="registration_form"),
    )
    assert [m["response"] for m in messages] == ["utter_out_of_scope_in_form"]
    messages, _ = await _run(ActionAnswerQuestion(), _tracker("hasil bola semalam", "out_of_scope"))
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


async def test_the_age_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_app_context().settings
    monkeypatch.setattr(settings, "min_registration_age", 17)
    monkeypatch.setattr(settings, "max_registration_age", 61)
    messages, _ = await _run(
        ActionAnswerQuestion(), _tracker("umur 70 bisa ikut?", "ask_requirements")
    )
    assert messages[0]["response"] == "utter_answer_ask_requirements"
    assert (messages[0]["minimum"], messages[0]["maximum"]) == (17, 61)
    text = DOMAIN["responses"]["utter_answer_ask_requirements"][0]["text"]
    assert "{minimum}" in text and "{maximum}" in text


def test_the_family_answer_covers_a_relative_without_a_phone() -> None:
    text = DOMAIN["responses"]["utter_answer_register_someone_else"][0]["text"]
    assert "tidak punya HP" in text and "agen Perisai" in text and "nomor HP keluarga" in text


@pytest.mark.parametrize(
    "text",
    ["bisa telpon orangnya?", "hubungkan ke cs", "mau ngobrol sama petugas", "nelpon admin bisa?"],
)
def test_every_way_of_asking_for_a_person_is_a_request_for_one(text: str) -> None:
    assert wants_a_person(text)


def test_asking_about_a_phone_number_is_not_a_request_for_a_person() -> None:
    assert not wants_a_person("nomor telepon kantor bpjs berapa")


async def test_a_bot_question_offers_a_person_and_never_sends_to_the_office() -> None:
    messages, _ = await _run(ActionBotChallenge(), _tracker("kamu robot ya", "bot_challenge"))
    assert [m["response"] for m in messages] == ["utter_iamabot"]
    reply = DOMAIN["responses"]["utter_iamabot"][0]
    assert [b["payload"] for b in reply["buttons"]] == ["/ask_human"]
    assert "datangi" not in reply["text"]


async def test_an_unsure_reading_of_a_request_with_data_starts_the_registration() -> None:
    text = "mau daftar, nama Budi Santoso, nik 3571021708800001"
    nik = {"entity": "nik", "value": "3571021708800001", "start": 29, "end": 45}
    _, events = await _run(
        ActionSuggestTopics(), _tracker(text, "nlu_fallback", 0.45, entities=[nik])
    )
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["registration_requested"] is True
    assert slots["early_fields"]["nik"] == "3571021708800001"


async def test_an_unsure_reading_of_anything_else_still_offers_topics() -> None:
    _, events = await _run(ActionSuggestTopics(), _tracker("hmm entahlah", "nlu_fallback", 0.45))
    assert {
        "event": "slot",
        "name": "registration_requested",
        "value": None,
        "timestamp": None,
    } in [{**e, "timestamp": None} for e in events]


@pytest.mark.parametrize(
    "text",
    [
        "kulo badhe ndaftar, nik 3571021708800001",
        "abdi hoyong ngadaptar, nami abdi Asep",
        "ambo nio mandaftar, namo ambo Rustam",
        "ulun handak badaftar, ngaran ulun Iwan",
        "aye mao daftar, nama aye Mpok Ani",
        "wa'alaikum salam, saya mau daftar, nama Sutini",
    ],
)
def test_a_request_with_data_in_regional_wording_wants_to_register(text: str) -> None:
    """Whatever the classifier made of it (the data makes it look like "inform")."""
    assert wants_to_register(Message(text=text, intent="inform", confidence=0.9))


@pytest.mark.parametrize(
    "text", ["daftarin suami saya", "gimana cara daftar?", "saya petani", "nama saya Umpat"]
)
def test_other_messages_do_not_want_to_register(text: str) -> None:
    assert not wants_to_register(Message(text=text, intent="inform", confidence=0.9))


@pytest.mark.parametrize(
    "text", ["kalau kecelakaan dibawa ke rumah sakit mana?", "utang iuran 3 bulan gimana?"]
)
def test_questions_about_the_programme_are_not_other_services(text: str) -> None:
    assert outside_topic(text) is None


def test_a_question_about_registering_family_in_the_form_has_its_topic() -> None:
    message = Message(
        text="suami saya juga mau daftar gimana?", intent="register_someone_else", confidence=0.8
    )
    assert question_topic(message) == "register_someone_else"
