"""What a number change leaves behind: the WhatsApp addresses it replaced (each kept as a
``MovedAddress`` for ``REPORT_WINDOW``), the notices to the number left (and to the new
number of an agent's change), and "BUKAN SAYA" from the number left, which opens a ticket
for the village agent. The change itself is a code purpose (bot.services.addresses.linking)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.engine import rows_changed
from bot.db.models import AuditEvent, ChannelContact, MovedAddress, Participant, ParticipantAddress
from bot.domain.replies import MessageTemplate
from bot.domain.senders import Channel, channel_of
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import keyed_hash, mask_sender
from bot.services.channel_log import ChannelLog
from bot.services.courier import Courier
from bot.services.handoff import TicketReason, open_ticket
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

#: How long the number a change left may answer "BUKAN SAYA".
REPORT_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class NoticeText:
    """The number-change notice: ``to_old(masked new number)`` for the number left,
    ``to_new(masked new number)`` for the new number of an agent's change; outside
    WhatsApp's window the approved template ``template_sid`` (1=masked new number,
    2=reference) instead."""

    to_old: Callable[[str], str]
    to_new: Callable[[str], str]
    template_sid: str | None


@dataclass(frozen=True)
class NotMeReport:
    """A number a change left said "BUKAN SAYA": audited, and a ticket for the village
    agent (``agent_address`` None: no active agent, administrators see it)."""

    ticket_number: int
    agent_first_name: str | None
    agent_address: str | None
    reference: str


class NumberChange(Protocol):
    """How a confirmed code ended, as far as the notices care (``LinkOutcome``)."""

    @property
    def masked_phone(self) -> str: ...
    @property
    def reference(self) -> str: ...
    @property
    def moved_from(self) -> tuple[str, ...]: ...
    @property
    def moved_to(self) -> str | None: ...
    @property
    def by_agent(self) -> bool: ...


def leave_old_numbers(
    session: Session,
    cipher: PiiCipher,
    participant_id: int,
    new_hash: str,
    agent_id: int | None,
    now: datetime,
) -> tuple[list[str], bool]:
    """Drop the participant's other WhatsApp addresses, each remembered as moved (it is
    told, and may report the change as not theirs); the sender ids left, and whether one
    of them led."""
    old = session.scalars(
        select(ParticipantAddress)
        .where(ParticipantAddress.participant_id == participant_id)
        .where(ParticipantAddress.channel == Channel.WHATSAPP.value)
        .where(ParticipantAddress.sender_hash != new_hash)
    ).all()
    moved_from: list[str] = []
    for address in old:
        contact = session.scalar(
            select(ChannelContact).where(ChannelContact.sender_hash == address.sender_hash)
        )
        if contact is not None:
            moved_from.append(cipher.decrypt(contact.address_encrypted))
        session.add(
            MovedAddress(
                participant_id=participant_id,
                old_sender_hash=address.sender_hash,
                agent_id=agent_id,
                changed_at=now,
                report_until=now + REPORT_WINDOW,
            )
        )
        session.delete(address)
    session.flush()
    return moved_from, any(address.preferred for address in old)


@dataclass(frozen=True)
class NumberChanges:
    #: A new unit of work per use case (the service is shared by concurrent requests).
    units: Callable[[], UnitOfWork]
    cipher: PiiCipher
    hash_key: str

    @property
    def _channel_log(self) -> ChannelLog:
        return ChannelLog(self.units, self.hash_key, self.cipher)

    async def tell_number_change(
        self, courier: Courier, change: NumberChange, notice: NoticeText, now: datetime
    ) -> int:
        """Tell each number a change left that reminders and access moved (with how to
        report it), and, when an agent made the change, the new number too; the number of
        notices sent (0 for anything but a number change). Outside WhatsApp's window only
        the approved template may go."""
        if change.moved_to is None:
            return 0
        recipients = [(old, notice.to_old(change.masked_phone)) for old in change.moved_from]
        if change.by_agent:
            recipients.append((change.moved_to, notice.to_new(change.masked_phone)))
        template = (
            MessageTemplate(notice.template_sid, {"1": change.masked_phone, "2": change.reference})
            if notice.template_sid
            else None
        )
        sent = 0
        for recipient, text in recipients:
            if not courier.has_channel(channel_of(recipient)):
                continue
            message = await asyncio.to_thread(
                self._channel_log.opening_message, recipient, text, template, now
            )
            if message is None:
                log.warning(
                    "number change notice to %s needs a WhatsApp template: set "
                    "SADAR_WHATSAPP_NUMBER_CHANGE_CONTENT_SID",
                    mask_sender(recipient),
                )
                continue
            delivery = await courier.send(recipient, message, purpose="number_change")
            sent += delivery.ok or delivery.uncertain
        return sent

    def report_not_me(self, sender_id: str, text: str, now: datetime) -> NotMeReport | None:
        """ "BUKAN SAYA" from a number a change left, within ``REPORT_WINDOW``: an audit
        event and a ticket for the participant's village agent, in one transaction. None
        when no change left this number lately (the message is then an ordinary one)."""
        with self.units() as uow:
            session = uow.session
            moved = session.scalars(
                select(MovedAddress)
                .where(MovedAddress.old_sender_hash == keyed_hash(self.hash_key, sender_id))
                .where(MovedAddress.report_until > now)
                .order_by(MovedAddress.changed_at.desc())
                .with_for_update()
            ).first()
            if moved is None:
                return None
            participant = session.get(Participant, moved.participant_id)
            assert participant is not None  # moved addresses cascade with the participant
            opened = open_ticket(
                uow,
                self.cipher,
                self.hash_key,
                sender_id,
                TicketReason.NUMBER_CHANGE_REPORTED,
                [text],
                now,
                asked_village=participant.village,
            )
            if moved.reported_at is None:
                moved.reported_at = now
                session.add(
                    AuditEvent(
                        participant_id=participant.id,
                        actor="wa:former_address",
                        action="number_change_reported",
                        created_at=now,
                    )
                )
            uow.commit()
            report = NotMeReport(
                opened.number, opened.agent_first_name, opened.agent_address, participant.reference
            )
        log.warning(
            "number change of %s reported as not the participant's doing (ticket %d)",
            report.reference,
            report.ticket_number,
        )
        return report

    def purge_expired(self, now: datetime) -> int:
        """Numbers left whose window to report has passed: forgotten."""
        with self.units() as uow:
            result = uow.session.execute(
                delete(MovedAddress).where(MovedAddress.report_until <= now)
            )
            uow.commit()
        return rows_changed(result)
