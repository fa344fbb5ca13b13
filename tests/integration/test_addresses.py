"""One participant, several verified addresses (issue 19), on PostgreSQL, through the real
Outbox against the fake Telegram Bot API and fake Twilio REST API: linking WhatsApp by code
(and nobody linking a number they do not hold), reminders falling back when an address
fails for good, opt-out from any address, number changes, erasure, and the count of
participants no reminder can reach."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.app_context import AppContext
from bot.channels.factory import build_outbox
from bot.db.models import (
    AddressLink,
    AuditEvent,
    ChannelContact,
    CodeSend,
    Participant,
    ParticipantAddress,
    Reminder,
    Ticket,
)
from bot.domain.addresses import LinkPurpose, Proof
from bot.domain.clock import FixedClock
from bot.domain.payments import load_calendar
from bot.domain.reminders import ReminderPolicy
from bot.domain.senders import Channel
from bot.infra.privacy import keyed_hash
from bot.infra.settings import Settings
from bot.services.addresses.agent_report import unreachable_in_village
from bot.services.addresses.linking import CodeText, LinkRequestResult, LinkResult
from bot.services.addresses.number_change import REPORT_WINDOW, NoticeText
from bot.services.agents import AgentRef, enrol_agent
from bot.services.code_quota import MAX_CODES_PER_NUMBER_PER_DAY
from bot.services.coverage import coverage_report
from bot.services.erasure import delete_for_sender
from bot.services.participants import find_for_sender
from bot.services.reminder_preferences import PreferenceScope, set_reminders
from bot.services.reminders import ReminderDispatcher, enqueue_planned, plan
from tests.conftest import TEST_PII_KEY
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    WHATSAPP_FROM,
    FakeTwilio,
)
from tests.support.participants import make_participant

BEFORE_NOV = date(2026, 11, 13)  # due Monday 16 November; 3 days before
MORNING = datetime(2026, 11, 13, 3, 0, tzinfo=UTC)  # 10:00 WIB
REMINDER_SID = "HX" + "0" * 31 + "7"
LINK_SID = "HX" + "1" * 31 + "9"
VILLAGE = ("Karanglo", "Kerek", "Tuban")
#: The number make_participant types for a web or Telegram registration.
PHONE = "+6281200000000"
CODE_MESSAGE = CodeText(lambda code: f"Kode Sadar Anda: {code}", LINK_SID)


@pytest.fixture
def context(pg_url: str, fake: FakeTelegram, twilio: FakeTwilio) -> Iterator[AppContext]:
    settings = Settings(
        _env_file=None,
        database_url=pg_url,
        pii_hash_key=TEST_PII_KEY,
        telegram_bot_token="123456:TEST",
        telegram_api_base_url=fake.base_url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_from=WHATSAPP_FROM,
        twilio_api_base_url=twilio.base_url,
        whatsapp_reminder_content_sid=REMINDER_SID,
        whatsapp_link_content_sid=LINK_SID,
    )
    context = AppContext.from_settings(settings, FixedClock(MORNING))
    yield context
    context.engine.dispose()


@pytest.fixture
async def outbox(context: AppContext) -> AsyncIterator:
    box = build_outbox(context.settings, context.channel_log)
    yield box
    await box.aclose()


async def send_reminders(context: AppContext, outbox, clock: datetime = MORNING) -> list[str]:
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), ReminderPolicy(), write=True)
    ids: list[int] = []
    enqueue_planned(context.unit_of_work, lambda batch, _when: ids.extend(batch), now=clock)
    dispatcher = ReminderDispatcher(
        context.unit_of_work,
        context.cipher,
        context.channel_log,
        outbox,
        load_calendar(),
        ReminderPolicy(),
        template_sid=REMINDER_SID,
        clock=FixedClock(clock),
    )
    return [outcome.state for outcome in await dispatcher.send_batch(ids)]


def reminder_rows(context: AppContext) -> list[Reminder]:
    with context.sessions() as session:
        return list(session.scalars(select(Reminder).order_by(Reminder.id)))


def addresses_of(context: AppContext, participant_id: int) -> list[tuple[str, str, bool]]:
    with context.sessions() as session:
        rows = session.scalars(
            select(ParticipantAddress)
            .where(ParticipantAddress.participant_id == participant_id)
            .order_by(ParticipantAddress.id)
        ).all()
    return [(row.channel, row.proof, row.preferred) for row in rows]


def unreachable_count(context: AppContext) -> int:
    return sum(row.unreachable for row in coverage_report(context.unit_of_work(), BEFORE_NOV))


async def test_a_web_registration_is_linked_by_code_and_then_reminded_on_whatsapp(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    web = "web:kiosk-desa-1"
    participant = make_participant(context, web, village=VILLAGE)
    assert unreachable_count(context) == 1
    assert await send_reminders(context, outbox) == []  # planned as skipped, nothing queued
    assert reminder_rows(context)[0].reason.startswith("no reachable address")

    book = context.address_book
    asked = await book.request(outbox, web, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
    assert asked.result is LinkRequestResult.SENT and asked.masked_phone == "+6281*******00"
    # Never written to Sadar: the code goes as the approved template, not free text.
    code = twilio.last_code(PHONE)
    assert "Body" not in twilio.to(PHONE)[-1]
    with context.sessions() as session:
        link = session.scalar(select(AddressLink))
        assert link is not None and code not in link.code_hash  # kept only as a keyed hash

    done = book.confirm(web, f"kodenya {code[:3]} {code[3:]}", MORNING)
    assert done is not None and done.result is LinkResult.LINKED
    assert addresses_of(context, participant) == [
        ("web", "registered_here", False),
        ("wa", "one_time_code", True),
    ]
    # The number is proven now: status, opt-out and payments work from WhatsApp too.
    view = find_for_sender(context.unit_of_work(), context.cipher, context.hash_key, f"wa:{PHONE}")
    assert view is not None
    assert unreachable_count(context) == 0

    with context.sessions.begin() as session:
        session.execute(update(Reminder).values(state="planned", reason=None))
    assert await send_reminders(context, outbox) == ["sent"]
    reminder = twilio.to(PHONE)[-1]
    assert reminder["ContentSid"] == REMINDER_SID  # outside the 24-hour window: template


async def test_the_number_being_added_may_confirm_by_replying_on_whatsapp(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    web = "web:kiosk-desa-2"
    participant = make_participant(context, web, village=VILLAGE)
    book = context.address_book
    await book.request(outbox, web, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
    code = twilio.last_code(PHONE)
    # Someone else's conversation typing that code links nothing.
    assert book.confirm("tg:999", code, MORNING) is None
    assert book.confirm("wa:+6285700000000", code, MORNING) is None
    done = book.confirm(f"wa:{PHONE}", code, MORNING)
    assert done is not None and done.result is LinkResult.LINKED
    assert ("wa", "one_time_code", True) in addresses_of(context, participant)
    # Replay: the code is spent.
    assert book.confirm(f"wa:{PHONE}", code, MORNING) is None
    assert book.confirm(web, code, MORNING) is None


async def test_wrong_codes_lock_the_link_and_late_codes_expire(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    web = "web:kiosk-desa-3"
    participant = make_participant(context, web, village=VILLAGE)
    book = context.address_book
    await book.request(outbox, web, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
    code = twilio.last_code(PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    no_code = book.confirm(web, "kodenya belum masuk", MORNING)
    assert no_code is not None and no_code.result is LinkResult.NO_CODE
    results = [book.confirm(web, wrong, MORNING) for _ in range(5)]
    assert [r.result for r in results if r] == [LinkResult.WRONG] * 4 + [LinkResult.LOCKED]
    assert [r.attempts_left for r in results[:4] if r] == [4, 3, 2, 1]
    # Locked: even the right code links nothing now.
    assert book.confirm(web, code, MORNING) is None
    assert addresses_of(context, participant) == [("web", "registered_here", True)]

    await book.request(outbox, web, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
    fresh = twilio.last_code(PHONE)
    late = book.confirm(web, fresh, MORNING + timedelta(minutes=31))
    assert late is not None and late.result is LinkResult.EXPIRED
    assert book.confirm(web, fresh, MORNING) is None  # the expired link is gone
    with context.sessions() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.participant_id == participant)
        ).all()
    assert "link_code_locked" in actions and "address_linked" not in actions


async def test_a_code_that_cannot_reach_whatsapp_holds_nothing(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    web = "web:kiosk-desa-4"
    make_participant(context, web, village=VILLAGE)
    no_template = CodeText(CODE_MESSAGE.text, None)
    asked = await context.address_book.request(
        outbox, web, None, LinkPurpose.ADD, no_template, MORNING
    )
    assert asked.result is LinkRequestResult.NOT_SENT and twilio.to(PHONE) == []
    with context.sessions() as session:
        assert session.scalars(select(AddressLink)).all() == []


async def test_a_blocked_telegram_bot_falls_back_to_whatsapp_and_says_why(
    context: AppContext, outbox, fake: FakeTelegram, twilio: FakeTwilio
) -> None:
    tg = "tg:7001"
    participant = make_participant(context, tg, village=VILLAGE)
    book = context.address_book
    await book.request(outbox, tg, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
    linked = book.confirm(tg, twilio.last_code(PHONE), MORNING)
    assert linked is not None and linked.result is LinkResult.LINKED
    # Telegram stays preferred: it was reachable when WhatsApp was added.
    assert addresses_of(context, participant) == [
        ("tg", "registered_here", True),
        ("wa", "one_time_code", False),
    ]
    fake.failures.append(403)  # "Forbidden: bot was blocked by the user"
    assert await send_reminders(context, outbox) == ["sent"]
    assert twilio.to(PHONE)[-1]["ContentSid"] == REMINDER_SID
    (reminder,) = reminder_rows(context)
    assert reminder.reason is not None
    assert reminder.reason.startswith("sent after: tg: Telegram refused")
    with context.sessions() as session:
        contact = session.scalar(
            select(ChannelContact).where(ChannelContact.sender_hash == keyed_hash(TEST_PII_KEY, tg))
        )
        assert contact is not None and contact.undeliverable_at is not None
    # Writing from Telegram again proves it works: it leads again.
    context.channel_log.record_inbound(tg, MORNING)
    with context.sessions() as session:
        contact = session.scalar(
            select(ChannelContact).where(ChannelContact.sender_hash == keyed_hash(TEST_PII_KEY, tg))
        )
        assert contact is not None and contact.undeliverable_at is None


async def test_a_whatsapp_number_reported_gone_stops_being_used(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    make_participant(context, f"wa:{PHONE}", village=VILLAGE)
    assert await send_reminders(context, outbox) == ["sent"]
    (message,) = twilio.to(PHONE)
    status = context.channel_log.record_status(
        message["sid"], "undelivered", "63003: Channel could not find To address"
    )
    assert status is True
    assert unreachable_count(context) == 1  # counted for the agent to follow up
    with context.sessions.begin() as session:
        session.execute(update(Reminder).values(state="planned", reason=None))
    assert await send_reminders(context, outbox) == ["skipped"]  # checked again at send time
    assert reminder_rows(context)[0].reason == "no reachable address (undeliverable)"


async def test_opt_out_holds_for_the_person_unless_one_channel_is_named(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    tg = "tg:7101"
    participant = make_participant(context, tg, village=VILLAGE)
    book = context.address_book
    await book.request(outbox, tg, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
    book.confirm(tg, twilio.last_code(PHONE), MORNING)
    wa = f"wa:{PHONE}"
    log = context.channel_log

    # "stop pengingat" from the second address stops the person.
    assert set_reminders(log, wa, True, None, MORNING).scope is PreferenceScope.PARTICIPANT
    assert await send_reminders(context, outbox) == []
    assert reminder_rows(context)[0].reason == "opted out of reminders"

    # "aktifkan pengingat wa saja": WhatsApp only; Telegram stays stopped.
    resumed = set_reminders(log, tg, False, Channel.WHATSAPP, MORNING)
    assert resumed.scope is PreferenceScope.CHANNEL
    with context.sessions.begin() as session:
        session.execute(update(Reminder).values(state="planned", reason=None))
    before = len(twilio.to(PHONE))
    assert await send_reminders(context, outbox) == ["sent"]
    assert len(twilio.to(PHONE)) == before + 1

    # Naming a channel the person has not linked changes nothing.
    web_only = set_reminders(log, tg, True, Channel.WEB, MORNING)
    assert web_only.scope is PreferenceScope.NO_SUCH_CHANNEL
    with context.sessions() as session:
        stored = session.get(Participant, participant)
        assert stored is not None and stored.reminders_opted_out_at is None  # resumed


async def test_a_number_change_confirmed_from_a_linked_address(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    old = f"wa:{PHONE}"
    participant = make_participant(context, old, village=VILLAGE)
    new_number = "+6285612340000"
    book = context.address_book
    asked = await book.request(outbox, old, new_number, LinkPurpose.REPLACE, CODE_MESSAGE, MORNING)
    assert asked.result is LinkRequestResult.SENT
    code = twilio.last_code(new_number)
    # The new number alone cannot confirm a change: only where it was asked.
    assert book.confirm(f"wa:{new_number}", code, MORNING) is None
    done = book.confirm(old, code, MORNING)
    assert done is not None and done.result is LinkResult.REPLACED
    assert addresses_of(context, participant) == [("wa", "one_time_code", True)]
    view = find_for_sender(
        context.unit_of_work(), context.cipher, context.hash_key, f"wa:{new_number}"
    )
    assert view is not None and view.phone == "+6285*******00"
    # The old number gets nothing any more: not even "cek status".
    assert find_for_sender(context.unit_of_work(), context.cipher, context.hash_key, old) is None
    assert await send_reminders(context, outbox) == ["sent"]
    assert twilio.to(new_number)[-1]["ContentSid"] == REMINDER_SID
    assert all(m.get("ContentSid") != REMINDER_SID for m in twilio.to(PHONE))
    with context.sessions() as session:
        stored = session.get(Participant, participant)
        assert stored is not None and stored.phone_verified_by == Proof.ONE_TIME_CODE.value
        assert new_number not in stored.phone_encrypted
        assert "number_changed" in session.scalars(select(AuditEvent.action)).all()


async def test_the_village_agent_confirms_a_number_change_and_is_audited(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    old = f"wa:{PHONE}"
    participant = make_participant(context, old, village=VILLAGE)
    with context.sessions() as session:
        reference = session.get(Participant, participant).reference  # type: ignore[union-attr]
    home = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Rahayu",
        phone="+6281300000001", village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    elsewhere = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Joko",
        phone="+6281300000002", village="Bendosari", district="Ngantru", regency="Tulungagung",
    )  # fmt: skip
    new_number = "+6285612349999"
    book = context.address_book
    refused = await book.request(
        outbox, "wa:+6281300000002", new_number, LinkPurpose.REPLACE, CODE_MESSAGE, MORNING,
        agent=agent_ref(elsewhere, ("Bendosari", "Ngantru", "Tulungagung")), reference=reference,
    )  # fmt: skip
    assert refused.result is LinkRequestResult.NOT_IN_VILLAGE and twilio.to(new_number) == []

    agent_chat = "wa:+6281300000001"
    asked = await book.request(
        outbox, agent_chat, new_number, LinkPurpose.REPLACE, CODE_MESSAGE, MORNING,
        agent=agent_ref(home), reference=reference.lower(),
    )  # fmt: skip
    assert asked.result is LinkRequestResult.SENT
    done = book.confirm(agent_chat, twilio.last_code(new_number), MORNING)
    assert done is not None and done.result is LinkResult.REPLACED
    assert addresses_of(context, participant) == [("wa", "agent_confirmed", True)]
    with context.sessions() as session:
        audit = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.participant_id == participant)
            .where(AuditEvent.action == "number_changed")
        ).all()
    assert [event.actor for event in audit] == [f"agent:{home}"]


def agent_ref(agent_id: int, village: tuple[str, str, str] = VILLAGE) -> AgentRef:
    return AgentRef(agent_id, "Agen", *village)


async def test_erasure_from_any_address_removes_every_address(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    tg = "tg:7201"
    participant = make_participant(context, tg, village=VILLAGE)
    # A family member shares the WhatsApp number.
    sibling = make_participant(context, f"wa:{PHONE}", nik="3523031708800205", village=VILLAGE)
    book = context.address_book
    await book.request(outbox, tg, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
    book.confirm(tg, twilio.last_code(PHONE), MORNING)

    erased = delete_for_sender(
        context.unit_of_work(), context.cipher, context.hash_key, tg, MORNING
    )
    assert erased is not None and sorted(erased.sender_ids) == sorted([tg, f"wa:{PHONE}"])
    assert addresses_of(context, participant) == []
    with context.sessions() as session:
        hashes = set(session.scalars(select(ChannelContact.sender_hash)).all())
    assert keyed_hash(TEST_PII_KEY, tg) not in hashes
    # The shared phone stays the sibling's address.
    assert keyed_hash(TEST_PII_KEY, f"wa:{PHONE}") in hashes
    assert addresses_of(context, sibling) == [("wa", "registered_here", True)]


async def test_agents_see_who_cannot_be_reached(
    context: AppContext, outbox, fake: FakeTelegram
) -> None:
    make_participant(context, "web:kiosk-5", village=VILLAGE, nik="3523031708800301")
    make_participant(context, "tg:7301", village=VILLAGE, nik="3523031708800302")
    make_participant(context, "web:kiosk-6", village=("Bendosari", "Ngantru", "Tulungagung"),
                     nik="3523031708800303")  # fmt: skip
    agent = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Rahayu",
        phone="+6281300000003", village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    listed = unreachable_in_village(context.unit_of_work(), context.cipher, agent_ref(agent))
    assert [(r.why.value, r.name) for r in listed] == [("web_only", "War*** U.")]


async def test_codes_for_one_participant_are_capped_per_day(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    """Nobody can flood someone else's number with codes by asking again and again."""
    from bot.services.addresses.linking import MAX_CODES_PER_DAY

    web = "web:kiosk-desa-7"
    make_participant(context, web, village=VILLAGE)
    book = context.address_book
    for _ in range(MAX_CODES_PER_DAY):
        asked = await book.request(outbox, web, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
        assert asked.result is LinkRequestResult.SENT
    refused = await book.request(outbox, web, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
    assert refused.result is LinkRequestResult.TOO_MANY
    assert len(twilio.to(PHONE)) == MAX_CODES_PER_DAY
    tomorrow = MORNING + timedelta(days=1, minutes=1)
    again = await book.request(outbox, web, None, LinkPurpose.ADD, CODE_MESSAGE, tomorrow)
    assert again.result is LinkRequestResult.SENT


NOTICE_SID = "HX" + "2" * 31 + "5"
NOTICE = NoticeText(
    lambda phone: f"Nomor Sadar Anda dipindah ke {phone}. Bukan Anda? Balas BUKAN SAYA.",
    lambda phone: f"Nomor ini ({phone}) sekarang nomor Sadar Anda.",
    NOTICE_SID,
)


async def test_codes_to_one_number_are_capped_across_participants_and_purposes(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    """Two registrations (and a third participant's number change) cannot together send
    one stranger's number more than its daily share of codes."""
    first, second, third = "web:kiosk-quota-1", "web:kiosk-quota-2", "tg:7401"
    make_participant(context, first, village=VILLAGE, nik="3523031708800401")
    make_participant(context, second, village=VILLAGE, nik="3523031708800402")
    make_participant(context, third, village=VILLAGE, nik="3523031708800403")
    book = context.address_book
    for _ in range(3):
        asked = await book.request(outbox, first, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
        assert asked.result is LinkRequestResult.SENT
    asked = await book.request(outbox, second, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
    assert asked.result is LinkRequestResult.SENT
    asked = await book.request(outbox, third, PHONE, LinkPurpose.REPLACE, CODE_MESSAGE, MORNING)
    assert asked.result is LinkRequestResult.SENT
    assert len(twilio.to(PHONE)) == MAX_CODES_PER_NUMBER_PER_DAY
    # Each participant is far under its own cap; the number has had its share.
    refused = await book.request(outbox, second, None, LinkPurpose.ADD, CODE_MESSAGE, MORNING)
    assert refused.result is LinkRequestResult.TOO_MANY
    refused = await book.request(outbox, third, PHONE, LinkPurpose.REPLACE, CODE_MESSAGE, MORNING)
    assert refused.result is LinkRequestResult.TOO_MANY
    assert len(twilio.to(PHONE)) == MAX_CODES_PER_NUMBER_PER_DAY
    # Another number is not affected, and the day passes.
    other = await book.request(
        outbox, second, "+6285612340011", LinkPurpose.ADD, CODE_MESSAGE, MORNING
    )
    assert other.result is LinkRequestResult.SENT
    with context.sessions() as session:
        stored = session.scalars(select(CodeSend.destination_hash)).all()
    assert stored and all(PHONE not in digest for digest in stored)  # keyed hashes only
    tomorrow = MORNING + timedelta(days=1, minutes=1)
    again = await book.request(outbox, second, None, LinkPurpose.ADD, CODE_MESSAGE, tomorrow)
    assert again.result is LinkRequestResult.SENT


async def test_a_number_change_is_told_to_the_old_number_which_can_report_it(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    """Whoever holds a linked conversation (a web chat left open) can move the
    participant; the old WhatsApp number hears of it and "BUKAN SAYA" reaches the agent."""
    old = f"wa:{PHONE}"
    two_days_ago = MORNING - timedelta(days=2)
    participant = make_participant(context, old, village=VILLAGE, last_inbound_at=two_days_ago)
    web = "web:shared-browser"
    with context.sessions.begin() as session:
        session.add(
            ParticipantAddress(
                participant_id=participant, sender_hash=keyed_hash(TEST_PII_KEY, web),
                channel="web", proof="registered_here", preferred=False, verified_at=MORNING,
            )
        )  # fmt: skip
    home = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Rahayu",
        phone="+6281300000011", village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    intruder = "+6285612340022"
    book = context.address_book
    await book.request(outbox, web, intruder, LinkPurpose.REPLACE, CODE_MESSAGE, MORNING)
    done = book.confirm(web, twilio.last_code(intruder), MORNING)
    assert done is not None and done.result is LinkResult.REPLACED
    before = len(twilio.to(PHONE))
    assert await context.number_changes.tell_number_change(outbox, done, NOTICE, MORNING) == 1
    notice = twilio.to(PHONE)[-1]
    assert len(twilio.to(PHONE)) == before + 1
    # The old number has not written in 24 hours: the approved template goes.
    assert notice["ContentSid"] == NOTICE_SID
    assert json.loads(notice["ContentVariables"]) == {"1": "+6285*******22", "2": done.reference}
    assert len(twilio.to(intruder)) == 1  # the participant's own change: only the code

    # Someone who never had the number cannot report anything.
    assert context.number_changes.report_not_me("wa:+6285700000000", "BUKAN SAYA", MORNING) is None
    report = context.number_changes.report_not_me(old, "BUKAN SAYA", MORNING)
    assert report is not None and report.agent_first_name == "Siti"
    with context.sessions() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == report.ticket_number))
        assert ticket is not None and ticket.agent_id == home
        assert ticket.reason == "number_change_reported"
        assert ticket.resident_sender_hash == keyed_hash(TEST_PII_KEY, old)
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.participant_id == participant)
        ).all()
    assert "number_change_reported" in actions
    # The window to report closes.
    late = MORNING + REPORT_WINDOW + timedelta(minutes=1)
    assert context.number_changes.report_not_me(old, "BUKAN SAYA", late) is None


async def test_an_agents_number_change_is_shown_on_both_numbers(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    old = f"wa:{PHONE}"
    participant = make_participant(context, old, village=VILLAGE)
    with context.sessions() as session:
        reference = session.get(Participant, participant).reference  # type: ignore[union-attr]
    home = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Rahayu",
        phone="+6281300000012", village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    new_number = "+6285612340033"
    agent_chat = "wa:+6281300000012"
    book = context.address_book
    await book.request(
        outbox, agent_chat, new_number, LinkPurpose.REPLACE, CODE_MESSAGE, MORNING,
        agent=agent_ref(home), reference=reference,
    )  # fmt: skip
    done = book.confirm(agent_chat, twilio.last_code(new_number), MORNING)
    assert done is not None and done.by_agent
    assert await context.number_changes.tell_number_change(outbox, done, NOTICE, MORNING) == 2
    # The old number wrote an hour ago (inside WhatsApp's window): the text itself; the new
    # number never wrote: the approved template.
    assert twilio.bodies(PHONE)[-1] == NOTICE.to_old("+6285*******33")
    assert twilio.to(new_number)[-1]["ContentSid"] == NOTICE_SID
    with context.sessions() as session:
        audit = session.scalars(
            select(AuditEvent.actor)
            .where(AuditEvent.participant_id == participant)
            .where(AuditEvent.action == "number_changed")
        ).all()
    assert audit == [f"agent:{home}"]
