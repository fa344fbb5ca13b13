"""A resident is told what an agent recorded for them, within WhatsApp's rules: free text
inside the 24-hour window, the approved template outside it, and an honest result (so the
agent can be told) when neither is possible. Cash and jimpitan payments an agent records
in chat are told to each resident on their own reachable address, and the agent hears how
many were told; the code path's reply is the resident's registration notice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

import actions.agents
import actions.resident_notices
from actions.agents import ActionAgentPayment
from bot.app_context import AppContext
from bot.db.models import Participant
from bot.domain.consent import new_code
from bot.domain.replies import BotReply
from bot.domain.senders import Channel
from bot.infra.settings import PROJECT_ROOT
from bot.services.agents import enrol_agent
from bot.services.on_behalf import CodeResult
from bot.services.resident_notices import NoticeResult, ResidentNotice, ResidentNotices
from tests.integration.test_on_behalf import RecordingCourier, Sent, walk_in
from tests.support.contexts import context_at
from tests.support.participants import make_participant

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
TEMPLATE = "HX" + "e2" * 16
NOTICE = ResidentNotice(
    text="Halo Sumarni, Anda sudah didaftarkan oleh Siti Perisai. Nomor: SDR-AAAA-BBBB.",
    recorded="pendaftaran BPJS Ketenagakerjaan",
    agent_name="Siti Perisai",
    reference="SDR-AAAA-BBBB",
)


@pytest.fixture
def context(pg_url: str) -> Iterator[AppContext]:
    with context_at(pg_url, NOW) as context:
        yield context


async def test_inside_the_window_the_resident_reads_the_text(context: AppContext) -> None:
    resident = "wa:+6281234500301"
    context.channel_log.record_inbound(resident, NOW - timedelta(hours=2))
    courier = RecordingCourier()
    told = await ResidentNotices(context.channel_log, None).tell(courier, resident, NOTICE, NOW)
    assert told is NoticeResult.SENT
    assert [(to, reply.text) for to, reply in courier.sent] == [(resident, NOTICE.text)]


async def test_outside_the_window_only_the_approved_template_goes(context: AppContext) -> None:
    resident = "wa:+6281234500302"  # never wrote to Sadar
    courier = RecordingCourier()
    without = ResidentNotices(context.channel_log, None)
    assert await without.tell(courier, resident, NOTICE, NOW) is NoticeResult.NEEDS_TEMPLATE
    assert courier.sent == []
    told = await ResidentNotices(context.channel_log, TEMPLATE).tell(courier, resident, NOTICE, NOW)
    assert told is NoticeResult.SENT
    ((to, reply),) = courier.sent
    assert to == resident and reply.template is not None
    assert reply.template.content_sid == TEMPLATE
    assert dict(reply.template.variables) == {
        "1": "pendaftaran BPJS Ketenagakerjaan",
        "2": "Siti Perisai",
        "3": "SDR-AAAA-BBBB",
    }


async def test_no_address_or_no_sender_is_unreachable(context: AppContext) -> None:
    notices, courier = ResidentNotices(context.channel_log, TEMPLATE), RecordingCourier()
    assert await notices.tell(courier, None, NOTICE, NOW) is NoticeResult.UNREACHABLE
    assert await notices.tell(courier, "tg:4242", NOTICE, NOW) is NoticeResult.UNREACHABLE
    assert courier.sent == []


@dataclass
class BothChannels:
    """Takes every message on WhatsApp and Telegram (what the outbox would send)."""

    sent: list[tuple[str, BotReply]] = field(default_factory=list)

    def has_channel(self, channel: Channel) -> bool:
        return channel in (Channel.WHATSAPP, Channel.TELEGRAM)

    async def send(self, recipient: str, message: BotReply, purpose: str = "", on_handover=None):
        self.sent.append((recipient, message))
        return Sent()


def _counted(result: NoticeResult) -> float:
    labels = {"result": result.value}
    return REGISTRY.get_sample_value("sadar_resident_notices_total", labels) or 0.0


async def test_the_next_address_is_tried_and_every_outcome_is_counted(
    context: AppContext,
) -> None:
    notices, courier = ResidentNotices(context.channel_log, None), BothChannels()
    telegram = "tg:4243"
    before = {result: _counted(result) for result in NoticeResult}
    # Their WhatsApp never wrote (no template to reach it): their Telegram hears it.
    told = await notices.tell_first(courier, ["wa:+6281234500303", telegram], NOTICE, NOW)
    assert (told.result, told.channel) == (NoticeResult.SENT, Channel.TELEGRAM)
    assert [to for to, _ in courier.sent] == [telegram]
    # Nothing takes it: the agent hears why (a template is needed), not just "unreachable".
    alone = await notices.tell_first(courier, ["wa:+6281234500303"], NOTICE, NOW)
    assert alone.result is NoticeResult.NEEDS_TEMPLATE
    assert (await notices.tell_first(courier, [], NOTICE, NOW)).result is NoticeResult.UNREACHABLE
    assert len(courier.sent) == 1
    after = {result: _counted(result) for result in NoticeResult}
    assert {r: after[r] - before[r] for r in NoticeResult if after[r] != before[r]} == {
        NoticeResult.SENT: 1,
        NoticeResult.NEEDS_TEMPLATE: 1,
        NoticeResult.UNREACHABLE: 1,
    }


DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text("utf-8"))
AGENT_TELEGRAM_ID = 700_200


@pytest.fixture
def agent_chat(context: AppContext) -> str:
    """An enrolled agent of Karanglo, writing from Telegram."""
    enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Joko Perisai",
        phone="+6281300000002", telegram_user_id=AGENT_TELEGRAM_ID, village="Karanglo",
        district="Kerek", regency="Tuban",
    )  # fmt: skip
    return f"tg:{AGENT_TELEGRAM_ID}"


@pytest.fixture
def courier(context: AppContext, monkeypatch: pytest.MonkeyPatch) -> BothChannels:
    """The action server's context and outbox, for the agent's payment action."""
    courier = BothChannels()
    monkeypatch.setattr(actions.agents, "get_app_context", lambda: context)
    monkeypatch.setattr(actions.resident_notices, "get_outbox", lambda _context: courier)
    return courier


def _reference(context: AppContext, participant_id: int) -> str:
    with context.sessions() as session:
        reference = session.scalar(
            select(Participant.reference).where(Participant.id == participant_id)
        )
    assert reference is not None
    return reference


async def _agent_writes(agent_chat: str, text: str, intent: str) -> list[dict[str, Any]]:
    tracker = Tracker(
        sender_id=agent_chat,
        slots={},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9},
                        "entities": [], "intent_ranking": []},
        events=[], paused=False, followup_action=None, active_loop={},
        latest_action_name="action_listen",
    )  # fmt: skip
    dispatcher = CollectingDispatcher()
    await ActionAgentPayment().run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages


async def test_cash_an_agent_records_is_told_to_the_resident_and_the_agent_hears_it_went(
    context: AppContext, agent_chat: str, courier: BothChannels
) -> None:
    resident = "wa:+6281234500401"  # wrote to Sadar an hour ago: free text reaches them
    reference = _reference(context, make_participant(context, resident))

    said = await _agent_writes(agent_chat, f"bayar {reference} 3 bulan", "agent_record_payment")
    assert [m["response"] for m in said] == [
        "utter_agent_payment_recorded",
        "utter_agent_resident_notice_sent",
    ]
    assert said[1]["via"] == "WhatsApp"
    ((to, notice),) = courier.sent
    receipt = said[0]["receipt"]
    assert to == resident and notice.template is None
    assert notice.text == (
        f"Halo, iuran BPJS Ketenagakerjaan Anda ({reference}) sudah dibayar tunai lewat Joko "
        "Perisai, agen Perisai desa Karanglo: 3 bulan, Rp50.400. Kuitansi: "
        f'{receipt}. Iuran Anda kini dibayar sampai Januari 2027. Ketik "cek status" untuk '
        "memeriksanya."
    )


async def test_cash_for_a_resident_no_address_reaches_is_told_to_the_agent_not_an_error(
    context: AppContext, agent_chat: str, courier: BothChannels
) -> None:
    reference = _reference(context, make_participant(context, "web:warga-tanpa-wa"))
    said = await _agent_writes(agent_chat, f"bayar {reference} 1 bulan", "agent_record_payment")
    assert [m["response"] for m in said] == [
        "utter_agent_payment_recorded",
        "utter_agent_resident_notice_unreachable",
    ]
    assert courier.sent == []


async def test_every_jimpitan_member_hears_their_own_months_and_the_agent_counts_the_rest(
    context: AppContext, agent_chat: str, courier: BothChannels
) -> None:
    leader_chat, telegram = "wa:+6281234500402", "tg:4244"
    leader = _reference(context, make_participant(context, leader_chat,
                                                  paid_through=date(2026, 12, 1)))  # fmt: skip
    on_telegram = _reference(context, make_participant(context, telegram))
    web_only = _reference(context, make_participant(context, "web:anggota-tanpa-wa"))
    silent = _reference(
        context,  # their WhatsApp last wrote a week ago and no template is approved
        make_participant(context, "wa:+6281234500403", last_inbound_at=NOW - timedelta(days=7)),
    )
    text = f"jimpitan {leader} {on_telegram} {web_only} {silent} 2 bulan"

    said = await _agent_writes(agent_chat, text, "agent_jimpitan")
    assert [m["response"] for m in said] == [
        "utter_agent_group_payment_recorded",
        "utter_agent_members_notice_some_not_told",
    ]
    counts = said[1]
    assert (counts["count"], counts["told"], counts["not_told"]) == (4, 2, 2)
    assert counts["members"] == f"War*** U. ({web_only}), War*** U. ({silent})"
    told = {to: reply.text or "" for to, reply in courier.sent}
    assert set(told) == {leader_chat, telegram}
    # Each their own reference and months: the leader had paid ahead.
    assert f"({leader})" in told[leader_chat]
    assert "dibayar sampai Februari 2027" in told[leader_chat]
    assert f"({on_telegram})" in told[telegram]
    assert "dibayar sampai Desember 2026" in told[telegram]
    for notice in told.values():
        assert "lewat jimpitan kelompok, dicatat oleh Joko Perisai" in notice
        assert "2 bulan, Rp33.600" in notice and "kuitansi kelompok JMP-" in notice
        assert "cek status" in notice


async def test_a_jimpitan_whose_members_all_heard_says_so(
    context: AppContext, agent_chat: str, courier: BothChannels
) -> None:
    first = _reference(context, make_participant(context, "wa:+6281234500404"))
    second = _reference(context, make_participant(context, "tg:4245"))
    said = await _agent_writes(agent_chat, f"jimpitan {first} {second} 1 bulan", "agent_jimpitan")
    assert said[-1]["response"] == "utter_agent_members_notice_all_sent"
    assert said[-1]["count"] == 2 and len(courier.sent) == 2


def test_the_code_reply_names_the_agent_who_registered_the_resident(context: AppContext) -> None:
    """The resident types the code in their own chat: the reply is their notice, so it
    names the agent (no second message is sent on this path)."""
    agent_id = enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Siti Perisai",
        phone="+6281300000003", village="Karanglo", district="Kerek", regency="Tuban",
    )  # fmt: skip
    registration = walk_in(nik="3523031708800111", phone="+6281234500405")
    code = new_code(context.on_behalf.policy)
    context.on_behalf.hold_for_code(agent_id, "tg:700300", registration, code, "kode", NOW)
    outcome = context.on_behalf.confirm("wa:+6281234500405", code, NOW)
    assert outcome.result is CodeResult.REGISTERED and outcome.agent is not None
    assert (outcome.agent.id, outcome.agent.name, outcome.agent.village) == (
        agent_id,
        "Siti Perisai",
        "Karanglo",
    )


async def test_outside_the_window_the_kpj_number_goes_in_its_own_template(
    context: AppContext,
) -> None:
    """With SADAR_WHATSAPP_KPJ_CONTENT_SID the KPJ message outside the window says how to pay,
    with the payment code; without it, the generic notice template still carries the KPJ."""
    from sqlalchemy import update

    from bot.db.models import Submission
    from bot.services.registry.notices import tell_acceptances
    from tests.support.participants import accept_hand_over

    kpj_template = "HX" + "4b" * 16
    told_with: dict[str, Any] = {}
    for name, kpj_sid in (("own", kpj_template), ("generic", None)):
        resident = f"wa:+62812345004{len(told_with)}"
        participant_id = make_participant(
            context, resident, accepted=False, last_inbound_at=NOW - timedelta(days=3)
        )
        accept_hand_over(context, participant_id, "26120000077")
        with context.sessions.begin() as session:  # accepted now, not told yet
            session.execute(
                update(Submission)
                .where(Submission.participant_id == participant_id)
                .values(
                    accepted_notice_at=None,
                    payment_code_encrypted=context.cipher.encrypt("889000000077"),
                )
            )
        courier = RecordingCourier()
        notices = ResidentNotices(context.channel_log, TEMPLATE, kpj_sid)
        told = await tell_acceptances(context.unit_of_work(), context.cipher, notices, courier, NOW)
        assert (told.sent, told.not_told) == (1, 0)
        ((to, reply),) = courier.sent
        assert to == resident and reply.template is not None
        told_with[name] = reply.template
    own, generic = told_with["own"], told_with["generic"]
    assert own.content_sid == kpj_template
    variables = dict(own.variables)
    assert variables["1"] == "26120000077" and variables["2"] == "Rp16.800"
    assert "kode bayar 889000000077" in variables["3"] and variables["4"].startswith("SDR-")
    assert all("\n" not in value for value in variables.values())  # WhatsApp's rule
    assert generic.content_sid == TEMPLATE and "26120000077" in generic.variables["1"]
