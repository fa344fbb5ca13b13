"""Telling a resident the registry's answer (issue 29), once, on the first reachable
address, like a notice of what an agent did for them: on acceptance the KPJ number, the
first contribution and how to pay it (with the payment code when the registry gave one);
on a refusal why, and what to do, also to the agent who registered a walk-in."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot import messages
from bot.domain.formatting import rupiah
from bot.domain.replies import MessageTemplate
from bot.infra.crypto import PiiCipher
from bot.services.courier import Courier
from bot.services.registry.submissions import (
    KpjNotice,
    RejectionNotice,
    claim_acceptance_notices,
    claim_rejection_notices,
)
from bot.services.resident_notices import (
    NoticeResult,
    ResidentNotice,
    ResidentNotices,
    send_in_window,
)
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


def rejection_text(notice: RejectionNotice) -> str:
    return messages.KPJ_REJECTED.format(
        reference=notice.reference, reason=messages.REJECTION_FOR_RESIDENT[notice.reason]
    )


def rejection_text_for_agent(notice: RejectionNotice) -> str:
    return messages.KPJ_REJECTED_FOR_AGENT.format(
        name=notice.resident_name,
        reference=notice.reference,
        village=notice.village,
        reason=messages.REJECTION_FOR_AGENT[notice.reason],
    )


@dataclass(frozen=True)
class RejectionNotices:
    sent: int
    #: Refused, but no address of the resident took the message ("cek status" shows why).
    not_told: int
    #: Walk-ins' agents told.
    agents_told: int


async def _told(
    notices: ResidentNotices,
    courier: Courier,
    addresses: tuple[str, ...],
    notice: ResidentNotice,
    now: datetime,
) -> bool:
    """The resident told on the first address that takes it; the log says why not."""
    told = await notices.tell_first(courier, addresses, notice, now)
    if told.result is not NoticeResult.SENT:
        log.info("registry notice for %s not delivered: %s", notice.reference, told.result.value)
    return told.result is NoticeResult.SENT


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
            notice_to_resident = ResidentNotice(
                text=acceptance_text(notice),
                recorded=messages.KPJ_ACCEPTED_RECORDED.format(kpj=notice.kpj),
                agent_name=messages.NOTICE_FROM_REGISTRY,
                reference=notice.reference,
                template=acceptance_template(notice, notices.kpj_template_sid),
            )
            if await _told(notices, courier, notice.addresses, notice_to_resident, now):
                sent += 1
            else:
                not_told += 1
    return AcceptanceNotices(sent, not_told)


async def tell_rejections(
    uow: UnitOfWork,
    cipher: PiiCipher,
    notices: ResidentNotices,
    courier: Courier,
    now: datetime,
) -> RejectionNotices:
    """Send every refusal not yet told, claimed before it is sent (never twice): the
    resident hears why and what to do; a walk-in's agent hears it too, inside their chat
    window, to fix it with the resident. Whoever is not reached still sees it on request
    ("cek status", the agent's list of their walk-ins)."""
    sent = not_told = agents_told = 0
    while notices_page := claim_rejection_notices(uow, cipher, now):
        for notice in notices_page:
            notice_to_resident = ResidentNotice(
                text=rejection_text(notice),
                recorded=messages.KPJ_REJECTED_RECORDED,
                agent_name=messages.NOTICE_FROM_REGISTRY,
                reference=notice.reference,
            )
            if await _told(notices, courier, notice.addresses, notice_to_resident, now):
                sent += 1
            else:
                not_told += 1
            if notice.agent_address and await send_in_window(
                courier,
                notices.channel_log,
                notice.agent_address,
                rejection_text_for_agent(notice),
                now,
                "registry_notice",
            ):
                agents_told += 1
    return RejectionNotices(sent, not_told, agents_told)


@dataclass(frozen=True)
class AnswersTold:
    accepted: AcceptanceNotices
    rejected: RejectionNotices

    def summary(self) -> str:
        """One line for the CLI and the worker's log."""
        line = f"KPJ messages sent: {self.accepted.sent}"
        if self.accepted.not_told:
            line += f", not delivered: {self.accepted.not_told} (they see it in 'cek status')"
        line += f"; refusals told: {self.rejected.sent}"
        if self.rejected.not_told:
            line += f", not delivered: {self.rejected.not_told}"
        if self.rejected.agents_told:
            line += f", to agents: {self.rejected.agents_told}"
        return line


async def tell_answers(
    uow: UnitOfWork,
    cipher: PiiCipher,
    notices: ResidentNotices,
    courier: Courier,
    now: datetime,
) -> AnswersTold:
    """Every answer of the registry not yet told (after an import, a callback or an API
    pass): acceptances, then refusals."""
    accepted = await tell_acceptances(uow, cipher, notices, courier, now)
    rejected = await tell_rejections(uow, cipher, notices, courier, now)
    return AnswersTold(accepted, rejected)
