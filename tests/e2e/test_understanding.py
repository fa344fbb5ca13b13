"""Everyday Indonesian through the whole stack: NLU, rules, actions."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import Stack, reply_texts

CONSENT_QUESTION_START = "Sebelum mendaftar, kami minta persetujuan Anda."


def test_premium_question_with_slang_income_is_computed(stack: Stack) -> None:
    replies = stack.chat(f"e2e-{uuid.uuid4().hex[:8]}", "kalau penghasilan sejuta bayar brp?")
    text = reply_texts(replies)[0]
    assert "Untuk penghasilan Rp1.000.000 per bulan" in text
    assert "Total JKK+JKM: Rp16.800/bulan" in text
    assert "total Rp36.800/bulan" in text


def test_javanese_question_gets_the_due_date(stack: Stack) -> None:
    replies = stack.chat(
        f"e2e-{uuid.uuid4().hex[:8]}", "mbayar iurane paling telat tanggal pinten?"
    )
    assert "tanggal 15" in reply_texts(replies)[0]


def test_question_during_consent_is_answered_then_consent_asked_again(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    stack.chat(sender, "mau daftar")
    texts = reply_texts(stack.chat(sender, "santunan kematiannya berapa?"))
    assert "Rp42 juta" in texts[0]
    assert texts[-1].startswith(CONSENT_QUESTION_START)
    assert "sudah kami catat" in reply_texts(stack.chat(sender, "ya setuju"))[0]


def test_question_during_registration_is_answered_then_the_pending_question_again(
    stack: Stack,
) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    stack.chat(sender, "mau daftar")
    stack.chat(sender, "ya")
    texts = reply_texts(stack.chat(sender, "syarat daftarnya apa aja?"))
    assert "NIK (16 angka di KTP)" in texts[0]
    assert texts[-1] == "Siapa nama lengkap Anda, sesuai KTP?"


def test_cancel_during_consent_stores_nothing(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    stack.chat(sender, "daftar")
    assert "pendaftaran dibatalkan" in reply_texts(stack.chat(sender, "gak jadi deh"))[0]
    assert "Tidak ada pendaftaran" in reply_texts(stack.chat(sender, "batal"))[0]


def test_unrelated_message_says_what_the_bot_can_do(stack: Stack) -> None:
    replies = stack.chat(
        f"e2e-{uuid.uuid4().hex[:8]}", "harga cabai rawit di pasar berapa sekarang"
    )
    assert "di luar yang bisa saya bantu" in replies[0]["text"]
    assert [b["payload"] for b in replies[0]["buttons"]][:1] == ["/start_registration"]


# --- issue 27, family 5: requests and questions said the way residents say them ----------
# Wordings written for these tests (not the training data's, not the issue's).

NAME_QUESTION = "Siapa nama lengkap Anda, sesuai KTP?"
REQUESTS_TO_REGISTER = [
    "aku arep melu daftar bpu",  # Javanese ngoko
    "kula kersa ndherek dados peserta bpjs",  # Javanese krama
    "abdi bade ngiring daftar bpjs",  # Sundanese
    "ambo nio ikuik mandaftar",  # Minang
    "ulun handak umpat badaftar bpjs",  # Banjar
    "aye mau ikut daftar bpjs",  # Betawi
    "assalamualaikum wr wb, saya mau daftar bpjs tk",  # a greeting, then the request
    "saya kamituwo di sini, mau daftar peserta bpu",  # a village official
    "disuruh anak saya daftar bpjs ketenagakerjaan",  # told by a child
    "saya ponakannya pak rahmat, saya mau ikut daftar",  # a relative introducing themselves
    "aku menantune bu sulastri, kata pak kades aku kudu daftar",  # ... and told to join
]


def _max_age() -> int:
    from bot.infra.settings import Settings

    return int(Settings.model_fields["max_registration_age"].default)


def test_requests_to_register_in_many_forms_start_the_consent_question(stack: Stack) -> None:
    missed = {}
    for text in REQUESTS_TO_REGISTER:
        replies = reply_texts(stack.chat(f"e2e-{uuid.uuid4().hex[:8]}", text))
        if not replies or not replies[-1].startswith(CONSENT_QUESTION_START):
            missed[text] = replies[:1]
    assert missed == {}


def test_a_first_message_with_the_request_and_data_keeps_the_data(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    first = reply_texts(
        stack.chat(sender, "mau daftar bpjs, nama Sri Wahyuni, nik 3571024508850002")
    )
    assert first[-1].startswith(CONSENT_QUESTION_START), first
    after = reply_texts(stack.chat(sender, "iya setuju"))
    joined = "\n".join(after)
    assert "sudah kami catat" in after[0]
    assert "Sri Wahyuni" in joined and "Dicatat" in joined, after
    assert NAME_QUESTION not in joined and "Berapa NIK" not in joined, after


def test_yes_to_the_greetings_offer_starts_the_registration(stack: Stack) -> None:
    for yes in ("iya boleh", "nggih"):
        sender = f"e2e-{uuid.uuid4().hex[:8]}"
        assert "Mau daftar sekarang?" in reply_texts(stack.chat(sender, "halo"))[0]
        texts = reply_texts(stack.chat(sender, yes))
        assert texts and texts[-1].startswith(CONSENT_QUESTION_START), (yes, texts)


def test_what_the_family_gets_asked_in_javanese_is_the_death_benefit(stack: Stack) -> None:
    texts = reply_texts(
        stack.chat(f"e2e-{uuid.uuid4().hex[:8]}", "menawi kula pejah, kulawarga angsal napa?")
    )
    assert "Rp42 juta" in texts[0] and "Iuran bulanan" not in texts[0], texts


def test_questions_inside_the_form_are_answered_then_the_pending_question_again(
    stack: Stack,
) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    stack.chat(sender, "daftar")
    assert reply_texts(stack.chat(sender, "ya"))[-1] == NAME_QUESTION
    expected = {
        "lha nek aku mati, anak bojoku oleh duit piro?": "Rp42 juta",
        "umurku wis 68, isih iso melu ora?": f"sampai {_max_age()} tahun",
        "simbah ora duwe hp, iso didaftarke ora?": "tidak punya HP",
        "kalau suami saya juga mau daftar gimana?": "Setiap peserta mendaftar",
        "bpjs kesehatan saya mati, bisa diurus di sini?": "BPJS Kesehatan",
        "ada pinjaman modal nggak?": "pinjaman",
        "bansos saya kok belum cair ya?": "bansos",
    }
    wrong = {}
    for question, answer in expected.items():
        texts = reply_texts(stack.chat(sender, question))
        blurb = any("melindungi pekerja dari risiko kerja" in t for t in texts)
        if not texts or answer not in texts[0] or blurb or texts[-1] != NAME_QUESTION:
            wrong[question] = texts
    assert wrong == {}


def test_every_way_of_asking_for_a_person_is_handed_over(stack: Stack) -> None:
    for text in ("bisa telpon orangnya?", "hubungkan ke cs", "mau ngobrol sama petugas"):
        texts = reply_texts(stack.chat(f"e2e-{uuid.uuid4().hex[:8]}", text))
        joined = "\n".join(texts)
        assert "teruskan" in joined and "program komputer" not in joined, (text, texts)
