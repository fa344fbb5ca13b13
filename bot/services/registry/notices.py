"""Telling a resident their registration was accepted (issue 29): the KPJ number, the first
contribution and how to pay it (with the payment code when the registry gave one), sent
once to the first reachable address, like a notice of what an agent did for them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot import messages
from bot.domain.formatting import rupiah
from bot.domain.replies import MessageTemplate
from bot.infra.crypto import PiiCipher
from bot.services.courier import Courier
from bot.services.registry.submissions import KpjNotice, claim_acceptance_notices
from bot.services.resident_notices import NoticeResult, ResidentNotice, ResidentNotices
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def _how_to_pay(notice: KpjNotice) -> str:
    if notice.payment_code:
        return messages.KPJ_HOW_TO_PAY_WITH_CODE.format(payment_code=notice.payment_code)
    return messages.HOW_TO_PAY


def acceptance_text(notice: KpjNotice) -> str:
    return messages.KPJ_ACCEPTED.format(
        reference=notice.reference,
        kpj=notice.kpj,
        contribution=rupiah(notice.monthly_contribution),
        how_to_pay=_how_to_pay(notice),
    )


def acceptance_template(notice: KpjNotice, content_sid: str | None) -> MessageTemplate | None:
    """The KPJ message as its own approved template (SADAR_WHATSAPP_KPJ_CONTENT_SID), for a
    resident outside WhatsApp's 24-hour window: every variable one line, as WhatsApp asks."""
    if not content_sid:
        return None
    return MessageTemplate(
        content_sid,
        {
            "1": notice.kpj,
            "2": rupiah(notice.monthly_contribution),
            "3": _how_to_pay(notice),
            "4": notice.reference,
        },
    )


@dataclass(frozen=True)
class AcceptanceNotices:
    sent: int
    #: Accepted, but no address took the message ("cek status" still shows the KPJ number).
    not_told: int


async def tell_acceptances(
    uow: UnitOfWork,
    cipher: PiiCipher,
    notices: ResidentNotices,
    courier: Courier,
    now: datetime,
) -> AcceptanceNotices:
    """Send every acceptance not yet told, a claimed page at a time until none is left;
    each is claimed before it is sent, so a second run (another worker, a re-import) never
    sends it again. One that no address took is counted not told (the resident still sees
    the KPJ number in "cek status"; the log says why)."""
    sent = not_told = 0
    while notices_page := claim_acceptance_notices(uow, cipher, now):
        for notice in notices_page:
            told = await notices.tell_first(
                courier,
                notice.addresses,
                ResidentNotice(
                    text=acceptance_text(notice),
                    recorded=messages.KPJ_ACCEPTED_RECORDED.format(kpj=notice.kpj),
                    agent_name=messages.KPJ_ACCEPTED_BY,
                    reference=notice.reference,
                    template=acceptance_template(notice, notices.kpj_template_sid),
                ),
                now,
            )
            if told.result is NoticeResult.SENT:
                sent += 1
            else:
                not_told += 1
                log.info("KPJ notice for %s not delivered: %s", notice.reference, told.result.value)
    return AcceptanceNotices(sent, not_told)
