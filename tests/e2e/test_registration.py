"""Registration through the gateway, checked in the database afterwards."""

from __future__ import annotations

import itertools
import uuid
from datetime import date

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.db.models import AuditEvent, Participant
from bot.infra.crypto import PiiCipher
from bot.services.participants import nik_lookup_hash
from tests.conftest import TEST_PII_KEY
from tests.e2e.conftest import Stack, participant_by_nik, reply_texts, start_registration
from tests.support.stack import ACTION_SERVER_TOKEN

_SERIALS = itertools.count(1)


def _unique_nik() -> str:
    """A structurally valid NIK (East Java, born 17-08-1980), unique in the test session."""
    return f"357102170880{next(_SERIALS):04d}"


def test_a_complete_registration_one_question_at_a_time(stack: Stack, db) -> None:
    sender, nik = f"e2e-{uuid.uuid4().hex[:8]}", _unique_nik()
    start_registration(stack, sender)
    assert "NIK" in reply_texts(stack.chat(sender, "nama saya Budi Santoso"))[-1]
    assert "Tanggal lahir" in reply_texts(stack.chat(sender, nik))[-1]
    assert "Nomor HP" in reply_texts(stack.chat(sender, "17 agustus 1980"))[-1]
    assert "desa" in reply_texts(stack.chat(sender, "0812 3456 7890"))[-1]
    assert "pekerjaan" in reply_texts(stack.chat(sender, "desa Karanglo"))[-1]
    assert "penghasilan" in reply_texts(stack.chat(sender, "nelayan"))[-1]
    assert "JHT" in reply_texts(stack.chat(sender, "1 juta"))[-1]
    summary = reply_texts(stack.chat(sender, "ya"))[-1]
    assert "Desa: Karanglo, Kerek, Tuban" in summary
    assert "Iuran: Rp36.800/bulan" in summary
    done, link = reply_texts(stack.chat(sender, "ya, daftarkan"))[-2:]
    assert "Nomor pendaftaran Sadar Anda: SDR-" in done
    # A web chat cannot receive reminders: the registration ends by linking WhatsApp.
    assert link.startswith("Agar pengingat iuran sampai ke HP Anda, kami kirim kode 6 angka")
    assert "bukan nomor KPJ resmi" in done

    participant = participant_by_nik(db, nik)
    assert participant is not None
    assert participant.reference in done
    assert (participant.village, participant.district, participant.regency) == (
        "Karanglo",
        "Kerek",
        "Tuban",
    )
    assert (participant.occupation, participant.with_jht) == ("nelayan", True)
    assert participant.monthly_contribution == 36_800
    assert participant.status == "awaiting_first_payment"
    assert participant.channel == "web" and participant.consent_record_id is not None
    cipher = PiiCipher(stack.settings.pii_encryption_keys.get_secret_value())
    assert cipher.decrypt(participant.full_name_encrypted) == "Budi Santoso"
    assert cipher.decrypt(participant.phone_encrypted) == "+6281234567890"
    assert cipher.decrypt(participant.birth_date_encrypted) == date(1980, 8, 17).isoformat()
    with db() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.participant_id == participant.id)
            .order_by(AuditEvent.id)
        ).all()
    # Registered, then a code sent to link the WhatsApp number it gave.
    assert actions == ["registered", "link_code_add"]


def test_several_fields_in_one_message_and_a_correction_at_the_summary(stack: Stack, db) -> None:
    sender, nik = f"e2e-{uuid.uuid4().hex[:8]}", _unique_nik()
    start_registration(stack, sender)
    reply = stack.chat(
        sender,
        f"nama Siti Aminah, NIK {nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]}, lahir 17-8-1980, "
        "hp 081234500011, pedagang, 2 juta",
    )
    assert "desa" in reply_texts(reply)[-1], "only the missing village is asked"
    stack.chat(sender, "bendosari")
    summary = reply_texts(stack.chat(sender, "tidak, jkk jkm saja"))[-1]
    assert "Penghasilan: Rp2.000.000/bulan" in summary and "Program: JKK + JKM\n" in summary
    corrected = reply_texts(stack.chat(sender, "salah, penghasilan saya 1,5 juta"))[-1]
    assert "Penghasilan: Rp1.500.000/bulan" in corrected
    stack.chat(sender, "ya")
    participant = participant_by_nik(db, nik)
    assert participant is not None
    cipher = PiiCipher(stack.settings.pii_encryption_keys.get_secret_value())
    assert cipher.decrypt(participant.income_encrypted) == "1500000"


def test_the_same_nik_from_another_sender_is_refused(stack: Stack, db) -> None:
    nik = _unique_nik()
    first = f"e2e-{uuid.uuid4().hex[:8]}"
    start_registration(stack, first)
    stack.chat(first, f"nama Ani Lestari NIK {nik} lahir 17-08-1980 hp 085712345678 petani 1 juta")
    stack.chat(first, "desa tanjung")
    stack.chat(first, "tidak")
    stack.chat(first, "ya")
    assert participant_by_nik(db, nik) is not None

    second = f"e2e-{uuid.uuid4().hex[:8]}"
    start_registration(stack, second)
    stack.chat(second, "Ani")
    texts = reply_texts(stack.chat(second, nik))
    # Another sender learns nothing about the first one's registration, only where to go.
    assert any("tidak bisa didaftarkan lewat chat" in t and "agen Perisai" in t for t in texts)
    assert not any("sudah terdaftar" in t for t in texts), texts
    # The holder's own conversation is told plainly.
    start_registration(stack, first)
    stack.chat(first, "Ani Lestari")
    assert any("sudah terdaftar" in t for t in reply_texts(stack.chat(first, nik)))
    with db() as session:
        count = (
            session.query(Participant)
            .filter(Participant.nik_hash == nik_lookup_hash(TEST_PII_KEY, nik))
            .count()
        )
    assert count == 1


def test_invalid_answers_say_what_to_send_and_keep_what_was_given(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    start_registration(stack, sender)
    stack.chat(sender, "Bambang Sutejo")
    assert "16 angka" in reply_texts(stack.chat(sender, "12345"))[0]
    assert "kode provinsi" in reply_texts(stack.chat(sender, "9971021708800001"))[0]
    mismatch = reply_texts(stack.chat(sender, f"{_unique_nik()}"))  # accepted
    assert "Tanggal lahir" in mismatch[-1]
    wrong = reply_texts(stack.chat(sender, "01-01-1990"))
    assert "tidak cocok dengan NIK" in wrong[0] and "17-08-1980" in wrong[0]
    assert "Nomor HP" in reply_texts(stack.chat(sender, "17-08-1980"))[-1]
    # The name given at the start is still there at the end.
    stack.chat(sender, "081234567899")
    stack.chat(sender, "karanglo")
    stack.chat(sender, "ojek")
    stack.chat(sender, "800 ribu")
    assert "Nama: Bambang Sutejo" in reply_texts(stack.chat(sender, "ya"))[-1]


def test_a_nik_past_the_age_limit_among_several_fields_is_told_not_a_server_error(
    stack: Stack, db
) -> None:
    """Name, NIK and birth date in one message from a woman of 71: the NIK stops the
    registration, and the fields around it must not be named back as noted (that raised
    KeyError 'nik' in the validator, and the resident read "ada gangguan" every time)."""
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    nik = f"3571024508550{next(_SERIALS) % 1000:03d}"  # a woman born 05-08-1955
    start_registration(stack, sender)
    said = " ".join(
        reply_texts(stack.chat(sender, f"nama Paini Sastro, NIK {nik}, lahir 05-08-1955"))
    )
    assert "gangguan" not in said.lower()
    assert "usianya 71 tahun" in said and "sampai 65 tahun" in said
    assert participant_by_nik(db, nik) is None


def test_cancel_in_the_middle_stores_no_participant(stack: Stack, db) -> None:
    sender, nik = f"e2e-{uuid.uuid4().hex[:8]}", _unique_nik()
    start_registration(stack, sender)
    stack.chat(sender, "Dewi")
    stack.chat(sender, nik)
    assert "dibatalkan" in reply_texts(stack.chat(sender, "batal"))[0]
    assert participant_by_nik(db, nik) is None
    # A new registration starts from the consent question, with nothing remembered.
    start_registration(stack, sender)


def _register(stack: Stack, sender: str, nik: str) -> str:
    start_registration(stack, sender)
    stack.chat(
        sender, f"nama Rina Susanti NIK {nik} lahir 17-08-1980 hp 081298765432 petani 1 juta"
    )
    stack.chat(sender, "karanglo")
    stack.chat(sender, "tidak")
    # The confirmation, then the code that links WhatsApp (a web chat cannot get reminders).
    done, link = reply_texts(stack.chat(sender, "ya"))[-2:]
    assert "kode 6 angka ke WhatsApp" in link
    return done


def test_status_check_shows_the_senders_own_registration(stack: Stack) -> None:
    sender, nik = f"e2e-{uuid.uuid4().hex[:8]}", _unique_nik()
    assert "Belum ada pendaftaran" in reply_texts(stack.chat(sender, "cek status saya"))[0]
    done = _register(stack, sender, nik)
    status = reply_texts(stack.chat(sender, "cek status"))[0]
    reference = done.split("Anda: ")[1].split(" ")[0]
    assert f"Pendaftaran Sadar {reference}" in status
    # Nothing to pay until BPJS Ketenagakerjaan accepts it: the status says where it stands.
    assert "Rp16.800/bulan, mulai dibayar setelah nomor KPJ terbit" in status
    assert "menunggu dikirim ke BPJS Ketenagakerjaan (sejak " in status
    assert "Tunggakan" not in status
    assert nik not in status, "the status reply does not repeat the NIK"


def test_deleting_my_data_after_confirmation(stack: Stack, db) -> None:
    sender, nik = f"e2e-{uuid.uuid4().hex[:8]}", _unique_nik()
    _register(stack, sender, nik)
    assert "Hapus data pendaftaran Anda" in reply_texts(stack.chat(sender, "hapus data saya"))[0]
    assert "tidak dihapus" in reply_texts(stack.chat(sender, "tidak"))[0]
    assert participant_by_nik(db, nik) is not None
    stack.chat(sender, "tolong hapus data saya")
    assert "sudah dihapus" in reply_texts(stack.chat(sender, "ya"))[0]
    assert participant_by_nik(db, nik) is None
    assert "Belum ada pendaftaran" in reply_texts(stack.chat(sender, "cek status"))[0]


def test_a_registration_resumes_after_rasa_and_the_action_server_restart(
    stack: Stack,
    db,
) -> None:
    sender, nik = f"e2e-{uuid.uuid4().hex[:8]}", _unique_nik()
    start_registration(stack, sender)
    stack.chat(sender, "Sri Wahyuni")
    assert "Tanggal lahir" in reply_texts(stack.chat(sender, nik))[-1]

    stack.restart("rasa", "actions")

    # The conversation continues at the pending question, with what was given kept.
    assert "Nomor HP" in reply_texts(stack.chat(sender, "17-08-1980"))[-1]
    stack.chat(sender, "081233344455")
    stack.chat(sender, "dlanggu")
    stack.chat(sender, "pedagang")
    stack.chat(sender, "2 juta")
    summary = reply_texts(stack.chat(sender, "tidak"))[-1]
    assert "Nama: Sri Wahyuni" in summary and "Dlanggu, Dlanggu, Mojokerto" in summary
    stack.chat(sender, "ya")
    assert participant_by_nik(db, nik) is not None
    # The restarted action server was sent Rasa's domain once (it asked, 449), then only
    # its digest with each of the calls that followed (nlu/action_calls.py).
    calls, domains = action_server_calls(stack)
    assert domains == 1 and calls >= 8


def action_server_calls(stack: Stack) -> tuple[float, float]:
    """Calls the action server answered since it started, and how many carried a domain."""
    scraped = httpx.get(
        f"http://127.0.0.1:{stack.settings.action_server_port}/metrics",
        params={"token": ACTION_SERVER_TOKEN},
        timeout=10,
    ).text
    families = {family.name: family for family in text_string_to_metric_families(scraped)}
    return (
        sum(sample.value for sample in families["sadar_action_calls"].samples),
        sum(sample.value for sample in families["sadar_action_callss_received"].samples
            if sample.name.endswith("_total")),
    )  # fmt: skip


def test_village_buttons_come_from_the_nik_regency(stack: Stack, db) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    nik = f"350401170880{next(_SERIALS):04d}"  # issued in Tulungagung (3504)
    start_registration(stack, sender)
    replies = stack.chat(sender, f"nama Wati NIK {nik} lahir 17-08-1980 hp 081355566677")
    question = replies[-1]
    assert "Kec. Tulungagung, Kab. Tulungagung" in question["text"]  # the NIK's kecamatan
    assert [b["title"] for b in question["buttons"]] == [
        "Bendosari, Kec. Ngantru, Kab. Tulungagung",
        "Tanjung, Kec. Kalidawir, Kab. Tulungagung",
    ]
    assert "pekerjaan" in reply_texts(stack.chat(sender, question["buttons"][1]["payload"]))[-1]
    stack.chat(sender, "petani")
    stack.chat(sender, "1 juta")
    summary = reply_texts(stack.chat(sender, "tidak"))[-1]
    assert "Desa: Tanjung, Kalidawir, Tulungagung" in summary
