"""One participant, every channel (issue 19), through the whole stack and the Telegram and
Twilio stand-ins: a web chat registration ends by linking WhatsApp with a code and is then
reminded there; a Telegram participant's shared contact links WhatsApp at once and the
reminder falls back to it when the bot is blocked; status and opt-out from a second
address; a number change, by the resident and by the village agent; nobody links a number
they do not hold (a wrong code, someone else's code, a replayed one)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app_context import AppContext
from bot.channels.factory import build_outbox
from bot.db.models import AuditEvent, Participant, ParticipantAddress, Reminder, Ticket
from bot.domain.clock import FixedClock, start_of_day
from bot.domain.payments import load_calendar
from bot.domain.reminders import ReminderKind, ReminderPolicy, ReminderState
from bot.services.agents import enrol_agent
from bot.services.reminders import ReminderDispatcher
from tests.e2e.conftest import Stack, TelegramUser, participant_by_nik
from tests.support.participants import make_participant
from tests.support.stack import NUMBER_CHANGE_CONTENT_SID

#: A reminder may go out at this hour (10:00 WIB), whatever day the stack's clock shows.
REMINDER_TEMPLATE = "HX" + "e1" * 16


@pytest.fixture
def context(stack: Stack) -> Iterator[AppContext]:
    context = AppContext.from_settings(stack.settings)
    yield context
    context.engine.dispose()


@pytest.fixture
async def outbox(context: AppContext) -> AsyncIterator:
    box = build_outbox(context.settings, context.channel_log)
    yield box
    await box.aclose()


def texts(replies: list[dict]) -> list[str]:
    return [r.get("text") or "" for r in replies]


def unique_phone(prefix: str = "62857") -> str:
    return f"+{prefix}{uuid.uuid4().int % 10**7:07d}"


#: Serials drawn in turn from a random start: twenty residents of one birth date in this
#: file never collide (random draws from a thousand did, one run in five).
_nik_serials = itertools.count(uuid.uuid4().int % 9000)


def unique_nik() -> str:
    return f"357102170880{1000 + next(_nik_serials) % 9000:04d}"


def register_on_the_web(stack: Stack, sender: str, nik: str, phone: str) -> list[str]:
    stack.chat(sender, "mau daftar")
    stack.chat(sender, "ya setuju")
    stack.chat(sender, "nama saya Sri Wahyuni")
    stack.chat(sender, nik)
    stack.chat(sender, "17 agustus 1980")
    stack.chat(sender, phone)
    stack.chat(sender, "desa Karanglo")
    stack.chat(sender, "petani")
    stack.chat(sender, "1 juta")
    stack.chat(sender, "tidak")
    return texts(stack.chat(sender, "ya, daftarkan"))


async def remind(context: AppContext, outbox, participant_id: int) -> Reminder:
    """The participant's first reminder, sent the way the worker sends it, at 10:00 WIB the
    day after the stack's clock (a template outside WhatsApp's window)."""
    day = context.clock.today() + timedelta(days=1)
    moment = start_of_day(day) + timedelta(hours=10)
    with context.sessions.begin() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        reminder = Reminder(
            participant_id=participant_id,
            period=participant.first_period,
            kind=ReminderKind.BEFORE_DUE.value,
            state=ReminderState.QUEUED.value,
            scheduled_for=moment,
            attempts=0,
        )
        session.add(reminder)
        session.flush()
        reminder_id = reminder.id
    dispatcher = ReminderDispatcher(
        context.unit_of_work,
        context.cipher,
        context.channel_log,
        outbox,
        load_calendar(),
        ReminderPolicy(),
        template_sid=REMINDER_TEMPLATE,
        clock=FixedClock(moment),
    )
    await dispatcher.send(reminder_id)
    with context.sessions() as session:
        stored = session.get(Reminder, reminder_id)
        assert stored is not None
        return stored


def channels_of(db, participant_id: int) -> list[tuple[str, str]]:
    with db() as session:
        rows = session.scalars(
            select(ParticipantAddress)
            .where(ParticipantAddress.participant_id == participant_id)
            .order_by(ParticipantAddress.id)
        ).all()
    return [(row.channel, row.proof) for row in rows]


async def test_a_web_registration_is_linked_by_code_and_reminded_on_whatsapp(
    stack: Stack, db, context: AppContext, outbox
) -> None:
    sender, nik, phone = f"e2e-{uuid.uuid4().hex[:8]}", unique_nik(), unique_phone()
    done = register_on_the_web(stack, sender, nik, phone)
    assert "Nomor pendaftaran Sadar Anda: SDR-" in done[0]
    masked = phone[:5] + "*" * (len(phone) - 7) + phone[-2:]
    assert done[-1].startswith("Agar pengingat iuran sampai ke HP Anda, kami kirim kode")
    assert masked in done[-1] and phone not in done[-1]
    code = stack.twilio.last_code(phone)
    participant = participant_by_nik(db, nik)
    assert participant is not None
    assert channels_of(db, participant.id) == [("web", "registered_here")]

    # Someone else's web chat typing the code links nothing, and learns nothing.
    other = f"e2e-{uuid.uuid4().hex[:8]}"
    assert texts(stack.chat(other, code))[-1].startswith("Tidak ada kode yang sedang kami tunggu")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert texts(stack.chat(sender, wrong))[-1].startswith(
        "Kode itu tidak cocok. Sisa percobaan: 4"
    )
    linked = texts(stack.chat(sender, code))[-1]
    assert linked.startswith(f"Berhasil! WhatsApp {masked} terhubung dengan pendaftaran")
    assert channels_of(db, participant.id) == [("web", "registered_here"), ("wa", "one_time_code")]
    # Replayed: nothing waits any more.
    assert "Berhasil" not in texts(stack.chat(sender, code))[-1]

    # The number is the participant's now: "cek status" works from WhatsApp.
    status = stack.whatsapp(phone, "cek status")[-1]
    assert participant.reference in status

    reminder = await remind(context, outbox, participant.id)
    assert reminder.state == "sent"
    assert stack.twilio.to(phone)[-1]["ContentSid"] == REMINDER_TEMPLATE


async def test_a_blocked_telegram_bot_falls_back_to_the_shared_contacts_whatsapp(
    stack: Stack, db, context: AppContext, outbox
) -> None:
    nik, phone = unique_nik(), unique_phone("62813")
    user_id = 890_000 + uuid.uuid4().int % 10_000
    user = TelegramUser(stack, user_id, "Wati")
    consent = user.says("mau daftar")[-1]
    user.presses(consent, "Ya, setuju")
    user.says("Wati Susanti")
    user.says(nik)
    user.says("17-08-1980")
    user.shares_contact(phone.lstrip("+"))  # Telegram verified this number
    user.says("Karanglo")
    user.says("petani")
    jht_question = user.says("1 juta")[-1]
    summary = user.presses(jht_question, "Tidak, JKK+JKM saja")[-1]
    after = user.presses(summary, "Ya, daftarkan")
    assert "Nomor pendaftaran Sadar Anda: SDR-" in after[0]["text"]
    offer = after[-1]
    assert offer["text"].startswith("Mau pengingat iuran juga lewat WhatsApp?")
    before = len(stack.twilio.to(phone))
    linked = user.presses(offer, "Ya, tambah WhatsApp")[-1]["text"]
    assert linked.startswith("Berhasil! WhatsApp")
    assert len(stack.twilio.to(phone)) == before  # proven by Telegram: no code needed
    participant = participant_by_nik(db, nik)
    assert participant is not None and participant.phone_verified_by == "telegram_contact"
    assert channels_of(db, participant.id) == [
        ("tg", "registered_here"),
        ("wa", "telegram_contact"),
    ]

    stack.telegram.failures.append(403)  # "Forbidden: bot was blocked by the user"
    reminder = await remind(context, outbox, participant.id)
    assert reminder.state == "sent"
    assert reminder.reason is not None and reminder.reason.startswith("sent after: tg:")
    assert stack.twilio.to(phone)[-1]["ContentSid"] == REMINDER_TEMPLATE


def test_a_typed_number_on_telegram_needs_a_code(stack: Stack, context: AppContext) -> None:
    """Only a shared contact is Telegram's proof: a typed number gets a code like the web."""
    user_id = 900_000 + uuid.uuid4().int % 10_000
    make_participant(context, f"tg:{user_id}", nik=unique_nik())
    user, phone = TelegramUser(stack, user_id, "Budi"), "+6281200000000"  # the typed number
    replies = user.says("hubungkan wa")
    assert "kami kirim kode 6 angka ke WhatsApp" in replies[-1]["text"]
    code = stack.twilio.last_code(phone)
    assert user.says(code)[-1]["text"].startswith("Berhasil! WhatsApp")


def test_status_and_opt_out_work_from_a_second_address(
    stack: Stack, db, context: AppContext
) -> None:
    user_id = 910_000 + uuid.uuid4().int % 10_000
    phone = unique_phone("62812")
    make_participant(context, f"wa:{phone}", nik=unique_nik())
    participant_id = make_participant(context, f"tg:{user_id}", nik=unique_nik())
    # The Telegram participant links the (shared family) WhatsApp number by code.
    user = TelegramUser(stack, user_id, "Rina")
    with db() as session:
        reference = session.get(Participant, participant_id).reference  # type: ignore[union-attr]
    user.says("hubungkan wa " + phone)
    code = stack.twilio.last_code(phone)
    # Replying from WhatsApp confirms: the number proves it holds the code.
    assert stack.whatsapp(phone, code)[-1].startswith("Berhasil! WhatsApp")

    # On a shared phone "cek status" shows the newest registration linked to it: this one.
    assert reference in stack.whatsapp(phone, "cek status")[-1]
    stopped = user.says("stop pengingat")[-1]["text"]
    assert "semua nomor dan akun Anda" in stopped
    with db() as session:
        stored = session.get(Participant, participant_id)
        assert stored is not None and stored.reminders_opted_out_at is not None
    resumed = user.says("aktifkan pengingat telegram saja")[-1]["text"]
    assert resumed == "Siap, pengingat lewat Telegram aktif lagi."


def test_a_resident_changes_number_from_their_linked_address(
    stack: Stack, db, context: AppContext
) -> None:
    old, new = unique_phone("62858"), unique_phone("62859")
    participant_id = make_participant(context, f"wa:{old}", nik=unique_nik())
    asked = stack.whatsapp(old, f"ganti nomor {new}")[-1]
    assert asked.startswith("Kode 6 angka sudah kami kirim ke WhatsApp")
    code = stack.twilio.last_code(new)
    # The new number alone cannot take the participant over.
    from_new = stack.whatsapp(new, code)[-1]
    assert "Berhasil" not in from_new and "Nomor berhasil diganti" not in from_new
    done = stack.whatsapp(old, f"kodenya {code}")[-1]
    assert done.startswith("Nomor berhasil diganti.")
    assert channels_of(db, participant_id) == [("wa", "one_time_code")]
    # The old number gets nothing any more.
    assert stack.whatsapp(old, "cek status")[-1].startswith("Belum ada pendaftaran Sadar")
    with db() as session:
        reference = session.get(Participant, participant_id).reference  # type: ignore[union-attr]
    assert reference in stack.whatsapp(new, "cek status")[-1]
    # The old number was told, with how to say it was not the resident's doing.
    notices = [b for b in stack.twilio.bodies(old) if "telah diganti ke" in b]
    assert len(notices) == 1 and reference in notices[0] and "BUKAN SAYA" in notices[0]
    reported = stack.whatsapp(old, "BUKAN SAYA")[-1]
    assert reported.startswith("Terima kasih, laporan Anda sudah kami catat (T-"), reported
    with db() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.participant_id == participant_id)
        ).all()
        ticket = session.scalar(
            select(Ticket)
            .where(Ticket.reason == "number_change_reported")
            .order_by(Ticket.id.desc())
        )
    assert "number_change_reported" in actions
    assert ticket is not None and ticket.village == "Karanglo"


def test_the_village_agent_changes_a_residents_lost_number(
    stack: Stack, db, context: AppContext
) -> None:
    agent_tg = 920_000 + uuid.uuid4().int % 10_000
    village = f"Karanglo {uuid.uuid4().hex[:6]}"
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Rahayu",
        phone=unique_phone("62813"), village=village, district="Kerek", regency="Tuban",
        telegram_user_id=agent_tg,
    )  # fmt: skip
    old, new = unique_phone("62856"), unique_phone("62855")
    participant_id = make_participant(
        context, f"wa:{old}", nik=unique_nik(), village=(village, "Kerek", "Tuban")
    )
    with db() as session:
        reference = session.get(Participant, participant_id).reference  # type: ignore[union-attr]
    agent = TelegramUser(stack, agent_tg, "Siti")
    asked = agent.says(f"ganti nomor {reference} {new}")[-1]["text"]
    assert asked.startswith("Kode dikirim ke WhatsApp baru"), asked
    done = agent.says(stack.twilio.last_code(new))[-1]["text"]
    assert done.startswith("Nomor berhasil diganti.")
    assert channels_of(db, participant_id) == [("wa", "agent_confirmed")]
    with db() as session:
        actors = session.scalars(
            select(AuditEvent.actor)
            .where(AuditEvent.participant_id == participant_id)
            .where(AuditEvent.action == "number_changed")
        ).all()
    assert actors == [f"agent:{agent_id}"]
    # Shown on both numbers: the old one wrote within the hour (the text itself), the new
    # one never wrote (the approved template).
    with db() as session:
        reference = session.get(Participant, participant_id).reference  # type: ignore[union-attr]
    assert any(b.startswith(f"Nomor WhatsApp untuk pendaftaran Sadar {reference}")
               for b in stack.twilio.bodies(old))  # fmt: skip
    assert stack.twilio.to(new)[-1]["ContentSid"] == NUMBER_CHANGE_CONTENT_SID
    # The agent's list of residents no reminder reaches: this one is reachable again.
    listed = agent.says("warga tanpa nomor wa")
    assert reference not in "\n".join(m["text"] for m in listed)
