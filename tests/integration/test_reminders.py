"""Reminders on PostgreSQL: planning, the checks made right before sending, template
selection, quiet hours, retries and delivery reports, through the real Outbox against the
fake Telegram Bot API and fake Twilio REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.app_context import AppContext
from bot.channels.factory import build_outbox
from bot.db.models import Participant, Reminder, Submission
from bot.domain.clock import FixedClock
from bot.domain.payments import load_calendar
from bot.domain.reminders import ReminderPolicy
from bot.infra.settings import Settings
from bot.services.reminder_preferences import set_reminders
from bot.services.reminders import (
    ReminderDispatcher,
    counts_by_state,
    enqueue_planned,
    plan,
    recover,
)
from tests.conftest import TEST_PII_KEY
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    WHATSAPP_FROM,
    FakeTwilio,
)
from tests.support.participants import make_participant

NOV = date(2026, 11, 1)
BEFORE_NOV = date(2026, 11, 13)  # due Monday 16 November; 3 days before
POLICY = ReminderPolicy()
CONTENT_SID = "HX" + "0" * 31 + "7"
#: 10:00 WIB on the planned day: daytime everywhere in Indonesia.
MORNING = datetime(2026, 11, 13, 3, 0, tzinfo=UTC)


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
        whatsapp_reminder_content_sid=CONTENT_SID,
    )
    context = AppContext.from_settings(settings, FixedClock(MORNING))
    yield context
    context.engine.dispose()


def dispatcher_for(
    context: AppContext, outbox, now: datetime = MORNING, template: str | None = CONTENT_SID
) -> ReminderDispatcher:
    return ReminderDispatcher(
        context.unit_of_work,
        context.cipher,
        context.channel_log,
        outbox,
        load_calendar(),
        POLICY,
        template_sid=template,
        clock=FixedClock(now),
    )


@pytest.fixture
async def outbox(context: AppContext) -> AsyncIterator:
    box = build_outbox(context.settings, context.channel_log)
    yield box
    await box.aclose()


def reminders(context: AppContext) -> list[Reminder]:
    with context.sessions() as session:
        return list(session.scalars(select(Reminder).order_by(Reminder.id)))


def queue_all(context: AppContext) -> list[int]:
    batches: list[list[int]] = []
    enqueue_planned(context.unit_of_work, lambda ids, _when: batches.append(ids), now=MORNING)
    return [reminder_id for batch in batches for reminder_id in batch]


def test_planning_chooses_who_gets_what_and_says_why_not(context: AppContext) -> None:
    due = make_participant(context, "tg:1001")
    make_participant(context, "wa:+6281100000002", opted_out=True)
    make_participant(context, "tg:1003", paid_through=date(2026, 12, 1))  # paid ahead
    make_participant(context, "web:kiosk-1")
    make_participant(context, "tg:1005", consent=False)
    make_participant(context, "tg:1006", first_period=date(2026, 12, 1))  # starts later
    make_participant(context, "tg:1007", accepted=False)  # BPJS has not accepted it yet

    dry = plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=False)
    assert reminders(context) == []  # a dry run writes nothing
    assert dry.counts == {
        ("before_due", "tg", "planned"): 1,
        ("before_due", "wa", "skipped"): 1,
        ("before_due", "web", "skipped"): 1,
        ("before_due", "tg", "skipped"): 2,
    }

    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)  # idempotent
    rows = reminders(context)
    assert len(rows) == 5
    planned = [r for r in rows if r.state == "planned"]
    assert [r.participant_id for r in planned] == [due]
    assert planned[0].scheduled_for == datetime(2026, 11, 13, 1, 0, tzinfo=UTC)  # 08:00 WIB
    reasons = sorted(r.reason for r in rows if r.state == "skipped")
    assert reasons == [
        "no consent recorded",
        "no reachable address: no Telegram or WhatsApp linked (e.g. registered in the web "
        "chat), or every linked one stopped or failed",
        "not yet accepted by BPJS Ketenagakerjaan (no KPJ number)",
        "opted out of reminders",
    ]


def test_send_moments_follow_each_participants_time_zone(context: AppContext) -> None:
    make_participant(context, "tg:2001", province="35")  # Jawa Timur, WIB
    make_participant(context, "tg:2002", province="51")  # Bali, WITA
    make_participant(context, "tg:2003", province="91")  # Papua, WIT
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    moments = sorted(r.scheduled_for for r in reminders(context))
    assert moments == [
        datetime(2026, 11, 12, 23, 0, tzinfo=UTC),
        datetime(2026, 11, 13, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 13, 1, 0, tzinfo=UTC),
    ]


async def test_telegram_reminder_says_amount_months_and_due_date(
    context: AppContext, outbox, fake: FakeTelegram
) -> None:
    make_participant(context, "tg:3001", first_period=date(2026, 10, 1))  # October unpaid too
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    outcomes = await dispatcher_for(context, outbox).send_batch(queue_all(context))
    assert [o.state for o in outcomes] == ["sent"]
    (sent,) = fake.sent()
    assert int(sent["chat_id"]) == 3001
    assert "Rp33.600 untuk Oktober-November 2026" in sent["text"]
    assert "paling lambat 16-11-2026" in sent["text"] and "STOP" in sent["text"]
    assert "kode bayar" not in sent["text"]  # the registry gave none
    (row,) = reminders(context)
    assert row.state == "sent" and row.outbound_message_id is not None


async def test_a_reminder_carries_the_payment_code_the_registry_gave(
    context: AppContext, outbox, fake: FakeTelegram
) -> None:
    participant_id = make_participant(context, "tg:3002")
    with context.sessions.begin() as session:
        session.execute(
            update(Submission)
            .where(Submission.participant_id == participant_id)
            .values(payment_code_encrypted=context.cipher.encrypt("889012345678"))
        )
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    await dispatcher_for(context, outbox).send_batch(queue_all(context))
    (sent,) = fake.sent()
    assert "Bayar dengan kode bayar 889012345678" in sent["text"]


async def test_whatsapp_uses_the_template_outside_the_24_hour_window(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    make_participant(context, "wa:+6281100000010", last_inbound_at=MORNING - timedelta(hours=2))
    make_participant(context, "wa:+6281100000011", last_inbound_at=MORNING - timedelta(days=3))
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    await dispatcher_for(context, outbox).send_batch(queue_all(context))
    (inside,) = twilio.to("+6281100000010")
    assert inside["Body"].startswith("Pengingat iuran") and "ContentSid" not in inside
    (outside,) = twilio.to("+6281100000011")
    assert "Body" not in outside
    assert outside["ContentSid"] == CONTENT_SID
    assert outside["ContentVariables"] == (
        '{"1": "Rp16.800", "2": "November 2026", "3": "16-11-2026"}'
    )


async def test_without_an_approved_template_nothing_is_sent_outside_the_window(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    make_participant(context, "wa:+6281100000020", last_inbound_at=MORNING - timedelta(days=3))
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    outcomes = await dispatcher_for(context, outbox, template=None).send_batch(queue_all(context))
    assert [o.state for o in outcomes] == ["skipped"]
    assert "SADAR_WHATSAPP_REMINDER_CONTENT_SID" in (reminders(context)[0].reason or "")
    assert twilio.messages == []


async def test_night_time_waits_for_the_morning_in_the_participants_zone(
    context: AppContext, outbox, fake: FakeTelegram
) -> None:
    make_participant(context, "tg:4001", province="91")  # WIT
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    evening_wit = datetime(2026, 11, 13, 13, 0, tzinfo=UTC)  # 22:00 WIT
    (outcome,) = await dispatcher_for(context, outbox, now=evening_wit).send_batch(
        queue_all(context)
    )
    assert outcome.state == "queued"
    assert outcome.retry_at == datetime(2026, 11, 13, 23, 0, tzinfo=UTC)  # 08:00 WIT
    assert fake.sent() == []


async def test_changes_after_planning_are_respected_at_send_time(
    context: AppContext, outbox, fake: FakeTelegram
) -> None:
    paid = make_participant(context, "tg:5001")
    make_participant(context, "tg:5002")
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    with context.sessions.begin() as session:
        session.execute(update(Participant).where(Participant.id == paid).values(paid_through=NOV))
    set_reminders(context.channel_log, "tg:5002", True, None, context.clock.now())
    outcomes = await dispatcher_for(context, outbox).send_batch(queue_all(context))
    assert [o.state for o in outcomes] == ["skipped", "skipped"]
    assert sorted(r.reason for r in reminders(context)) == [
        "opted out of reminders",
        "paid since it was planned",
    ]
    assert fake.sent() == []


async def test_a_reminder_is_claimed_once_even_if_queued_twice(
    context: AppContext, outbox, fake: FakeTelegram
) -> None:
    make_participant(context, "tg:6001")
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    ids = queue_all(context)
    first = dispatcher_for(context, outbox)
    second = dispatcher_for(context, outbox)
    outcomes = [*await first.send_batch(ids), *await second.send_batch(ids)]
    assert sorted(o.state for o in outcomes) == ["sent", "taken"]
    assert len(fake.sent()) == 1


async def test_platform_failures_retry_later_or_fail_for_good(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    make_participant(context, "wa:+6281100000030")
    make_participant(context, "wa:+6281100000031")
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    ids = queue_all(context)
    twilio.failures = [500, 500, 500, 500]  # the outbox's 4 attempts for the first one
    first = await dispatcher_for(context, outbox).send(ids[0])
    assert first.state == "queued" and first.retry_at == MORNING + timedelta(minutes=5)
    twilio.failures = [400]
    second = await dispatcher_for(context, outbox).send(ids[1])
    assert second.state == "failed"
    states = {r.id: (r.state, r.attempts) for r in reminders(context)}
    assert states[ids[0]] == ("queued", 1) and states[ids[1]] == ("failed", 1)
    # The retry, when it comes, goes through.
    assert (await dispatcher_for(context, outbox).send(ids[0])).state == "sent"


async def test_delivery_reports_reach_the_reminder(
    context: AppContext, outbox, twilio: FakeTwilio
) -> None:
    make_participant(context, "wa:+6281100000040")
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    await dispatcher_for(context, outbox).send_batch(queue_all(context))
    (message,) = twilio.messages
    assert context.channel_log.record_status(message["sid"], "delivered", None)
    assert reminders(context)[0].state == "delivered"
    assert context.channel_log.record_status(message["sid"], "read", None)
    assert counts_by_state(context.unit_of_work()) == {"read": 1}


def test_recovery_after_a_worker_died(context: AppContext) -> None:
    for chat in (7001, 7002, 7003):
        make_participant(context, f"tg:{chat}")
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    claimed, sending, lost = queue_all(context)
    long_ago = MORNING - timedelta(hours=1)
    with context.sessions.begin() as session:
        for reminder_id, state in ((claimed, "claimed"), (sending, "sending")):
            session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .values(state=state, claimed_at=long_ago, updated_at=long_ago)
            )
        session.execute(update(Reminder).where(Reminder.id == lost).values(updated_at=long_ago))
    busy = recover(context.unit_of_work(), MORNING, queue_idle=False)
    assert busy.requeue == [claimed] and busy.unknown == 1
    states = {r.id: r.state for r in reminders(context)}
    assert states == {claimed: "queued", sending: "unknown", lost: "queued"}
    idle = recover(context.unit_of_work(), MORNING + timedelta(hours=1), queue_idle=True)
    assert sorted(idle.requeue) == sorted([claimed, lost])


async def test_a_send_without_an_answer_is_never_repeated(
    context: AppContext, outbox, fake: FakeTelegram
) -> None:
    """Telegram took the request but answered after python-telegram-bot's 5 s read timeout:
    it may have the message, so resending could duplicate it."""
    make_participant(context, "tg:8001")
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    fake.delay_seconds = 6
    (outcome,) = await dispatcher_for(context, outbox).send_batch(queue_all(context))
    assert outcome.state == "unknown"
    assert len(fake.sent()) == 1
    (row,) = reminders(context)
    assert row.state == "unknown" and "did not answer" in (row.reason or "")


async def test_a_claim_taken_back_by_recovery_is_not_sent_by_its_first_worker(
    context: AppContext, outbox, fake: FakeTelegram
) -> None:
    """Worker A claims, stalls (rate limiter, slow network); recovery hands the reminder to
    worker B, which sends it. When A wakes up it must not send a second copy."""
    make_participant(context, "tg:8101")
    plan(context.unit_of_work, BEFORE_NOV, load_calendar(), POLICY, write=True)
    (reminder_id,) = queue_all(context)
    slow = dispatcher_for(context, outbox)
    claimed = slow._claim(reminder_id)
    assert claimed is not None
    later = MORNING + timedelta(minutes=30)
    assert recover(context.unit_of_work(), later, queue_idle=False).requeue == [reminder_id]
    assert (await dispatcher_for(context, outbox, now=later).send(reminder_id)).state == "sent"
    assert (await slow._send_claimed(reminder_id, claimed)).state == "taken"
    assert len(fake.sent()) == 1
