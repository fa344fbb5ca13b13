"""A resident is told what an agent recorded for them, within WhatsApp's rules: free text
inside the 24-hour window, the approved template outside it, and an honest result (so the
agent can be told) when neither is possible."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.app_context import AppContext
from bot.infra.settings import Settings
from bot.services.resident_notices import NoticeResult, ResidentNotice, ResidentNotices
from tests.conftest import TEST_PII_KEY
from tests.integration.test_on_behalf import RecordingCourier
from tests.support.clock import fixed_clock

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
    context = AppContext.from_settings(
        Settings(_env_file=None, database_url=pg_url, pii_hash_key=TEST_PII_KEY), fixed_clock(NOW)
    )
    yield context
    context.engine.dispose()


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
