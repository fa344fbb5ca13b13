"""What an agent did for a resident, told to the resident (issue 28): after a walk-in
registration read aloud, and after cash or jimpitan recorded for them. The resident may
never have written to Sadar, so outside WhatsApp's 24-hour window only the approved
template may go; when it cannot, the agent is told so instead of the resident being left
out silently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.replies import MessageTemplate
from bot.domain.senders import Channel, channel_of
from bot.infra import metrics
from bot.infra.privacy import mask_sender
from bot.services.channel_log import ChannelLog
from bot.services.courier import Courier

log = logging.getLogger(__name__)


class NoticeResult(StrEnum):
    SENT = "sent"
    #: Outside WhatsApp's 24-hour window and no approved template is configured.
    NEEDS_TEMPLATE = "needs_template"
    #: No sender for the resident's channel (or no address at all).
    UNREACHABLE = "unreachable"
    #: The platform refused the message.
    REFUSED = "refused"


@dataclass(frozen=True)
class ResidentNotice:
    """One notice: the text inside the window; outside it, the template's variables
    1=what was recorded, 2=the agent's name, 3=the Sadar reference."""

    text: str
    recorded: str
    agent_name: str
    reference: str
    #: The notice's own approved template, used instead of the generic one when set (the
    #: KPJ number's, which also says how to pay).
    template: MessageTemplate | None = None


@dataclass(frozen=True)
class Told:
    """How a notice ended, and on which channel (what the agent is told)."""

    result: NoticeResult
    #: The channel of the address that took it (or of the failure reported); None: no
    #: address at all.
    channel: Channel | None = None


async def send_in_window(
    courier: Courier,
    channel_log: ChannelLog,
    address: str,
    text: str,
    now: datetime,
    purpose: str,
) -> bool:
    """A plain message Sadar starts (WhatsApp: only inside the 24-hour window, no template):
    whether it went. For people who use Sadar's chat daily, such as agents."""
    if not courier.has_channel(channel_of(address)):
        return False
    message = await asyncio.to_thread(channel_log.opening_message, address, text, None, now)
    if message is None:
        log.info("no open window to tell %s (%s)", mask_sender(address), purpose)
        return False
    delivery = await courier.send(address, message, purpose=purpose)
    return delivery.ok


@dataclass(frozen=True)
class ResidentNotices:
    channel_log: ChannelLog
    #: SADAR_WHATSAPP_RESIDENT_NOTICE_CONTENT_SID; None: notices only inside the window.
    template_sid: str | None
    #: SADAR_WHATSAPP_KPJ_CONTENT_SID: the KPJ number's own template (bot.services.registry).
    kpj_template_sid: str | None = None

    async def tell(
        self, courier: Courier, recipient: str | None, notice: ResidentNotice, now: datetime
    ) -> NoticeResult:
        if not recipient or not courier.has_channel(channel_of(recipient)):
            log.info("resident notice: no reachable address")
            return NoticeResult.UNREACHABLE
        template = notice.template or (
            MessageTemplate(
                self.template_sid,
                {"1": notice.recorded, "2": notice.agent_name, "3": notice.reference},
            )
            if self.template_sid
            else None
        )
        message = await asyncio.to_thread(
            self.channel_log.opening_message, recipient, notice.text, template, now
        )
        if message is None:
            log.warning(
                "resident notice to %s needs a WhatsApp template: set "
                "SADAR_WHATSAPP_RESIDENT_NOTICE_CONTENT_SID",
                mask_sender(recipient),
            )
            return NoticeResult.NEEDS_TEMPLATE
        delivery = await courier.send(recipient, message, purpose="resident_notice")
        return NoticeResult.SENT if delivery.ok or delivery.uncertain else NoticeResult.REFUSED

    async def tell_first(
        self, courier: Courier, recipients: Sequence[str], notice: ResidentNotice, now: datetime
    ) -> Told:
        """Tell the resident on the first of ``recipients`` (their reachable addresses, in
        reminder order) that takes the notice: a WhatsApp outside its window without a
        template falls back to their Telegram. When none takes it, the most telling
        failure (a template needed, a refusal) rather than "unreachable" is returned, so
        the agent knows what to do; every outcome is counted (sadar_resident_notices_total)."""
        told = Told(NoticeResult.UNREACHABLE)
        if not recipients:
            log.info("resident notice for %s: no reachable address", notice.reference)
        for recipient in recipients:
            result = await self.tell(courier, recipient, notice, now)
            if result is NoticeResult.SENT:
                told = Told(result, channel_of(recipient))
                break
            if told.result is NoticeResult.UNREACHABLE:
                told = Told(result, channel_of(recipient))
        metrics.RESIDENT_NOTICES.labels(told.result.value).inc()
        return told
