"""The funnel recorded by the running stack (Rasa, the action server, the gateway) as
residents really chat: a registration from "mau daftar" to done, and one that stops at
the NIK after a refused answer and a request for a person."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import FunnelJourney, FunnelMark
from bot.domain.funnel import FUNNEL, Kind, Outcome, Step
from bot.services.funnel import funnel_key
from tests.conftest import TEST_PII_KEY
from tests.e2e.conftest import Stack, reply_texts, start_registration


def journey_of(
    db: sessionmaker[Session], sender_id: str
) -> tuple[FunnelJourney, list[tuple[str, str]]]:
    with db() as session:
        journey = session.scalars(
            select(FunnelJourney).where(
                FunnelJourney.conversation_hash == funnel_key(TEST_PII_KEY, sender_id)
            )
        ).one()
        marks = session.execute(
            select(FunnelMark.step, FunnelMark.kind)
            .where(FunnelMark.journey_id == journey.id)
            .order_by(FunnelMark.id)
        ).all()
        session.expunge(journey)
    return journey, [(step, kind) for step, kind in marks]


def test_a_registration_is_followed_from_start_to_done(stack: Stack, db) -> None:
    sender = f"funnel-{uuid.uuid4().hex[:8]}"
    start_registration(stack, sender)
    for text in ("nama saya Sri Rahayu", "3571021708800777", "17 agustus 1980",
                 "0812 3456 7891", "desa Karanglo", "petani", "1 juta", "ya"):  # fmt: skip
        stack.chat(sender, text)
    assert "SDR-" in " ".join(reply_texts(stack.chat(sender, "ya, daftarkan")))

    journey, marks = journey_of(db, stack.web_sender(sender))
    assert journey.outcome == Outcome.CONFIRMED and journey.channel == "web"
    assert journey.furthest == len(FUNNEL) - 1
    assert (journey.village, journey.district, journey.regency) == ("Karanglo", "Kerek", "Tuban")
    reached = [step for step, kind in marks if kind == Kind.REACHED]
    assert reached[:4] == [Step.STARTED, Step.CONSENT_ASKED, Step.CONSENT_GIVEN, Step.FULL_NAME]
    assert reached[-2:] == [Step.SUMMARY_SHOWN, Step.CONFIRMED]
    assert {Step.NIK, Step.PHONE, Step.WITH_JHT} <= set(reached)
    # No personal data: the conversation is a keyed hash, the rest are step names.
    assert web_id_absent(db, stack.web_sender(sender))


def test_a_refused_nik_and_a_request_for_a_person_are_marked_at_the_nik(stack: Stack, db) -> None:
    sender = f"funnel-{uuid.uuid4().hex[:8]}"
    start_registration(stack, sender)
    stack.chat(sender, "Darmi")
    stack.chat(sender, "35710217088")  # too short: asked again
    stack.chat(sender, "sy mau bicara sm petugas aja")

    journey, marks = journey_of(db, stack.web_sender(sender))
    # Asked for the NIK (the name was answered), never gave one.
    assert journey.outcome is None and journey.furthest == FUNNEL.index(Step.NIK)
    assert (Step.NIK, Kind.RETRY) in marks
    assert (Step.NIK, Kind.HANDOFF) in marks


def web_id_absent(db: sessionmaker[Session], sender_id: str) -> bool:
    address = sender_id.split(":", 1)[1]
    with db() as session:
        rows = session.execute(select(FunnelJourney.conversation_hash)).scalars().all()
    return all(address not in row for row in rows)
