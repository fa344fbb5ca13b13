"""Reading the messages of a conversation with a person
(bot/understanding/handoff_messages.py), in the words residents and agents type."""

from __future__ import annotations

import pytest

from bot.understanding.handoff_messages import (
    TicketAction,
    as_ticket_answer,
    read_agent_reply,
    wants_a_person,
    wants_the_bot_back,
)


@pytest.mark.parametrize(
    ("text", "number", "body"),
    [
        ("balas T-1042 iya bu, besok saya ke rumah", 1042, "iya bu, besok saya ke rumah"),
        ("Balas t1042: bawa KTP ya", 1042, "bawa KTP ya"),
        ("bls T 1001 siap", 1001, "siap"),
        ("BALAS T-7 oke\nbaris kedua", 7, "oke\nbaris kedua"),
    ],
)
def test_an_agents_answer_names_the_ticket(text: str, number: int, body: str) -> None:
    reply = read_agent_reply(text)
    assert reply is not None and (reply.ticket_number, reply.text) == (number, body)


@pytest.mark.parametrize(
    "text", ["balas T-1042", "balas saja nanti", "saya mau balas", "T-1042 oke", ""]
)
def test_no_answer_without_a_ticket_and_a_text(text: str) -> None:
    assert read_agent_reply(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "selesai", "Selesai.", "sudah selesai ya", "udah selesai makasih", "cukup pak",
        # Issue 28: with a thank-you around it, in the words residents use.
        "selesai, makasih", "udah selesai ya makasih banyak", "Selesai. Terima kasih banyak ya bu!",
        "makasih, selesai", "ok selesai, matur nuwun", "cukup sekian terima kasih",
        "hatur nuhun, tos selesai", "sudah cukup, terimakasih kak", "thank you, selesai",
    ],
)  # fmt: skip
def test_the_resident_ends_the_conversation(text: str) -> None:
    assert wants_the_bot_back(text)


@pytest.mark.parametrize(
    "text",
    [
        "belum selesai", "kapan selesainya?", "pendaftaran saya selesai belum", "cukupkah?",
        # A thank-you alone, a question, or more to say is still for the person.
        "makasih", "terima kasih bu", "selesai bayar kemarin", "sudah selesai kah klaimnya?",
        "sekian bulan belum dibalas", "",
    ],
)  # fmt: skip
def test_these_are_not_an_end(text: str) -> None:
    assert not wants_the_bot_back(text)


@pytest.mark.parametrize(
    "text",
    [
        "bisa ngobrol sama orang?",
        "mau bicara dengan petugas",
        "tolong sambungkan ke agen",
        "minta dihubungi petugas",
        "saya mau ngomong sama manusia",
        "hubungkan ke cs",
        "customer service dong",
        "minta bicara dengan petugas asli",
        "saya mau dibantu agen",
        # A person word with a possessive, and "a real one" said as residents say it.
        "pengen ngobrol sama agennya aja",
        "minta disambungkan ke petugase",
        "mau dibantu orang beneran, bukan mesin",
        "/ask_human",
    ],
)
def test_explicit_requests_for_a_person(text: str) -> None:
    assert wants_a_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "apa itu perisai",
        "agen perisai di mana",
        "kantor bpjs terdekat di mana",
        "nomor telepon bpjs berapa",
        "agen perisai bisa bantu bayar?",
    ],
)
def test_questions_about_agents_are_not_requests(text: str) -> None:
    assert not wants_a_person(text)


@pytest.mark.parametrize(
    ("text", "action"),
    [("ambil T-1042", TicketAction.TAKE), ("Oper t1042", TicketAction.PASS),
     ("lempar T-1042!", TicketAction.PASS)],
)  # fmt: skip
def test_an_agent_takes_or_passes_a_ticket(text: str, action: TicketAction) -> None:
    reply = read_agent_reply(text)
    assert reply is not None and (reply.ticket_number, reply.action) == (1042, action)


def test_a_telegram_reply_to_a_forwarded_question_answers_its_ticket() -> None:
    notice = "T-1042 · warga: iuran saya berapa?\nBalas: balas T-1042 <pesan>"
    assert as_ticket_answer(notice, "Rp16.800 bu") == "balas T-1042 Rp16.800 bu"
    assert as_ticket_answer(notice, "balas T-1042 sudah") == "balas T-1042 sudah"
    assert as_ticket_answer("Menu agen Perisai", "2") == "2"
