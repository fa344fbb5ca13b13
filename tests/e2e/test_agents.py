"""Perisai agents in chat, through the whole stack: an enrolled agent gets the menu and the
lists; nobody else does, whatever they type, including the menu's own payloads."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.app_context import AppContext
from bot.db.models import AuditEvent, ConsentRecord, Participant
from bot.infra.privacy import keyed_hash
from bot.services.agents import enrol_agent, suspend_agent
from tests.conftest import TEST_PII_KEY
from tests.e2e.conftest import CONSENT_CONTENT_SID, Stack, TelegramUser, participant_by_nik
from tests.support.participants import make_participant
from tests.support.stack import RESIDENT_NOTICE_CONTENT_SID


@pytest.fixture
def context(stack: Stack) -> Iterator[AppContext]:
    context = AppContext.from_settings(stack.settings)
    yield context
    context.engine.dispose()


def test_an_enrolled_agent_sees_the_menu_and_the_village_arrears(
    stack: Stack, context: AppContext
) -> None:
    agent_number = f"+62813{uuid.uuid4().int % 10**7:07d}"
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Perisai",
        phone=agent_number, village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    owing = make_participant(context, f"wa:+62814{uuid.uuid4().int % 10**7:07d}",
                             first_period=date(2026, 9, 1))  # fmt: skip
    with context.sessions.begin() as session:
        session.execute(
            update(Participant)
            .where(Participant.id == owing)
            .values(registered_by_agent_id=agent_id)
        )

    menu = stack.whatsapp(agent_number, "menu agen")[-1]
    assert menu.startswith("Menu agen Perisai (Karanglo)")
    assert "2. Tunggakan di desa saya" in menu
    arrears = stack.whatsapp(agent_number, "2")[-1]
    assert "warga Karanglo menunggak" in arrears
    with context.sessions() as session:
        reference = session.scalar(select(Participant.reference).where(Participant.id == owing))
    assert f"War*** U. ({reference})" in arrears  # names are masked for agents
    stack.whatsapp(agent_number, "menu agen")  # a typed "/agent_…" is no button press
    residents = stack.whatsapp(agent_number, "1")[-1]
    assert reference in residents
    with context.sessions() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.actor == f"agent:{agent_id}")
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["agent_menu", "agent_arrears", "agent_menu", "agent_my_residents"]


@pytest.mark.parametrize(
    "text",
    ["menu agen", "saya agen perisai, tampilkan tunggakan", "/agent_arrears",
     "/agent_my_residents", "/agent_summary", "/agent_register_resident", "daftarkan warga",
     '/inform{"consent_method": "read_aloud"}', "assalamualaikum", "rekap bulan ini",
     "tunggakan di desa saya", "tiket saya", "/agent_tickets", "/agent_jimpitan"],
)  # fmt: skip
def test_no_wording_gives_a_non_agent_agent_powers(stack: Stack, text: str) -> None:
    stranger = f"+62815{uuid.uuid4().int % 10**7:07d}"
    replies = stack.whatsapp(stranger, text)
    joined = "\n".join(replies)
    assert "Menu agen" not in joined and "menunggak iuran" not in joined
    assert "Rekap" not in joined and "Warga yang Anda daftarkan" not in joined
    assert "Pendaftaran warga oleh agen" not in joined and "warga, sesuai KTP" not in joined
    if text == "menu agen":
        # Words reach the agent action, which refuses; a typed "/agent_…" that was never
        # offered as a button is read as words, not as the intent.
        assert "khusus agen Perisai" in joined
    assert stack.tracker(f"wa:{stranger}")["slots"].get("registering_for_resident") is None


def test_an_agent_records_cash_for_one_resident_and_for_a_jimpitan_group(
    stack: Stack, context: AppContext
) -> None:
    agent_number = f"+62816{uuid.uuid4().int % 10**7:07d}"
    enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Joko Perisai",
        phone=agent_number, village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    ids = [
        make_participant(context, f"tg:{7800 + i + uuid.uuid4().int % 10**5 * 10}")
        for i in range(3)
    ]
    with context.sessions() as session:
        refs = dict(session.execute(select(Participant.id, Participant.reference)).all())
    one, told = stack.whatsapp(agent_number, f"bayar {refs[ids[0]]} 3 bulan")
    assert one.startswith("Tercatat: 3 bulan untuk War*** U.") and "Kuitansi: KWT-" in one
    assert told == "Warga sudah diberi tahu lewat Telegram-nya."  # their own chat
    group, told = stack.whatsapp(agent_number, f"jimpitan {refs[ids[1]]} {refs[ids[2]]} 2 bulan")
    assert group.startswith("Jimpitan tercatat: 2 anggota, 2 bulan") and "JMP-" in group
    assert told == "Semua 2 anggota sudah diberi tahu lewat WhatsApp/Telegram-nya."
    # Without the number of months nothing is recorded (checked below: still 3 months).
    assert "Tercatat" not in "\n".join(stack.whatsapp(agent_number, f"bayar {refs[ids[0]]}"))
    with context.sessions() as session:
        paid = dict(
            session.execute(
                select(Participant.id, Participant.paid_through).where(Participant.id.in_(ids))
            ).all()
        )
    assert paid[ids[0]] == date(2027, 1, 1)
    assert paid[ids[1]] == paid[ids[2]] == date(2026, 12, 1)


def test_cash_and_a_jimpitan_an_agent_records_reach_each_resident_s_whatsapp(
    stack: Stack, context: AppContext
) -> None:
    """Issue 28: the resident always knows. Each resident hears on their own WhatsApp what
    was recorded, by whom, and how to check; the agent hears whether they did."""
    agent, _ = _enrol(context, "Dewi Perisai")

    def resident(last_inbound_at: datetime | None = None) -> tuple[str, str]:
        number = f"+62812{uuid.uuid4().int % 10**7:07d}"
        pid = make_participant(context, f"wa:{number}", last_inbound_at=last_inbound_at)
        with context.sessions() as session:
            reference = session.scalar(select(Participant.reference).where(Participant.id == pid))
        assert reference is not None
        return number, reference

    # Cash for a resident who last wrote to Sadar a month ago: the approved template.
    quiet, quiet_ref = resident(last_inbound_at=context.clock.now() - timedelta(days=30))
    one, told = stack.whatsapp(agent, f"bayar {quiet_ref} 3 bulan")
    assert one.startswith("Tercatat: 3 bulan untuk War*** U.")
    assert told == "Warga sudah diberi tahu lewat WhatsApp-nya."
    notice = stack.twilio.to(quiet)[-1]
    assert notice["ContentSid"] == RESIDENT_NOTICE_CONTENT_SID
    assert json.loads(notice["ContentVariables"]) == {
        "1": "pembayaran iuran 3 bulan (Rp50.400), dibayar sampai Januari 2027",
        "2": "Dewi Perisai",
        "3": quiet_ref,
    }

    # A jimpitan: the members who wrote lately read it as text; one registered on the web
    # chat, with no WhatsApp, is counted for the agent to tell in person.
    leader, leader_ref = resident()
    member, member_ref = resident()
    web_only = make_participant(context, f"web:{uuid.uuid4().hex}")
    with context.sessions() as session:
        web_ref = session.scalar(select(Participant.reference).where(Participant.id == web_only))
    group, counted = stack.whatsapp(agent, f"jimpitan {leader_ref} {member_ref} {web_ref} 2 bulan")
    assert group.startswith("Jimpitan tercatat: 3 anggota, 2 bulan")
    assert counted.startswith(
        "2 dari 3 anggota sudah diberi tahu lewat WhatsApp/Telegram-nya. 1 tidak bisa "
        f"dihubungi dari Sadar: War*** U. ({web_ref})."
    )
    receipt = re.search(r"JMP-[A-Z0-9-]+", group)
    assert receipt is not None
    for number, reference in ((leader, leader_ref), (member, member_ref)):
        [text] = stack.twilio.bodies(number)
        assert text.startswith(f"Halo, iuran BPJS Ketenagakerjaan Anda ({reference}) sudah dibayar")
        assert "dicatat oleh Dewi Perisai, agen Perisai desa Karanglo: 2 bulan, Rp33.600" in text
        assert f"kuitansi kelompok {receipt.group(0)}" in text
        assert "dibayar sampai Desember 2026" in text and 'Ketik "cek status"' in text


def test_a_non_agent_naming_a_reference_only_reports_their_own_payment(
    stack: Stack, context: AppContext
) -> None:
    someone = make_participant(context, f"tg:{8800 + uuid.uuid4().int % 10**5}")
    with context.sessions() as session:
        reference = session.scalar(select(Participant.reference).where(Participant.id == someone))
    stranger = f"+62817{uuid.uuid4().int % 10**7:07d}"
    reply = "\n".join(stack.whatsapp(stranger, f"bayar {reference} 3 bulan"))
    assert "Tercatat" not in reply and "belum terdaftar" in reply
    with context.sessions() as session:
        assert (
            session.scalar(select(Participant.paid_through).where(Participant.id == someone))
            is None
        )


# --- an agent registers a walk-in, with the resident's consent ------------------------------


def _enrol(context: AppContext, name: str = "Siti Perisai") -> tuple[str, int]:
    number = f"+62818{uuid.uuid4().int % 10**7:07d}"
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name=name, phone=number,
        village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    return number, agent_id


def _agent_fills_in_the_walk_in(stack: Stack, agent: str, nik: str, resident: str) -> None:
    """Menu -> "Daftarkan warga" -> the resident's data, up to the consent question."""
    assert "4. Daftarkan warga" in stack.whatsapp(agent, "menu agen")[-1]
    started = stack.whatsapp(agent, "4")
    assert started[0].startswith("Pendaftaran warga oleh agen")
    assert "Nama lengkap warga" in started[-1]
    assert "NIK warga" in stack.whatsapp(agent, "Sumarni")[-1]
    assert "Tanggal lahir warga" in stack.whatsapp(agent, nik)[-1]
    # The agent writes from WhatsApp, but their own number is not taken as the resident's.
    assert "Nomor WhatsApp warga" in stack.whatsapp(agent, "17-08-1980")[-1]
    local = "0" + resident.removeprefix("+62")
    assert "desa" in stack.whatsapp(agent, f"{local[:4]} {local[4:8]} {local[8:]}")[-1]
    assert "pekerjaan warga" in stack.whatsapp(agent, "Karanglo")[-1]
    assert "penghasilan warga" in stack.whatsapp(agent, "petani")[-1]
    stack.whatsapp(agent, "1 juta")
    summary = stack.whatsapp(agent, "tidak")[-1]
    assert summary.startswith("Mohon periksa data warga") and f"• HP: {resident}" in summary
    consent = stack.whatsapp(agent, "1")[-1]
    assert consent.startswith("Terakhir, persetujuan warga")
    assert consent.endswith("1. Kirim kode ke HP warga\n2. Sudah saya bacakan")


def test_a_walk_in_confirms_with_the_code_sent_to_their_own_phone(
    stack: Stack, context: AppContext, db: sessionmaker[Session]
) -> None:
    agent, agent_id = _enrol(context)
    resident, nik = f"+62819{uuid.uuid4().int % 10**7:07d}", "3523031708807101"
    _agent_fills_in_the_walk_in(stack, agent, nik, resident)

    sent = stack.whatsapp(agent, "1")[-1]
    assert sent.startswith("Kode persetujuan sudah dikirim ke WhatsApp Sumarni")
    assert participant_by_nik(db, nik) is None  # nothing registered before the resident agrees
    # The resident never wrote to Sadar: the code travels in the approved template.
    [message] = stack.twilio.wait_for(resident, 1)
    assert message["ContentSid"] == CONSENT_CONTENT_SID
    variables = json.loads(message["ContentVariables"])
    code = variables["2"]
    assert variables["1"] == "Siti Perisai" and len(code) == 6 and code.isdigit()

    # Another number, even with the right code, cannot consent for the resident.
    stranger = f"+62817{uuid.uuid4().int % 10**7:07d}"
    assert "Tidak ada kode yang sedang kami tunggu" in stack.whatsapp(stranger, code)[-1]
    wrong = "000000" if code != "000000" else "111111"
    assert "Kodenya tidak cocok" in stack.whatsapp(resident, wrong)[-1]
    # The reply to the code is the resident's notice: who registered them, the reference
    # and how to check, in one message (no second notice on this path).
    [done] = stack.whatsapp(resident, f"setuju {code}")
    assert done.startswith("Terima kasih, Sumarni. Persetujuan Anda tercatat")
    assert "didaftarkan oleh Siti Perisai, agen Perisai desa Karanglo" in done
    assert "cek status" in done

    participant = participant_by_nik(db, nik)
    assert participant is not None and participant.registered_by_agent_id == agent_id
    assert participant.reference in done
    with db() as session:
        consent = session.get(ConsentRecord, participant.consent_record_id)
    assert consent is not None and (consent.method, consent.agent_id) == ("one_time_code", agent_id)
    assert code not in consent.wording and "agen Perisai Siti Perisai" in consent.wording
    # The agent hears it on their own chat.
    told = stack.twilio.wait_for(agent, len(stack.twilio.to(agent)))[-1]
    assert told["Body"] == f"Sumarni sudah membalas kode dan terdaftar. Nomor pendaftaran " \
        f"Sadar: {participant.reference}."  # fmt: skip
    # And the resident's own number now sees their registration.
    assert participant.reference in stack.whatsapp(resident, "cek status")[-1]


def test_a_code_that_cannot_be_sent_keeps_every_answer_and_reading_aloud_registers(
    stack: Stack, context: AppContext, db: sessionmaker[Session]
) -> None:
    agent, agent_id = _enrol(context, "Joko Perisai")
    resident, nik = f"+62819{uuid.uuid4().int % 10**7:07d}", "3523031708807102"
    _agent_fills_in_the_walk_in(stack, agent, nik, resident)

    stack.twilio.failures.append(400)  # WhatsApp refuses the resident's number
    replies = stack.whatsapp(agent, "1")
    assert replies[0].startswith("Kode tidak bisa dikirim ke +6281")
    assert replies[-1].startswith("Terakhir, persetujuan warga")  # asked again, nothing lost
    assert participant_by_nik(db, nik) is None

    replies = stack.whatsapp(agent, "2")
    assert replies[-2].startswith("Sumarni terdaftar (persetujuan dibacakan")
    assert replies[-1] == "Warga sudah diberi tahu lewat WhatsApp-nya."
    participant = participant_by_nik(db, nik)
    assert participant is not None and participant.registered_by_agent_id == agent_id
    # The resident never wrote to Sadar: they are told with the approved template.
    told = stack.twilio.to(resident)[-1]
    assert told["ContentSid"] == RESIDENT_NOTICE_CONTENT_SID
    assert json.loads(told["ContentVariables"]) == {
        "1": "pendaftaran BPJS Ketenagakerjaan",
        "2": "Joko Perisai",
        "3": participant.reference,
    }
    with db() as session:
        consent = session.get(ConsentRecord, participant.consent_record_id)
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.actor == f"agent:{agent_id}")
            .order_by(AuditEvent.id)
        ).all()
    assert consent is not None and (consent.method, consent.agent_id) == (
        "agent_read_aloud",
        agent_id,
    )
    assert consent.wording.startswith("Dibacakan oleh agen Perisai Joko Perisai kepada warga")
    assert actions == [
        "agent_menu", "agent_register_resident", "consent_code_held", "consent_code_not_sent",
        "registered_on_behalf",
    ]  # fmt: skip
    # The walk-in is on the agent's list.
    stack.whatsapp(agent, "menu agen")
    assert participant.reference in stack.whatsapp(agent, "1")[-1]


def test_an_agent_on_telegram_registers_a_walk_in_onto_the_resident_s_own_whatsapp(
    stack: Stack, context: AppContext, db: sessionmaker[Session]
) -> None:
    user_id = 890_000 + uuid.uuid4().int % 10_000
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Rina Perisai",
        phone=f"+62818{uuid.uuid4().int % 10**7:07d}", village="Karanglo", district="Kerek",
        regency="Tuban", telegram_user_id=user_id,
    )  # fmt: skip
    agent = TelegramUser(stack, user_id, "Rina")
    resident, nik = f"+62819{uuid.uuid4().int % 10**7:07d}", "3523031708807103"
    stack.whatsapp(resident, "halo")  # the resident wrote to Sadar today: free text reaches them
    menu = agent.says("menu agen")[-1]
    assert "Nama lengkap warga" in agent.presses(menu, "Daftarkan warga")[-1]["text"]
    agent.says("Paijo")
    agent.says(nik)
    phone_question = agent.says("17 agustus 1980")[-1]
    # No "share my number" button: it would share the agent's own number.
    assert phone_question["text"].startswith("Nomor WhatsApp warga")
    assert "keyboard" not in phone_question.get("reply_markup", {})
    agent.says(resident)
    agent.says("Karanglo")
    agent.says("nelayan")
    jht_question = agent.says("2 juta")[-1]
    summary = agent.presses(jht_question, "Ya, ikut JHT")[-1]
    consent = agent.presses(summary, "Ya, daftarkan")[-1]
    replies = agent.presses(consent, "Sudah saya bacakan")
    assert replies[-2]["text"].startswith("Paijo terdaftar (persetujuan dibacakan")
    assert replies[-1]["text"] == "Warga sudah diberi tahu lewat WhatsApp-nya."

    participant = participant_by_nik(db, nik)
    assert participant is not None and participant.registered_by_agent_id == agent_id
    # On the resident's own WhatsApp: who registered them, the reference, how to check.
    notice = stack.twilio.bodies(resident)[-1]
    assert notice.startswith("Halo Paijo, Anda sudah didaftarkan ke BPJS Ketenagakerjaan oleh")
    assert "Rina Perisai, agen Perisai desa Karanglo" in notice
    assert participant.reference in notice and "cek status" in notice
    # Reminders and "cek status" belong to the resident's WhatsApp, not the agent's chat.
    assert (participant.channel, participant.sender_hash) == (
        "wa",
        keyed_hash(TEST_PII_KEY, f"wa:{resident}"),
    )
    assert participant.reference in stack.whatsapp(resident, "cek status")[-1]


# --- issue 28: an agent's day in the agent's own words ---------------------------------------


def _enrol_in_own_village(context: AppContext) -> tuple[str, int, str]:
    """An agent of a village no other test's agent serves: its lists and tickets are theirs."""
    village = f"Karanglo {uuid.uuid4().hex[:6]}"
    number = f"+62811{uuid.uuid4().int % 10**7:07d}"
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Wulan Perisai",
        phone=number, village=village, district="Kerek", regency="Tuban",
    )  # fmt: skip
    return number, agent_id, village


def test_an_agent_s_greeting_shows_their_village_and_menu(
    stack: Stack, context: AppContext
) -> None:
    agent, agent_id, village = _enrol_in_own_village(context)
    replies = stack.whatsapp(agent, "assalamualaikum")
    assert replies[0] == f"Halo, Wulan! Selamat bertugas sebagai agen Perisai desa {village}."
    assert replies[-1].startswith(f"Menu agen Perisai ({village})")
    assert "8. Tiket warga" in replies[-1] and "9. Ganti nomor warga" in replies[-1]
    assert "Mau daftar sekarang" not in "\n".join(replies)
    # The menu's numbers work after a greeting as after "menu agen".
    assert stack.whatsapp(agent, "3")[-1].startswith("Rekap ")
    # The identity is checked every time: suspended, the greeting is a resident's again.
    suspend_agent(context.unit_of_work(), agent_id, context.clock.now())
    assert "Mau daftar sekarang?" in stack.whatsapp(agent, "halo")[-1]
    resident = f"+62815{uuid.uuid4().int % 10**7:07d}"
    greeting = "\n".join(stack.whatsapp(resident, "pagi"))
    assert "Mau daftar sekarang?" in greeting and "Menu agen" not in greeting


def test_an_agent_s_summary_arrears_and_residents_in_words(
    stack: Stack, context: AppContext
) -> None:
    agent, agent_id, village = _enrol_in_own_village(context)
    owing = make_participant(
        context, f"wa:+62814{uuid.uuid4().int % 10**7:07d}", first_period=date(2026, 9, 1),
        village=(village, "Kerek", "Tuban"),
    )  # fmt: skip
    with context.sessions.begin() as session:
        session.execute(
            update(Participant)
            .where(Participant.id == owing)
            .values(registered_by_agent_id=agent_id)
        )
        reference = session.scalar(select(Participant.reference).where(Participant.id == owing))

    assert stack.whatsapp(agent, "rekap bulan ini")[-1].startswith("Rekap ")
    arrears = stack.whatsapp(agent, "tunggakan di desa saya")[-1]
    # The village's list, not the agent's own "cek status".
    assert f"warga {village} menunggak" in arrears and f"War*** U. ({reference})" in arrears
    mine = stack.whatsapp(agent, "warga saya")
    assert mine[-1].startswith("Warga yang Anda daftarkan (1):") and reference in mine[-1]
    # "my residents" starts no walk-in registration.
    assert not any("Nama lengkap warga" in reply for reply in mine)
    assert stack.tracker(f"wa:{agent}")["slots"].get("registering_for_resident") is None
    with context.sessions() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.actor == f"agent:{agent_id}")
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["agent_summary", "agent_arrears", "agent_my_residents"]


def test_an_agent_lists_their_tickets_and_their_village_s_waiting_ones(
    stack: Stack, context: AppContext
) -> None:
    agent, _, village = _enrol_in_own_village(context)
    resident = f"+62815{uuid.uuid4().int % 10**7:07d}"
    make_participant(context, f"wa:{resident}", village=(village, "Kerek", "Tuban"))
    handed_over = stack.whatsapp(resident, "bisa ngobrol sama petugas?")[-1]
    match = re.search(r"\bT-\d+\b", handed_over)
    assert match and "Wulan" in handed_over, handed_over
    ticket = match.group(0)
    stack.whatsapp(resident, "NIK saya 3523031708800001 kok ditolak")

    listed = stack.whatsapp(agent, "tiket saya")
    assert listed[0].startswith("Tiket terbuka (1):")
    assert f"{ticket} ({village}): menunggu jawaban Anda" in listed[0]
    assert "kok ditolak" in listed[0] and "3523031708800001" not in listed[0]  # masked
    assert listed[-1].startswith("Balas: balas T-")
    # Passed on with no other agent in the village: it waits for the administrators, and
    # the village's agent is shown how to take it back.
    stack.whatsapp(agent, f"oper {ticket}")
    waiting = stack.whatsapp(agent, "ada tiket masuk?")[0]
    assert f"{ticket} ({village}): belum ada agennya, ketik ambil {ticket}" in waiting
    # The resident ends it with a thank-you around "selesai": nothing is left open.
    assert "kembali ke Sadar" in stack.whatsapp(resident, "selesai, makasih")[-1]
    assert stack.whatsapp(agent, "tiket")[-1] == (
        f"Tidak ada tiket terbuka untuk Anda atau desa {village}."
    )


def test_a_code_an_agent_types_when_none_waits_says_where_it_belongs(
    stack: Stack, context: AppContext
) -> None:
    agent, _, _ = _enrol_in_own_village(context)
    reply = stack.whatsapp(agent, "SETUJU 482913")[-1]
    assert reply.startswith("Tidak ada kode yang ditunggu dari chat ini.")
    assert "dibalas warga sendiri" in reply and 'ketik "daftar"' not in reply
