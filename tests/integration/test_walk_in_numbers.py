"""A walk-in's WhatsApp number is never an enrolled agent's (issue 25, point 3): not the
agent's own, not a colleague's, not a suspended agent's. Nothing is held, sent or
registered, and the refusal is audited; a code that cannot be sent is audited too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.app_context import AppContext
from bot.channels.factory import build_outbox
from bot.db.models import AuditEvent, Participant, PendingConsent
from bot.infra.settings import Settings
from bot.services.agents import AgentRef, enrol_agent, suspend_agent
from bot.services.on_behalf import AgentNumber
from tests.conftest import TEST_PII_KEY
from tests.integration.test_on_behalf import NOW, walk_in
from tests.support.clock import fixed_clock
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_FROM, FakeTwilio

OWN = "+6281300000501"
COLLEAGUE = "+6281300000502"


@pytest.fixture
def context(pg_url: str, twilio: FakeTwilio) -> Iterator[AppContext]:
    settings = Settings(
        _env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY,
        twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_from=WHATSAPP_FROM, twilio_api_base_url=twilio.base_url,
    )  # fmt: skip
    context = AppContext.from_settings(settings, fixed_clock(NOW))
    yield context
    context.engine.dispose()


def enrol(context: AppContext, name: str, phone: str) -> AgentRef:
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name=name, phone=phone,
        village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    return AgentRef(agent_id, name, "Karanglo", "Kerek", "Tuban")


def counts(context: AppContext) -> tuple[int, int, list[str]]:
    with context.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Participant)) or 0,
            session.scalar(select(func.count()).select_from(PendingConsent)) or 0,
            list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))),
        )


async def test_no_code_goes_to_an_agent_s_number(context: AppContext, twilio: FakeTwilio) -> None:
    siti = enrol(context, "Siti Perisai", OWN)
    budi = enrol(context, "Budi Perisai", COLLEAGUE)
    suspend_agent(context.unit_of_work(), budi.id, NOW)  # suspended: still an agent's number
    outbox = build_outbox(context.settings, context.channel_log)
    try:
        for number in (OWN, COLLEAGUE):
            with pytest.raises(AgentNumber):
                await context.on_behalf.send_code(
                    outbox, siti, f"wa:{OWN}", walk_in(phone=number), lambda code: code, None,
                    NOW,
                )  # fmt: skip
        assert twilio.to(OWN) == [] and twilio.to(COLLEAGUE) == []
    finally:
        await outbox.aclose()
    assert counts(context) == (0, 0, ["walk_in_agent_number_refused"] * 2)


def test_reading_aloud_never_registers_onto_an_agent_s_number(context: AppContext) -> None:
    siti = enrol(context, "Siti Perisai", OWN)
    enrol(context, "Budi Perisai", COLLEAGUE)
    with pytest.raises(AgentNumber):
        context.on_behalf.register_read_aloud(siti.id, walk_in(phone=COLLEAGUE), "dibacakan", NOW)
    assert counts(context) == (0, 0, ["walk_in_agent_number_refused"])
    # The resident's own number is fine.
    context.on_behalf.register_read_aloud(siti.id, walk_in(), "dibacakan", NOW)
    assert counts(context)[0] == 1


async def test_a_code_that_needs_a_template_waits_for_the_resident_to_write(
    context: AppContext,
) -> None:
    """The resident never wrote to Sadar and no template is set: the code cannot go yet;
    the registration is held (audited) until their number writes."""
    siti = enrol(context, "Siti Perisai", OWN)
    outbox = build_outbox(context.settings, context.channel_log)
    try:
        held = await context.on_behalf.send_code(
            outbox, siti, f"wa:{OWN}", walk_in(), lambda code: code, None, NOW
        )
    finally:
        await outbox.aclose()
    assert held is not None and held.awaiting_contact
    assert counts(context) == (0, 1, ["consent_code_held"])
