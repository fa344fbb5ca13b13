"""What the channels must remember in the database: each conversation's address and last
inbound message (for WhatsApp's 24-hour window), and every outbound message's delivery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.db.engine import rows_changed
from bot.db.models import ChannelContact, OutboundMessage, Reminder
from bot.db.timestamps import as_utc
from bot.domain.clock import Clock
from bot.domain.messaging import address_gone, next_delivery_status, template_required
from bot.domain.replies import BotReply, MessageTemplate
from bot.domain.senders import channel_of
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import keyed_hash, mask_sender
from bot.infra.redaction import redact
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

#: The recipient of a message to an address no contact is known for (an erased one): the
#: same for everyone, so no lookup maps it back (bot/services/erasure.py uses it too).
ERASED_RECIPIENT = "erased"
#: Delivery reports carried over to the reminder a message was sent for.
REMINDER_STATE_FOR_DELIVERY = {
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "failed",
}


def add_contact(
    session: Session,
    cipher: PiiCipher,
    sender_hash: str,
    sender_id: str,
    last_inbound_at: datetime | None = None,
) -> None:
    """The contact row of an address, added unless it exists: the address (encrypted) that
    reminders, notices and erasure find a person's conversations by."""
    if session.scalar(select(ChannelContact.id).where(ChannelContact.sender_hash == sender_hash)):
        return
    session.add(
        ChannelContact(
            sender_hash=sender_hash,
            channel=channel_of(sender_id).value,
            address_encrypted=cipher.encrypt(sender_id),
            last_inbound_at=last_inbound_at,
        )
    )


@dataclass(frozen=True)
class ChannelLog:
    #: A new unit of work per use case: the log is shared by concurrent callers.
    units: Callable[[], UnitOfWork]
    hash_key: str
    cipher: PiiCipher
    clock: Clock = field(default_factory=Clock)

    def sender_hash(self, sender_id: str) -> str:
        return keyed_hash(self.hash_key, sender_id)

    def record_inbound(self, sender_id: str, at: datetime | None = None) -> None:
        """Note that the person wrote to us now: it (re)opens WhatsApp's service window."""
        at = at or self.clock.now()
        if not self._touch(sender_id, at):
            self._create(sender_id, at)
            self._touch(sender_id, at)  # a concurrent first message may have won the insert

    def ensure_contact(self, sender_id: str, uow: UnitOfWork | None = None) -> None:
        """Know an address someone gave us (e.g. an imported official's WhatsApp number)
        without pretending they wrote: the 24-hour window stays closed. Within ``uow``
        when it is part of a larger use case (a registration)."""
        self._create(sender_id, None, uow)

    def _touch(self, sender_id: str, at: datetime) -> bool:
        with self.units() as uow:
            changed = rows_changed(
                uow.session.execute(
                    update(ChannelContact)
                    .where(ChannelContact.sender_hash == self.sender_hash(sender_id))
                    # Writing from an address proves it works again.
                    .values(last_inbound_at=at, undeliverable_at=None, undeliverable_reason=None)
                )
            )
            uow.commit()
        return bool(changed)

    def _create(
        self, sender_id: str, last_inbound_at: datetime | None, uow: UnitOfWork | None = None
    ) -> None:
        """Insert the contact unless it exists. On its own, a concurrent insert of the same
        one is fine; inside a larger use case the conflict fails that use case as a whole."""
        digest = self.sender_hash(sender_id)
        own = uow is None
        unit = self.units() if uow is None else uow
        try:
            with unit:
                add_contact(unit.session, self.cipher, digest, sender_id, last_inbound_at)
                unit.commit()
        except IntegrityError:
            if not own:
                raise

    def last_inbound_at(self, sender_id: str) -> datetime | None:
        with self.units() as uow:
            return as_utc(
                uow.session.scalar(
                    select(ChannelContact.last_inbound_at).where(
                        ChannelContact.sender_hash == self.sender_hash(sender_id)
                    )
                )
            )

    def template_required(self, sender_id: str, now: datetime | None = None) -> bool:
        """Whether a message we start now must be an approved WhatsApp template."""
        return template_required(
            channel_of(sender_id), self.last_inbound_at(sender_id), now or self.clock.now()
        )

    def opening_message(
        self,
        sender_id: str,
        text: str,
        template: MessageTemplate | None,
        now: datetime | None = None,
    ) -> BotReply | None:
        """A message Sadar starts (a reminder, a consent code), not a reply: the text where
        the platform allows it, else the approved template; None when a template is needed
        and none is configured."""
        if not self.template_required(sender_id, now):
            return BotReply(text=text)
        return BotReply(template=template) if template is not None else None

    def record_outbound(
        self,
        recipient: str,
        purpose: str,
        status: str,
        *,
        provider_message_id: str | None = None,
        template_id: str | None = None,
        error: str | None = None,
        attempts: int = 1,
    ) -> int:
        message = OutboundMessage(
            channel=channel_of(recipient).value,
            recipient_hash=self.sender_hash(recipient),
            purpose=purpose,
            provider_message_id=provider_message_id,
            template_id=template_id,
            status=status,
            error=redact(error)[:200] if error else None,
            attempts=attempts,
        )
        message.created_at = message.status_at = self.clock.now()
        with self.units() as uow:
            known = select(ChannelContact.id).where(
                ChannelContact.sender_hash == message.recipient_hash
            )
            if uow.session.scalar(known) is None:
                # No contact known: an erased address (the reply confirming an erasure
                # goes out after it) or one that never wrote. Recorded without naming it;
                # there is no contact a failed delivery could mark anyway.
                message.recipient_hash = ERASED_RECIPIENT
            uow.session.add(message)
            uow.flush()
            message_id = message.id
            uow.commit()
        return message_id

    def record_status(self, provider_message_id: str, reported: str, error: str | None) -> bool:
        """Apply a delivery report; False when the message is not one of ours. The
        platform's reason is kept without any number or NIK it quotes ("The 'To' number
        whatsapp:+62812… is not valid")."""
        error = redact(error) if error else error
        with self.units() as uow:
            session = uow.session
            message = session.scalar(
                select(OutboundMessage)
                .where(OutboundMessage.provider_message_id == provider_message_id)
                .with_for_update()
            )
            if message is None:
                return False
            status = next_delivery_status(message.status, reported)
            if status != message.status:
                message.status = status
                message.status_at = self.clock.now()
                if message.purpose == "reminder" and status in REMINDER_STATE_FOR_DELIVERY:
                    session.execute(
                        update(Reminder)
                        .where(Reminder.outbound_message_id == message.id)
                        .values(
                            state=REMINDER_STATE_FOR_DELIVERY[status],
                            reason=f"{status}: {error}" if error else None,
                        )
                    )
            if error and status in ("failed", "undelivered"):
                message.error = error[:200]
            if address_gone(reported, error):
                # Reminders fall back to the participant's other addresses from now on.
                session.execute(
                    update(ChannelContact)
                    .where(ChannelContact.sender_hash == message.recipient_hash)
                    .values(
                        undeliverable_at=self.clock.now(), undeliverable_reason=(error or "")[:200]
                    )
                )
            uow.commit()
            return True


async def record_inbound_safely(channel_log: ChannelLog | None, sender_id: str) -> None:
    """Note an inbound message (WhatsApp window); a database hiccup must not stop the chat."""
    if channel_log is None:
        return
    try:
        await asyncio.to_thread(channel_log.record_inbound, sender_id)
    except SQLAlchemyError as error:
        log.error("could not record a message from %s: %r", mask_sender(sender_id), error)
