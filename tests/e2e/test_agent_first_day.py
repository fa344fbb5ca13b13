"""A Perisai agent's first day, end to end from the agent's side (issue 28, point 7): every
command written in everyday words through the WhatsApp and Telegram stand-ins, each
resident served told on their own phone, and the village's cash book for the month
reconciling what the agent collected.

The stack's clock starts on E2E_CLOCK_START (Friday 20 November 2026, 09:00 WIB), so the
months below are facts of that day: November's contribution fell due on Monday the 16th
(the 15th is a Sunday) and is overdue; a resident registered today pays first for
December."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.app_context import AppContext
from bot.db.models import ConsentRecord, Participant, Ticket
from bot.infra.settings import PROJECT_ROOT
from bot.services.agents import enrol_agent
from bot.services.imports import import_villages
from tests.e2e.conftest import (
    ADMIN_PASSWORD,
    CONSENT_CONTENT_SID,
    Stack,
    TelegramUser,
    participant_by_nik,
)
from tests.support.clock import E2E_CLOCK_START
from tests.support.participants import make_participant
from tests.support.stack import RESIDENT_NOTICE_CONTENT_SID

#: A desa of the national register (35.23.08.2003) no other test serves or pays in: its
#: lists, tickets and cash book hold only what this day put there.
TRANTANG = ("Trantang", "Kerek", "Tuban")
#: The day and month of the stack's clock.
TODAY = E2E_CLOCK_START.date()
MONTH = f"{TODAY:%Y-%m}"

REFERENCE = re.compile(r"\bSDR-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
RECEIPT = re.compile(r"\bKWT-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
GROUP_RECEIPT = re.compile(r"\bJMP-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
TICKET = re.compile(r"\bT-\d+\b")
AMOUNT = re.compile(r"Rp(\d{1,3}(?:\.\d{3})*)")


@pytest.fixture
def context(stack: Stack) -> Iterator[AppContext]:
    context = AppContext.from_settings(stack.settings)
    yield context
    context.engine.dispose()


def _phone(prefix: str = "812") -> str:
    return f"+62{prefix}{uuid.uuid4().int % 10**7:07d}"


def _local(number: str) -> str:
    """How an agent reads a number off a phone: '0812 3456 789'."""
    local = "0" + number.removeprefix("+62")
    return f"{local[:4]} {local[4:8]} {local[8:]}"


def _found(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    assert match, f"{pattern.pattern} not in {text!r}"
    return match.group(0)


def _rupiah(text: str) -> int:
    """The first amount written in a reply ('Rp100.800' -> 100800)."""
    return int(_found(AMOUNT, text).removeprefix("Rp").replace(".", ""))


def _resident(
    context: AppContext,
    name: str,
    village: tuple[str, str, str],
    *,
    first_period: date = date(2026, 11, 1),
    paid_through: date | None = None,
    last_inbound_at: datetime | None = None,
) -> tuple[str, str]:
    """A resident registered earlier, reachable on their own WhatsApp; (number, reference)."""
    number = _phone()
    pid = make_participant(
        context, f"wa:{number}", first_period=first_period, paid_through=paid_through,
        last_inbound_at=last_inbound_at, village=village,
    )  # fmt: skip
    return number, _named(context, pid, name)


def _named(context: AppContext, participant_id: int, name: str) -> str:
    """Gives a participant a name of their own; their reference."""
    with context.sessions.begin() as session:
        reference = session.execute(
            update(Participant)
            .where(Participant.id == participant_id)
            .values(full_name_encrypted=context.cipher.encrypt(name))
            .returning(Participant.reference)
        ).scalar_one()
    return str(reference)


def _village_table(context: AppContext, tmp_path: Path, village: tuple[str, str, str]) -> None:
    """The administrator imports the village, as for every Desa Sadar village."""
    path = tmp_path / "villages.csv"
    path.write_text(
        "name,district,regency,province,households,officials\n"
        f"{village[0]},{village[1]},{village[2]},Jawa Timur,812,10\n"
    )
    report = import_villages(context.unit_of_work, path, context.clock)
    assert not report.errors


def _walk_in_up_to_consent(
    stack: Stack, agent: str, opening: str, name: str, nik: str, born: str, phone: str | None
) -> None:
    """The walk-in form from the agent's opening words (which may already carry the
    resident's number: ``phone`` None) to the consent question, answered as an agent
    talks."""
    said: list[str] = []

    def answer(text: str) -> str:
        replies = stack.whatsapp(agent, text)
        said.extend(replies)
        return replies[-1]

    assert "Nama lengkap warga" in answer(opening)
    assert said[0].startswith("Pendaftaran warga oleh agen")
    assert "NIK warga" in answer(f"namanya {name}")
    assert "Tanggal lahir warga" in answer(f"nik nya {nik}")
    asked = answer(f"lahir {born}")
    if phone is not None:
        assert "Nomor WhatsApp warga" in asked
        asked = answer(f"no wa nya {_local(phone)}")
    # Issue 28, point 3: the agent's own village is offered first, with its kecamatan.
    assert "Warga tinggal di desa/kelurahan apa? NIK-nya dari Kec. Kerek, Kab. Tuban" in asked
    assert "\n1. Trantang, Kec. Kerek, Kab. Tuban" in asked
    assert "pekerjaan warga" in answer("desa Trantang")
    assert "penghasilan warga" in answer("tani")
    answer("sebulan sekitar 1 juta")
    summary = answer("tidak usah jht")
    assert summary.startswith("Mohon periksa data warga")
    assert "Trantang" in summary and "Kerek" in summary
    # Every reply so far speaks about "warga" to the agent, never to them as "Anda", and
    # offers no "chat with an agent" to an agent (issue 28, point 2).
    assert not [reply for reply in said if re.search(r"\bAnda\b", reply)], said
    assert not any("Chat dengan agen" in reply for reply in said)
    consent = answer("ya sudah benar")
    assert consent.startswith("Terakhir, persetujuan warga")
    assert consent.endswith("1. Kirim kode ke HP warga\n2. Sudah saya bacakan")


def test_a_whatsapp_agent_s_first_day_in_their_own_words(
    stack: Stack, context: AppContext, db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Greeting, the lists, two walk-ins (one per consent path), cash and a jimpitan, all
    written as an agent speaks; every resident served hears it on their own WhatsApp, and
    the village's cash book for the month totals what the agent collected."""
    # The evening before: the administrator imports the village and enrols Dewi. Some
    # residents of Trantang registered themselves earlier; three owe contributions.
    _village_table(context, tmp_path, TRANTANG)
    agent = _phone("811")
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Dewi Lestari",
        phone=agent, village=TRANTANG[0], district=TRANTANG[1], regency=TRANTANG[2],
    )  # fmt: skip
    slamet, slamet_ref = _resident(
        context, "Slamet Riyadi", TRANTANG, first_period=date(2026, 9, 1)
    )
    sutini, sutini_ref = _resident(
        context, "Sutini Wahyuningsih", TRANTANG, paid_through=date(2026, 12, 1)
    )
    bambang, bambang_ref = _resident(
        context, "Bambang Prasetyo", TRANTANG, first_period=date(2026, 10, 1)
    )
    # Ahmad last wrote to Sadar a month ago: only the approved template reaches him.
    ahmad, ahmad_ref = _resident(
        context, "Ahmad Dahlan", TRANTANG,
        last_inbound_at=context.clock.now() - timedelta(days=30),
    )  # fmt: skip
    # Ratna registered on the web chat and has no WhatsApp yet; she pays from December.
    ratna_ref = _named(
        context,
        make_participant(
            context, f"web:{uuid.uuid4().hex}", first_period=date(2026, 12, 1), village=TRANTANG
        ),
        "Ratna Sari",
    )

    # First thing in the morning Slamet asks for a person from his own WhatsApp.
    asked = stack.whatsapp(slamet, "bu, saya mau ketemu petugas, mau bayar tunggakan")[-1]
    ticket = _found(TICKET, asked)
    assert "Dewi" in asked and "Trantang" in asked
    notice = stack.twilio.bodies(agent)[-1]
    assert notice.startswith(f"{ticket} · Sla*** R. (Trantang) minta bicara dengan agen.")
    assert "mau bayar tunggakan" in notice and "Slamet" not in notice
    assert stack.whatsapp(slamet, "rumah saya dekat balai desa, hp istri 081355551234") == []

    # --- The greeting: her name, her village and the menu -----------------------------
    greeting = stack.whatsapp(agent, "halo")
    assert greeting[0] == "Halo, Dewi! Selamat bertugas sebagai agen Perisai desa Trantang."
    menu = greeting[-1]
    assert menu.startswith("Menu agen Perisai (Trantang)")
    assert "3. Rekap bulan ini" in menu and "7. Catat jimpitan" in menu
    assert "Mau daftar sekarang" not in "\n".join(greeting)

    # --- Each list in words ---------------------------------------------------------------
    assert stack.whatsapp(agent, "rekap bulan ini")[-1] == (
        "Rekap November 2026: 0 warga didaftarkan, 0 pembayaran dicatat (Rp0)."
    )
    arrears = "\n".join(stack.whatsapp(agent, "siapa yang belum bayar iuran di desa saya?"))
    # The village's list (not Dewi's own "cek status"), most owed first, names masked.
    assert "3 warga Trantang menunggak iuran:" in arrears
    owed = re.findall(r"• (.+?) \((SDR-[0-9A-Z-]+)\): (\d+) bulan, (Rp[\d.]+)", arrears)
    assert owed == [
        ("Sla*** R.", slamet_ref, "3", "Rp50.400"),  # September to November
        ("Bam*** P.", bambang_ref, "2", "Rp33.600"),  # October and November
        ("Ahm*** D.", ahmad_ref, "1", "Rp16.800"),  # November
    ]
    assert sutini_ref not in arrears and ratna_ref not in arrears and "Slamet" not in arrears
    mine = stack.whatsapp(agent, "warga yang saya daftarkan")
    assert mine[-1] == "Belum ada warga yang Anda daftarkan lewat Sadar."
    assert not any("Nama lengkap warga" in reply for reply in mine)  # no walk-in started
    tickets = stack.whatsapp(agent, "ada tiket masuk?")
    assert tickets[0].startswith("Tiket terbuka (1):")
    assert f"• {ticket} (Trantang): menunggu jawaban Anda" in tickets[0]
    assert "hp istri 0813******34" in tickets[0] and "081355551234" not in tickets[0]
    unreachable = stack.whatsapp(agent, "warga yang belum punya wa")
    assert unreachable[0].startswith("1 warga Trantang belum bisa menerima pengingat:")
    assert f"• Rat*** S. ({ratna_ref}): daftar lewat web, belum ada WA/Telegram" in unreachable[0]
    assert "hubungkan wa" in unreachable[-1]

    # Dewi answers Slamet from her WhatsApp; he closes with a thank-you.
    sent = stack.whatsapp(agent, f"balas {ticket} Iya pak, nanti siang saya ke rumah bapak.")
    assert sent == [f"✓ Terkirim ke warga ({ticket})."]
    assert stack.twilio.bodies(slamet)[-1] == (
        "Dewi (agen Perisai): Iya pak, nanti siang saya ke rumah bapak."
    )
    assert "kembali ke Sadar" in stack.whatsapp(slamet, "oke bu, selesai, makasih")[-1]
    assert stack.twilio.bodies(agent)[-1] == f"{ticket} ditutup oleh warga (selesai)."

    # --- A walk-in who confirms with the code sent to their own WhatsApp -------------------
    sumarno, sumarno_nik = _phone(), "3523081708807201"
    _walk_in_up_to_consent(
        stack, agent, "ada warga mau daftar", "Sumarno Hadi", sumarno_nik, "17 agustus 1980",
        sumarno,
    )  # fmt: skip
    held = stack.whatsapp(agent, "kirim kode ke hp warga aja")[-1]
    assert held.startswith("Kode persetujuan sudah dikirim ke WhatsApp Sumarno Hadi")
    assert participant_by_nik(db, sumarno_nik) is None  # nothing stored yet
    # Sumarno never wrote to Sadar: the code travels in the approved template.
    [code_message] = stack.twilio.wait_for(sumarno, 1)
    assert code_message["ContentSid"] == CONSENT_CONTENT_SID
    variables = json.loads(code_message["ContentVariables"])
    assert variables["1"] == "Dewi Lestari"
    code = variables["2"]
    told_before = len(stack.twilio.to(agent))
    [registered] = stack.whatsapp(sumarno, f"setuju {code}")
    assert registered.startswith("Terima kasih, Sumarno Hadi. Persetujuan Anda tercatat")
    assert "didaftarkan oleh Dewi Lestari, agen Perisai desa Trantang" in registered
    assert "cek status" in registered
    sumarno_ref = _found(REFERENCE, registered)
    sumarno_row = participant_by_nik(db, sumarno_nik)
    assert sumarno_row is not None and sumarno_row.reference == sumarno_ref
    assert sumarno_row.registered_by_agent_id == agent_id
    assert (sumarno_row.village, sumarno_row.district) == ("Trantang", "Kerek")
    agent_told = stack.twilio.wait_for(agent, told_before + 1)[-1]["Body"]
    assert agent_told == (
        f"Sumarno Hadi sudah membalas kode dan terdaftar. Nomor pendaftaran Sadar: {sumarno_ref}."
    )

    # --- A walk-in who consents to the text read aloud -------------------------------------
    siti, siti_nik = _phone(), "3523086503907202"
    stack.whatsapp(siti, "halo")  # Siti wrote to Sadar this morning: plain text reaches her
    _walk_in_up_to_consent(
        stack, agent, f"daftarin warga ini, no wa {_local(siti)}", "Siti Aminah", siti_nik,
        "25-03-1990", None,
    )  # fmt: skip
    done = stack.whatsapp(agent, "sudah saya bacakan, warganya setuju")
    assert done[-2].startswith("Siti Aminah terdaftar (persetujuan dibacakan")
    siti_ref = _found(REFERENCE, done[-2])
    assert done[-1] == "Warga sudah diberi tahu lewat WhatsApp-nya."
    siti_notice = stack.twilio.bodies(siti)[-1]
    assert siti_notice.startswith("Halo Siti Aminah, Anda sudah didaftarkan ke BPJS")
    assert "oleh Dewi Lestari, agen Perisai desa Trantang" in siti_notice
    assert siti_ref in siti_notice and 'Ketik "cek status"' in siti_notice
    siti_row = participant_by_nik(db, siti_nik)
    assert siti_row is not None and siti_row.reference == siti_ref
    with context.sessions() as session:
        methods = {
            row.reference: session.scalar(
                select(ConsentRecord.method).where(ConsentRecord.id == row.consent_record_id)
            )
            for row in (sumarno_row, siti_row)
        }
    assert methods == {sumarno_ref: "one_time_code", siti_ref: "agent_read_aloud"}

    # --- Cash for one resident ---------------------------------------------------------------
    cash, cash_told = stack.whatsapp(agent, f"pak Slamet titip iuran tunai {slamet_ref} 3 bulan")
    assert cash.startswith(f"Tercatat: 3 bulan untuk Sla*** R. ({slamet_ref}), Rp50.400.")
    assert cash.endswith("Dibayar sampai November 2026.")  # his three months owed
    cash_receipt = _found(RECEIPT, cash)
    assert cash_told == "Warga sudah diberi tahu lewat WhatsApp-nya."
    slamet_notice = stack.twilio.bodies(slamet)[-1]
    assert slamet_notice.startswith(f"Halo, iuran BPJS Ketenagakerjaan Anda ({slamet_ref})")
    assert "tunai lewat Dewi Lestari, agen Perisai desa Trantang: 3 bulan, Rp50.400" in (
        slamet_notice
    )
    assert f"Kuitansi: {cash_receipt}" in slamet_notice
    assert "dibayar sampai November 2026" in slamet_notice and "cek status" in slamet_notice

    # --- A jimpitan: Sutini leads, Bambang and Ahmad are members ----------------------------
    group, group_told = stack.whatsapp(
        agent,
        f"catat jimpitan kelompok bu Sutini {sutini_ref}, anggotanya {bambang_ref} "
        f"dan {ahmad_ref}, 2 bulan",
    )
    assert group.startswith("Jimpitan tercatat: 3 anggota, 2 bulan, total Rp100.800.")
    group_receipt = _found(GROUP_RECEIPT, group)
    # Each member masked, with the month they are now paid through, from where they stood.
    assert group.endswith(
        f"- Sut*** W. ({sutini_ref}): Februari 2027\n"
        f"- Bam*** P. ({bambang_ref}): November 2026\n"
        f"- Ahm*** D. ({ahmad_ref}): Desember 2026"
    )
    assert "Sutini" not in group and "Bambang" not in group
    assert group_told == "Semua 3 anggota sudah diberi tahu lewat WhatsApp/Telegram-nya."
    member_receipts = {}
    for number, reference, through in (
        (sutini, sutini_ref, "Februari 2027"),
        (bambang, bambang_ref, "November 2026"),
    ):
        [told] = stack.twilio.bodies(number)  # their one message today
        assert told.startswith(f"Halo, iuran BPJS Ketenagakerjaan Anda ({reference})")
        assert "dicatat oleh Dewi Lestari, agen Perisai desa Trantang: 2 bulan, Rp33.600" in told
        assert f"kuitansi kelompok {group_receipt}" in told
        assert f"dibayar sampai {through}" in told and "cek status" in told
        member_receipts[reference] = _found(RECEIPT, told)
    [template] = stack.twilio.to(ahmad)
    assert template["ContentSid"] == RESIDENT_NOTICE_CONTENT_SID
    assert json.loads(template["ContentVariables"]) == {
        "1": "pembayaran jimpitan 2 bulan (Rp33.600), dibayar sampai Desember 2026",
        "2": "Dewi Lestari",
        "3": ahmad_ref,
    }

    # --- The end of the day -------------------------------------------------------------------
    collected = _rupiah(cash) + _rupiah(group.split("total ", 1)[1])
    assert collected == 151_200
    assert stack.whatsapp(agent, "laporan saya bulan ini")[-1] == (
        "Rekap November 2026: 2 warga didaftarkan, 4 pembayaran dicatat (Rp151.200)."
    )
    assert stack.whatsapp(agent, "tunggakan di desa saya")[-1] == (
        "Tidak ada warga Trantang yang menunggak. Terima kasih!"
    )
    mine_now = stack.whatsapp(agent, "lihat warga saya")[-1]
    assert mine_now.startswith("Warga yang Anda daftarkan (2):")
    assert f"Sum*** H. ({sumarno_ref})" in mine_now and f"Sit*** A. ({siti_ref})" in mine_now
    # Not yet handed over to BPJS: the agent sees that, not arrears (issue 29).
    assert f"Sit*** A. ({siti_ref}): menunggu dikirim ke BPJS" in mine_now

    # --- The Wadah's cash book for Trantang's November ---------------------------------------
    out = tmp_path / "kas-trantang.csv"
    exported = subprocess.run(
        [sys.executable, "-m", "bot.cli", "payments", "export", "--village", "Trantang",
         "--district", "Kerek", "--month", MONTH, "--output", str(out)],
        env=stack.environ, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert f"Trantang {MONTH}: 4 receipt(s), Rp151.200" in exported.stderr
    assert f"jimpitan {group_receipt} Rp100.800" in exported.stderr
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    *receipts, total = rows
    # One row per receipt, oldest first: the cash, then the jimpitan's three, leader first.
    assert [r["participant_reference"] for r in receipts] == [
        slamet_ref, sutini_ref, bambang_ref, ahmad_ref,
    ]  # fmt: skip
    assert [r["receipt"] for r in receipts[:3]] == [
        cash_receipt, member_receipts[sutini_ref], member_receipts[bambang_ref],
    ]  # fmt: skip
    assert len({r["receipt"] for r in receipts}) == 4 and RECEIPT.fullmatch(receipts[3]["receipt"])
    covered = {
        r["participant_reference"]: (
            r["member"], r["months"], r["period_from"], r["period_to"], int(r["amount"]),
            r["group_receipt"],
        )
        for r in receipts
    }  # fmt: skip
    assert covered == {
        slamet_ref: ("Sla*** R.", "3", "2026-09", "2026-11", 50_400, ""),
        sutini_ref: ("Sut*** W.", "2", "2027-01", "2027-02", 33_600, group_receipt),
        bambang_ref: ("Bam*** P.", "2", "2026-10", "2026-11", 33_600, group_receipt),
        ahmad_ref: ("Ahm*** D.", "2", "2026-11", "2026-12", 33_600, group_receipt),
    }
    assert {r["agent"] for r in receipts} == {"Dewi Lestari"}
    assert {r["paid_on"] for r in receipts} == {TODAY.isoformat()}
    in_group = [int(r["amount"]) for r in receipts if r["group_receipt"] == group_receipt]
    assert sum(in_group) == _rupiah(group.split("total ", 1)[1]) == 100_800
    assert total["receipt"] == "total" and int(total["amount"]) == collected
    assert int(total["amount"]) == sum(int(r["amount"]) for r in receipts)
    text = out.read_text(encoding="utf-8")
    assert "Slamet" not in text and "Sutini" not in text and "+62" not in text


def test_a_telegram_agent_answers_closes_and_is_handed_a_ticket(
    stack: Stack, context: AppContext
) -> None:
    """Rina works from Telegram: a resident's request for a person that names a topic
    reaches her with the village and the topic; her answer reaches the resident's
    WhatsApp; "selesai, makasih" closes it. Then an administrator hands her another
    village's ticket: she gets its last messages masked, the agent it was taken from is
    told, and so is the resident."""
    village = f"Sumberagung {uuid.uuid4().hex[:6]}"  # no other test's agent serves it
    rina_tg = 870_000 + uuid.uuid4().int % 10_000
    rina_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Rina Marlina",
        phone=_phone("813"), village=village, district="Kerek", regency="Tuban",
        telegram_user_id=rina_tg,
    )  # fmt: skip
    rina = TelegramUser(stack, rina_tg, "Rina")

    # The greeting shows her menu, as buttons.
    greeting = rina.says("halo")
    assert greeting[0]["text"] == (
        f"Halo, Rina! Selamat bertugas sebagai agen Perisai desa {village}."
    )
    menu = greeting[-1]
    assert menu["text"].startswith(f"Menu agen Perisai ({village})")
    buttons = [b["text"] for row in menu["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons[:3] == ["Warga yang saya daftarkan", "Tunggakan di desa saya", "Rekap bulan ini"]
    assert "Tiket warga" in buttons and "Catat jimpitan" in buttons

    # A resident of her village asks for a person, naming the topic: a ticket at once.
    yanti, yanti_ref = _resident(context, "Suryanti Wulandari", (village, "Kerek", "Tuban"))
    # One reply, the hand-over: not the claims answer the topic would otherwise get.
    [handed] = stack.whatsapp(yanti, "mau ngobrol sama petugas, soal klaim")
    ticket = _found(TICKET, handed)
    assert f"Rina, agen Perisai desa {village}" in handed and "selesai" in handed
    notice = stack.telegram_to(rina_tg)[-1]["text"]
    assert notice.startswith(f"{ticket} · Sur*** W. ({village}) minta bicara dengan agen.")
    assert "• mau ngobrol sama petugas, soal klaim" in notice  # the topic reaches her
    assert yanti not in notice and yanti_ref not in notice
    assert stack.whatsapp(yanti, "suami saya kecelakaan waktu melaut, bisa klaim jkk?") == []
    assert "warga: suami saya kecelakaan waktu melaut" in stack.telegram_to(rina_tg)[-1]["text"]

    # Her menu's ticket button lists it with its village.
    listed = rina.presses(menu, "Tiket warga")
    assert f"• {ticket} ({village}): menunggu jawaban Anda" in listed[0]["text"]
    answered = rina.says(f"balas {ticket} Bisa bu, bawa KTP, KK dan surat dari puskesmas ya.")
    assert [m["text"] for m in answered] == [f"✓ Terkirim ke warga ({ticket})."]
    assert stack.twilio.bodies(yanti)[-1] == (
        "Rina (agen Perisai): Bisa bu, bawa KTP, KK dan surat dari puskesmas ya."
    )
    # "selesai" with a thank-you around it closes the ticket; it is not relayed.
    back = stack.whatsapp(yanti, "selesai, makasih")
    assert back == ["Percakapan dengan agen selesai. Anda kembali ke Sadar (bot): ketik "
                    'pertanyaan Anda, atau "daftar".']  # fmt: skip
    assert stack.telegram_to(rina_tg)[-1]["text"] == f"{ticket} ditutup oleh warga (selesai)."
    with context.sessions() as session:
        closed = session.scalar(select(Ticket).where(Ticket.number == int(ticket[2:])))
        assert closed is not None
        assert (closed.state, closed.closed_because) == ("closed", "resident_done")

    # Another village's agent, Bagus on WhatsApp, has a ticket; the administrator hands it
    # to Rina.
    other_village = f"Sumberagung {uuid.uuid4().hex[:6]}"
    bagus = _phone("814")
    enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Bagus Santoso",
        phone=bagus, village=other_village, district="Kerek", regency="Tuban",
    )  # fmt: skip
    joko, _ = _resident(context, "Joko Susilo", (other_village, "Kerek", "Tuban"))
    second = _found(TICKET, "\n".join(stack.whatsapp(joko, "tolong sambungkan ke petugas")))
    assert second != ticket
    assert stack.twilio.bodies(bagus)[-1].startswith(f"{second} · Jok*** S. ({other_village})")
    assert stack.whatsapp(joko, "NIK saya 3523031708800001 kok ditolak terus") == []
    rina_before = len(stack.telegram_to(rina_tg))

    with httpx.Client(base_url=stack.gateway_url) as admin:
        assert admin.post("/admin/login", data={"password": ADMIN_PASSWORD}).status_code == 303
        moved = admin.post(
            "/admin/tickets/reassign", data={"number": second[2:], "agent_id": str(rina_id)}
        )
        assert moved.status_code == 303

    [handed_over] = [m["text"] for m in stack.telegram_to(rina_tg)[rina_before:]]
    assert handed_over.startswith(f"{second} sekarang untuk Anda (warga desa {other_village}).")
    assert "• warga: tolong sambungkan ke petugas" in handed_over
    assert "• warga: NIK saya 3523**********01 kok ditolak terus" in handed_over
    assert "3523031708800001" not in handed_over  # the NIK masked
    assert stack.twilio.bodies(bagus)[-1] == (
        f"{second} dialihkan petugas Sadar ke Rina. Anda tidak perlu membalasnya lagi."
    )
    assert stack.twilio.bodies(joko)[-1] == (
        "Mulai sekarang yang membalas Anda: Rina (agen Perisai)."
    )
    # Only Rina answers it now.
    refused = stack.whatsapp(bagus, f"balas {second} Pak, NIK-nya dicek dulu ya.")
    assert refused == [f"{second} bukan tiket Anda. Pesan tidak dikirim."]
    rina.says(f"balas {second} Pak Joko, besok bawa KTP asli ke balai desa ya.")
    assert stack.twilio.bodies(joko)[-1] == (
        "Rina (agen Perisai): Pak Joko, besok bawa KTP asli ke balai desa ya."
    )
    assert "kembali ke Sadar" in stack.whatsapp(joko, "siap bu, selesai. terima kasih")[-1]
    assert stack.telegram_to(rina_tg)[-1]["text"] == f"{second} ditutup oleh warga (selesai)."
