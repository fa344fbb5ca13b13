"""Erasure is complete (issue 25), at the service: a participant with something in every
table that can name them (addresses on two channels, a number they moved away from, a
ticket, waiting codes, a held walk-in registration, a reminder, a payment, a dispute,
delivery records, audit events by participant id, by hash, by reference and by ticket)
erases from WhatsApp; the whole database is then searched for any trace, and what the
office keeps is still there, unlinked. The same through the whole stack:
tests/e2e/test_erasure.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app_context import AppContext
from bot.db.models import (
    AddressLink,
    AuditEvent,
    ConsentRecord,
    Dispute,
    MovedAddress,
    Participant,
    Payment,
    PendingConsent,
    Reminder,
    Ticket,
    TicketMessage,
)
from bot.domain.addresses import Proof
from bot.domain.clock import FixedClock
from bot.domain.senders import Channel
from bot.infra.privacy import conversation_key, keyed_hash
from bot.infra.settings import Settings
from bot.services.addresses.reachability import link_address
from bot.services.agents import enrol_agent
from bot.services.code_quota import destination_hash, take_code_slot
from bot.services.erasure import delete_for_sender
from bot.services.participants import nik_lookup_hash, phone_lookup_hash
from bot.services.payments import PaymentRejected, PaymentSource, confirm_payment, record_payment
from tests.conftest import TEST_PII_KEY
from tests.support.participants import make_participant
from tests.support.traces import find_traces

NOW = datetime(2026, 11, 13, 3, 0, tzinfo=UTC)
NIK = "3571021708800412"
#: The number make_participant types for a web registration.
PHONE = "+6281200000000"
WEB, WA, OLD_WA = "web:kiosk-erase-1", f"wa:{PHONE}", "wa:+6281311112222"
NEW_NUMBER = "wa:+6285733334444"
QUESTION = "apakah bisa bayar lewat kantor pos?"


@pytest.fixture
def context(pg_url: str) -> Iterator[AppContext]:
    settings = Settings(_env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY)
    context = AppContext.from_settings(settings, FixedClock(NOW))
    yield context
    context.engine.dispose()


def names_of(sender_id: str) -> dict[str, str]:
    digest = keyed_hash(TEST_PII_KEY, sender_id)
    return {
        f"{sender_id} id": sender_id,
        f"{sender_id} hash": digest,
        f"{sender_id} hash prefix": digest[:16],
        f"{sender_id} conversation key": conversation_key(TEST_PII_KEY, sender_id),
    }


def everything_about_one_resident(context: AppContext) -> tuple[int, str]:
    """A web registration with WhatsApp linked, and a trace in every table."""
    cipher, key = context.cipher, context.hash_key
    # Not yet handed over: erasure cancels the hand-over and its reference goes too (after
    # one, the reference waits for the withdrawal: tests/integration/test_submissions.py).
    participant_id = make_participant(context, WEB, nik=NIK, accepted=False)
    agent_id = enrol_agent(
        context.unit_of_work(), cipher, key, name="Siti Perisai", phone="+6281300000555",
        village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    for sender in (WA, OLD_WA):
        context.channel_log.record_inbound(sender, NOW)
    context.channel_log.record_outbound(
        WA, "reply", "delivered", provider_message_id="SM" + "7" * 32
    )
    record_payment(
        context.unit_of_work(), participant_id, source=PaymentSource.PARTICIPANT_REPORT,
        recorded_by="participant:wa", months=1, now=NOW,
    )  # fmt: skip
    with context.sessions.begin() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        reference = participant.reference
        link_address(session, participant_id, keyed_hash(key, WA), Channel.WHATSAPP,
                     Proof.ONE_TIME_CODE, NOW)  # fmt: skip
        session.add(
            MovedAddress(
                participant_id=participant_id, old_sender_hash=keyed_hash(key, OLD_WA),
                changed_at=NOW, report_until=NOW + timedelta(days=7),
            )
        )  # fmt: skip
        session.add(
            AddressLink(
                participant_id=participant_id, purpose="replace",
                target_sender_hash=keyed_hash(key, NEW_NUMBER),
                target_sender_encrypted=cipher.encrypt(NEW_NUMBER),
                requester_sender_hash=keyed_hash(key, WA), code_hash="0" * 64,
                expires_at=NOW + timedelta(minutes=30),
            )
        )  # fmt: skip
        take_code_slot(session, key, PHONE, "link_replace", NOW)
        held = {"nik": NIK, "full_name": "Warga Uji", "phone": PHONE}
        session.add(
            PendingConsent(
                agent_id=agent_id, phone_hash=phone_lookup_hash(key, PHONE),
                nik_hash=nik_lookup_hash(key, NIK), code_hash="1" * 64,
                registration_encrypted=cipher.encrypt(json.dumps(held)),
                agent_sender_encrypted=cipher.encrypt("tg:5551"), wording="kode",
                expires_at=NOW + timedelta(minutes=30),
            )
        )  # fmt: skip
        session.add(
            Reminder(
                participant_id=participant_id, period=date(2026, 11, 1), kind="before_due",
                state="queued", scheduled_for=NOW,
            )
        )  # fmt: skip
        ticket = Ticket(
            number=41, resident_sender_hash=keyed_hash(key, WA),
            resident_sender_encrypted=cipher.encrypt(WA), village="Karanglo",
            agent_id=agent_id, reason="asked", state="answered", created_at=NOW,
            last_activity_at=NOW,
        )  # fmt: skip
        session.add(ticket)
        session.flush()
        session.add(
            TicketMessage(
                ticket_id=ticket.id, author="resident", body_encrypted=cipher.encrypt(QUESTION),
                created_at=NOW,
            )
        )  # fmt: skip
        session.add(
            Dispute(
                agent_id=agent_id, participant_id=participant_id,
                nik_hash=nik_lookup_hash(key, NIK), reference=reference, state="confirming",
                created_at=NOW,
            )
        )  # fmt: skip
        for actor, action, fields in (
            (f"agent:{agent_id}", "ticket_taken", "T-41"),
            (f"agent:{agent_id}", "dispute_requested", reference),
            (f"wa:{keyed_hash(key, WA)[:16]}", "status_checked", ""),
        ):
            session.add(AuditEvent(actor=actor, action=action, fields=fields, created_at=NOW))
    return participant_id, reference


def test_erasure_leaves_no_trace_and_keeps_what_the_office_needs_unlinked(
    context: AppContext,
) -> None:
    participant_id, reference = everything_about_one_resident(context)
    with context.sessions() as session:
        kinds_before = sorted(session.scalars(select(AuditEvent.action)).all())
    erased_conversations: list[str] = []

    erased = delete_for_sender(
        context.unit_of_work(), context.cipher, context.hash_key, WA, NOW,
        erased_conversations.extend,
    )  # fmt: skip

    assert erased is not None and erased.reference == reference
    # Every other conversation of theirs, the web chat's and the old number's included.
    assert sorted(erased_conversations) == sorted([WEB, OLD_WA])
    needles = {
        "NIK": NIK,
        "NIK hash": nik_lookup_hash(TEST_PII_KEY, NIK),
        "phone": PHONE[1:],
        "phone hash": phone_lookup_hash(TEST_PII_KEY, PHONE),
        "phone's code quota hash": destination_hash(TEST_PII_KEY, PHONE),
        "name": "Warga Uji",
        "reference": reference,
        "ticket text": QUESTION,
        "platform message id": "SM" + "7" * 32,
        **names_of(WEB),
        **names_of(WA),
        **names_of(OLD_WA),
        **names_of(NEW_NUMBER),
    }
    left = find_traces(context.engine, context.cipher, needles, {"ticket": "T-41"})
    assert not left, "left behind:\n" + "\n".join(str(trace) for trace in left)

    with context.sessions() as session:
        # Every event keeps its kind and time; the erasure is one more.
        events = session.scalars(select(AuditEvent)).all()
        assert sorted(e.action for e in events) == sorted([*kinds_before, "deleted_by_participant"])
        assert all(e.participant_id is None and e.fields == "" for e in events)
        assert {e.actor for e in events} == {"agent:1", "web:erased", "wa:erased",
                                             "participant:erased"}  # fmt: skip
        # The accounts keep the payment: amount, months, receipt; nobody's.
        (payment,) = session.scalars(select(Payment)).all()
        assert payment.participant_id is None and payment.receipt and payment.amount > 0
        assert payment.recorded_by == "participant:erased"
        # The consent stays as proof of the wording agreed, without its sender.
        (consent,) = session.scalars(select(ConsentRecord)).all()
        assert consent.granted and consent.sender_hash == "erased"
        (dispute,) = session.scalars(select(Dispute)).all()
        assert dispute.state == "cancelled" and dispute.participant_id is None
        for model in (Participant, Ticket, TicketMessage, AddressLink, PendingConsent,
                      Reminder, MovedAddress):  # fmt: skip
            assert session.scalars(select(model)).all() == [], model.__name__
    assert participant_id not in {e.participant_id for e in events}
    # A report still waiting cannot be confirmed for nobody.
    with pytest.raises(PaymentRejected):
        confirm_payment(context.unit_of_work(), payment.id, "admin", now=NOW)
