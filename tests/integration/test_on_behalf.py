"""An agent's walk-in registration and the resident's consent, on PostgreSQL: read aloud
(attested), or held until the resident's own number replies with the one-time code."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app_context import AppContext
from bot.db.models import AuditEvent, ChannelContact, ConsentRecord, Participant, PendingConsent
from bot.domain.consent import new_code
from bot.domain.nik import parse_nik
from bot.domain.registration import Registration
from bot.domain.replies import BotReply
from bot.domain.senders import Channel
from bot.infra.privacy import keyed_hash
from bot.infra.settings import Settings
from bot.services.agents import AgentRef, enrol_agent
from bot.services.code_quota import MAX_CODES_PER_NUMBER_PER_DAY, take_code_slot
from bot.services.on_behalf import CodeResult, HeldRegistration, OnBehalfRegistrations
from bot.services.participants import DuplicateNik, find_for_sender
from tests.conftest import TEST_PII_KEY
from tests.support.clock import fixed_clock

TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
RESIDENT = "+6281234500077"
AGENT_CHAT = "tg:700100"


@pytest.fixture
def context(pg_url: str) -> Iterator[AppContext]:
    context = AppContext.from_settings(
        Settings(
            _env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY,
            consent_code_valid_minutes=30, consent_code_max_attempts=3,
        ),
        fixed_clock(NOW),
    )  # fmt: skip
    yield context
    context.engine.dispose()


@pytest.fixture
def agent_id(context: AppContext) -> int:
    return enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Perisai",
        phone="+6281300000001", telegram_user_id=700100, village="Karanglo", district="Kerek",
        regency="Tuban",
    )  # fmt: skip


def walk_in(nik: str = "3523031708800101", phone: str = RESIDENT) -> Registration:
    return Registration(
        full_name="Sumarni", nik=parse_nik(nik, TODAY), birth_date=date(1980, 8, 17), phone=phone,
        village="Karanglo", district="Kerek", regency="Tuban", occupation="petani",
        declared_income=1_000_000, with_jht=False, channel=Channel.WHATSAPP,
    )  # fmt: skip


def hold(
    on_behalf: OnBehalfRegistrations, agent_id: int, registration: Registration, wording: str,
    now: datetime,
) -> HeldRegistration:  # fmt: skip
    return on_behalf.hold_for_code(
        agent_id, AGENT_CHAT, registration, new_code(on_behalf.policy), wording, now
    )


def participants(context: AppContext) -> int:
    with context.sessions() as session:
        return session.scalar(select(func.count()).select_from(Participant)) or 0


def test_read_aloud_registers_the_resident_on_their_own_number_with_the_attestation(
    context: AppContext, agent_id: int
) -> None:
    wording = "Dibacakan oleh agen Perisai Siti Perisai kepada warga, yang menyatakan setuju: …"
    result = context.on_behalf.register_read_aloud(agent_id, walk_in(), wording, NOW)

    with context.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        consent = session.get(ConsentRecord, participant.consent_record_id)
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.participant_id == participant.id)
        ).one()
        contact = session.scalars(select(ChannelContact)).one()
    assert participant.reference == result.reference
    assert participant.registered_by_agent_id == agent_id
    assert participant.sender_hash == keyed_hash(context.hash_key, f"wa:{RESIDENT}")
    assert consent is not None
    assert (consent.method, consent.agent_id, consent.wording) == (
        "agent_read_aloud",
        agent_id,
        wording,
    )
    assert (audit.actor, audit.action) == (f"agent:{agent_id}", "registered_on_behalf")
    # Reminders can reach the resident, whose 24-hour window is still closed.
    assert contact.sender_hash == participant.sender_hash and contact.last_inbound_at is None
    view = find_for_sender(
        context.unit_of_work(), context.cipher, context.hash_key, f"wa:{RESIDENT}"
    )
    assert view is not None and view.reference == result.reference
    with pytest.raises(DuplicateNik):
        context.on_behalf.register_read_aloud(agent_id, walk_in(), wording, NOW)


def test_nothing_is_registered_until_the_resident_s_own_number_replies_with_the_code(
    context: AppContext, agent_id: int
) -> None:
    on_behalf = context.on_behalf
    held = hold(on_behalf, agent_id, walk_in(), "Halo … kode ••••••", NOW)
    assert held.resident_sender_id == f"wa:{RESIDENT}"
    assert held.expires_at == NOW + timedelta(minutes=30)
    assert participants(context) == 0
    with context.sessions() as session:
        pending = session.scalars(select(PendingConsent)).one()
    # Nothing readable at rest: no code, no NIK, no phone.
    stored = f"{pending.code_hash}{pending.registration_encrypted}{pending.phone_hash}"
    assert held.code not in stored and "3523031708800101" not in stored and RESIDENT not in stored

    assert on_behalf.confirm("wa:+6281299999999", held.code, NOW).result is (
        CodeResult.NOTHING_WAITING
    )
    assert on_behalf.confirm(f"tg:{RESIDENT[1:]}", held.code, NOW).result is (
        CodeResult.NOTHING_WAITING
    )
    assert on_behalf.confirm(f"wa:{RESIDENT}", "setuju", NOW).result is CodeResult.NO_CODE
    wrong = "000000" if held.code != "000000" else "111111"
    outcome = on_behalf.confirm(f"wa:{RESIDENT}", wrong, NOW)
    assert (outcome.result, outcome.attempts_left) == (CodeResult.WRONG, 2)
    assert participants(context) == 0

    outcome = on_behalf.confirm(f"wa:{RESIDENT}", f"SETUJU {held.code}", NOW)
    assert outcome.result is CodeResult.REGISTERED and outcome.registered is not None
    assert (outcome.resident_name, outcome.agent_sender_id) == ("Sumarni", AGENT_CHAT)
    with context.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        consent = session.get(ConsentRecord, participant.consent_record_id)
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert session.scalar(select(func.count()).select_from(PendingConsent)) == 0
    assert participant.reference == outcome.registered.reference
    assert participant.registered_by_agent_id == agent_id
    assert consent is not None and consent.method == "one_time_code"
    assert consent.wording == "Halo … kode ••••••" and held.code not in consent.wording
    assert actions == ["consent_code_held", "consent_code_accepted", "registered_on_behalf"]
    # Used once: the same code again finds nothing waiting.
    assert on_behalf.confirm(f"wa:{RESIDENT}", held.code, NOW).result is (
        CodeResult.NOTHING_WAITING
    )


def test_an_expired_code_registers_nobody_and_forgets_the_data(
    context: AppContext, agent_id: int
) -> None:
    held = hold(context.on_behalf, agent_id, walk_in(), "…", NOW)
    late = NOW + timedelta(minutes=30)
    outcome = context.on_behalf.confirm(f"wa:{RESIDENT}", held.code, late)
    assert (outcome.result, outcome.agent_sender_id) == (CodeResult.EXPIRED, AGENT_CHAT)
    assert participants(context) == 0
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PendingConsent)) == 0


def test_too_many_wrong_codes_lock_it_even_for_the_right_one(
    context: AppContext, agent_id: int
) -> None:
    held = hold(context.on_behalf, agent_id, walk_in(), "…", NOW)
    wrong = "000000" if held.code != "000000" else "111111"
    results = [context.on_behalf.confirm(f"wa:{RESIDENT}", wrong, NOW).result for _ in range(3)]
    assert results == [CodeResult.WRONG, CodeResult.WRONG, CodeResult.LOCKED]
    assert context.on_behalf.confirm(f"wa:{RESIDENT}", held.code, NOW).result is (
        CodeResult.NOTHING_WAITING
    )
    assert participants(context) == 0


def test_a_code_that_could_not_be_sent_leaves_nothing_behind(
    context: AppContext, agent_id: int
) -> None:
    held = hold(context.on_behalf, agent_id, walk_in(), "…", NOW)
    context.on_behalf.release(agent_id, walk_in(), NOW)
    assert context.on_behalf.confirm(f"wa:{RESIDENT}", held.code, NOW).result is (
        CodeResult.NOTHING_WAITING
    )
    with context.sessions() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["consent_code_held", "consent_code_not_sent"]


def test_a_new_code_for_the_same_person_replaces_theirs(context: AppContext, agent_id: int) -> None:
    first = hold(context.on_behalf, agent_id, walk_in(), "…", NOW)
    second = hold(context.on_behalf, agent_id, walk_in(), "…", NOW)
    if first.code != second.code:
        outcome = context.on_behalf.confirm(f"wa:{RESIDENT}", first.code, NOW)
        assert outcome.result is CodeResult.WRONG
    outcome = context.on_behalf.confirm(f"wa:{RESIDENT}", second.code, NOW)
    assert outcome.result is CodeResult.REGISTERED


def test_family_members_sharing_a_phone_each_confirm_their_own_registration(
    context: AppContext, agent_id: int
) -> None:
    husband = walk_in("3523031708800103")
    wife = replace(walk_in("3523035708820104"), full_name="Sumirah", birth_date=date(1982, 8, 17))
    his = hold(context.on_behalf, agent_id, husband, "…", NOW)
    hers = hold(context.on_behalf, agent_id, wife, "…", NOW)
    wrong = next(c for c in ("000000", "111111", "222222") if c not in (his.code, hers.code))
    # A wrong code counts against both: a shared phone gives no extra guesses.
    outcome = context.on_behalf.confirm(f"wa:{RESIDENT}", wrong, NOW)
    assert (outcome.result, outcome.attempts_left) == (CodeResult.WRONG, 2)
    if his.code != hers.code:
        outcome = context.on_behalf.confirm(f"wa:{RESIDENT}", hers.code, NOW)
        assert (outcome.result, outcome.resident_name) == (CodeResult.REGISTERED, "Sumirah")
        outcome = context.on_behalf.confirm(f"wa:{RESIDENT}", his.code, NOW)
        assert (outcome.result, outcome.resident_name) == (CodeResult.REGISTERED, "Sumarni")
        assert participants(context) == 2
        with context.sessions() as session:
            owners = set(session.scalars(select(Participant.sender_hash)).all())
        # Both belong to the shared number: its reminders and "cek status".
        assert owners == {keyed_hash(context.hash_key, f"wa:{RESIDENT}")}


def test_two_replies_at_once_register_the_resident_once(context: AppContext, agent_id: int) -> None:
    held = hold(context.on_behalf, agent_id, walk_in(), "…", NOW)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(
            pool.map(
                lambda _: context.on_behalf.confirm(f"wa:{RESIDENT}", held.code, NOW),
                range(4),
            )
        )
    results = sorted(o.result.value for o in outcomes)
    assert results.count("registered") == 1 and results.count("nothing_waiting") == 3
    assert participants(context) == 1


def test_codes_nobody_answered_are_purged(context: AppContext, agent_id: int) -> None:
    hold(context.on_behalf, agent_id, walk_in(), "…", NOW)
    other = walk_in("3523031708800102", "+6281234500078")
    hold(context.on_behalf, agent_id, other, "…", NOW + timedelta(minutes=20))
    on_behalf: OnBehalfRegistrations = context.on_behalf
    assert on_behalf.purge_expired(NOW + timedelta(minutes=31)) == 1
    assert on_behalf.purge_expired(NOW + timedelta(minutes=31)) == 0
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PendingConsent)) == 1
        expired = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "consent_code_expired")
        ).all()
    assert [e.actor for e in expired] == [f"agent:{agent_id}"]


@dataclass
class Sent:
    ok: bool = True
    uncertain: bool = False
    cancelled: bool = False
    retryable: bool = False
    error: str | None = None
    record_ids: tuple[int, ...] = ()


@dataclass
class RecordingCourier:
    """Takes every message (the number wrote to Sadar lately: free text is allowed)."""

    sent: list[tuple[str, BotReply]] = field(default_factory=list)

    def has_channel(self, channel: Channel) -> bool:
        return channel is Channel.WHATSAPP

    async def send(self, recipient: str, message: BotReply, purpose: str = "", on_handover=None):
        self.sent.append((recipient, message))
        return Sent()


async def test_walk_in_codes_count_against_the_numbers_daily_cap(
    context: AppContext, agent_id: int
) -> None:
    """Link codes and consent codes share one cap per destination number."""
    context.channel_log.record_inbound(f"wa:{RESIDENT}", NOW - timedelta(hours=1))
    for _ in range(MAX_CODES_PER_NUMBER_PER_DAY - 1):
        with context.unit_of_work() as uow:
            assert take_code_slot(uow.session, context.hash_key, RESIDENT, "link_add", NOW)
            uow.commit()
    courier = RecordingCourier()
    agent = AgentRef(agent_id, "Siti Perisai", "Karanglo", "Kerek", "Tuban")
    send = context.on_behalf.send_code
    held = await send(courier, agent, AGENT_CHAT, walk_in(), lambda c: f"Kode: {c}", None, NOW)
    assert held is not None and len(courier.sent) == 1
    refused = await send(
        courier, agent, AGENT_CHAT, walk_in("3523031708800102"), lambda c: f"Kode: {c}", None, NOW
    )
    assert refused is None and len(courier.sent) == 1
    # Another number still gets its code.
    other = walk_in("3523031708800103", phone="+6281234500088")
    context.channel_log.record_inbound("wa:+6281234500088", NOW - timedelta(hours=1))
    assert await send(courier, agent, AGENT_CHAT, other, lambda c: f"Kode: {c}", None, NOW)


async def test_a_code_outside_the_window_waits_for_the_resident_to_write(
    context: AppContext, agent_id: int
) -> None:
    """No approved template and a resident who never wrote: nothing is sent, the
    registration waits; the moment their number writes, a fresh code goes and works."""
    courier = RecordingCourier()
    agent = AgentRef(agent_id, "Siti Perisai", "Karanglo", "Kerek", "Tuban")
    held = await context.on_behalf.send_code(
        courier, agent, AGENT_CHAT, walk_in(), lambda c: f"Kode dari Siti: {c}", None, NOW
    )
    assert held is not None and held.awaiting_contact
    assert courier.sent == [] and participants(context) == 0
    # Another number writing changes nothing; a Telegram chat neither.
    assert await context.on_behalf.send_awaited_codes(courier, "wa:+6281234500099", NOW) == []
    assert await context.on_behalf.send_awaited_codes(courier, "tg:4242", NOW) == []

    later = NOW + timedelta(minutes=5)
    context.channel_log.record_inbound(f"wa:{RESIDENT}", later)
    sent = await context.on_behalf.send_awaited_codes(courier, f"wa:{RESIDENT}", later)
    assert [(s.agent_sender_id, s.resident_name, s.delivered) for s in sent] == [
        (AGENT_CHAT, "Sumarni", True)
    ]
    ((to, message),) = courier.sent
    assert to == f"wa:{RESIDENT}" and message.text is not None
    code = message.text.removeprefix("Kode dari Siti: ")
    assert code.isdigit() and code != held.code  # a fresh code, never the unsent one
    # Sent once: writing again sends nothing more.
    assert await context.on_behalf.send_awaited_codes(courier, f"wa:{RESIDENT}", later) == []
    outcome = context.on_behalf.confirm(f"wa:{RESIDENT}", code, later)
    assert outcome.result is CodeResult.REGISTERED and participants(context) == 1


async def test_reading_aloud_drops_a_code_still_waiting_for_the_same_person(
    context: AppContext, agent_id: int
) -> None:
    courier = RecordingCourier()
    agent = AgentRef(agent_id, "Siti Perisai", "Karanglo", "Kerek", "Tuban")
    held = await context.on_behalf.send_code(
        courier, agent, AGENT_CHAT, walk_in(), lambda c: f"Kode: {c}", None, NOW
    )
    assert held is not None and held.awaiting_contact
    context.on_behalf.register_read_aloud(agent_id, walk_in(), "dibacakan", NOW)
    with context.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(PendingConsent)) == 0
    assert await context.on_behalf.send_awaited_codes(courier, f"wa:{RESIDENT}", NOW) == []
