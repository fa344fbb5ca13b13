"""Messages through the gateway to the real Rasa server and action server; then the database."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from bot.db.engine import make_engine, make_session_factory
from bot.db.models import ConsentRecord
from bot.infra.privacy import keyed_hash
from tests.conftest import TEST_PII_KEY
from tests.e2e.conftest import Stack

CONSENT_QUESTION_START = "Sebelum mendaftar, kami minta persetujuan Anda."


def _consent_rows(stack: Stack, sender_id: str) -> list[ConsentRecord]:
    engine = make_engine(stack.settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            return list(
                session.scalars(
                    select(ConsentRecord).where(
                        ConsentRecord.sender_hash == keyed_hash(TEST_PII_KEY, sender_id)
                    )
                )
            )
    finally:
        engine.dispose()


@pytest.fixture
def sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


def test_greeting_is_answered_in_indonesian_from_the_domain(stack: Stack, sender: str) -> None:
    replies = stack.chat(sender, "halo")
    assert replies[0]["text"].startswith("Halo! Saya Sadar")
    assert replies[0]["buttons"] == [
        {"title": "Daftar sekarang", "payload": "/start_registration"},
        {"title": "Besar iuran", "payload": "/ask_contribution"},
        {"title": "Manfaatnya", "payload": "/ask_about_programme"},
        {"title": "Cek status", "payload": "/check_status"},
    ]


def test_consent_form_records_a_granted_decision(stack: Stack, sender: str) -> None:
    question = stack.chat(sender, "saya mau daftar bpjs")
    assert question[0]["text"].startswith(CONSENT_QUESTION_START)
    assert [b["title"] for b in question[0]["buttons"]] == ["Ya, setuju", "Tidak"]

    done = stack.chat(sender, "iya setuju")
    assert "persetujuan Anda sudah kami catat" in done[0]["text"]

    rows = _consent_rows(stack, stack.web_sender(sender))
    assert len(rows) == 1
    assert rows[0].granted is True
    assert rows[0].channel == "web"
    assert rows[0].wording == question[0]["text"], "the stored wording is exactly what was shown"


def test_declining_records_the_refusal_and_nothing_else(stack: Stack, sender: str) -> None:
    stack.chat(sender, "daftar")
    replies = stack.chat(sender, "/deny")  # the "Tidak" button's payload
    assert "tidak menyimpan data pendaftaran" in replies[0]["text"]
    rows = _consent_rows(stack, stack.web_sender(sender))
    assert [r.granted for r in rows] == [False]


def test_an_unclear_answer_says_what_to_send_and_asks_again(stack: Stack, sender: str) -> None:
    stack.chat(sender, "mau daftar")
    replies = stack.chat(sender, "hmm nanti saya tanya suami dulu soal uangnya gimana")
    texts = [r["text"] for r in replies]
    assert any('jawab "Ya"' in t for t in texts), texts
    assert texts[-1].startswith(CONSENT_QUESTION_START)
    assert _consent_rows(stack, stack.web_sender(sender)) == []
    assert "persetujuan Anda sudah kami catat" in stack.chat(sender, "ya")[0]["text"]


def test_rasa_36_runs_the_current_sdk_form_and_slot_events(stack: Stack, sender: str) -> None:
    """Rasa 3.6 (Python 3.10) and the current rasa-sdk (Python 3.11+) agree on the wire:
    the form activates, the validation action's SlotSet lands, the form completes."""
    stack.chat(sender, "mau daftar")
    stack.chat(sender, "ya")
    events = stack.tracker(stack.web_sender(sender))["events"]
    loops = [e.get("name") for e in events if e["event"] == "active_loop"]
    # consent_form completes; once consent is granted a rule starts registration_form.
    assert loops == ["consent_form", None, "registration_form"]
    slot_sets = [(e["name"], e["value"]) for e in events if e["event"] == "slot"]
    assert ("consent_given", True) in slot_sets
    assert ("consent_given", None) in slot_sets  # asked again on the next "daftar"
    assert slot_sets[-1] == ("requested_slot", "full_name")
    actions = [e["name"] for e in events if e["event"] == "action"]
    assert "action_record_consent" in actions


def test_conversations_are_separate_per_sender(stack: Stack, sender: str) -> None:
    stack.chat(sender, "mau daftar")
    other = stack.chat(f"{sender}-other", "ya")
    assert "persetujuan Anda sudah kami catat" not in (other[0].get("text") or "")
    assert _consent_rows(stack, stack.web_sender(f"{sender}-other")) == []
