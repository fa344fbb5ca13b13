""" "stop pengingat" / "aktifkan pengingat", from any of a participant's addresses. It holds
for the person (every address) unless they name one channel ("stop pengingat di telegram
saja"); someone who is not a participant stops this one address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from bot.db.models import ChannelContact, ParticipantAddress
from bot.domain.senders import Channel
from bot.infra.privacy import keyed_hash
from bot.services.channel_log import ChannelLog
from bot.services.participants import participants_of_sender


class PreferenceScope(StrEnum):
    #: Every address of the participant.
    PARTICIPANT = "participant"
    #: The addresses of one channel of the participant.
    CHANNEL = "channel"
    #: Not a participant: this conversation only.
    CONVERSATION = "conversation"
    #: The participant has no address on the channel they named.
    NO_SUCH_CHANNEL = "no_such_channel"


@dataclass(frozen=True)
class PreferenceChange:
    scope: PreferenceScope
    channel: Channel | None = None


def set_reminders(
    channel_log: ChannelLog, sender_id: str, stop: bool, only: Channel | None, now: datetime
) -> PreferenceChange:
    """Stop (or resume) reminders; ``only`` limits it to one channel's addresses. Resuming
    for the person clears every address's stop as well."""
    channel_log.record_inbound(sender_id, now)
    stamp = now if stop else None
    with channel_log.units() as uow:
        session = uow.session
        participant = session.scalars(
            participants_of_sender(channel_log.hash_key, sender_id)
        ).first()
        if participant is None:
            session.execute(
                update(ChannelContact)
                .where(ChannelContact.sender_hash == keyed_hash(channel_log.hash_key, sender_id))
                .values(reminders_opted_out_at=stamp)
            )
            uow.commit()
            return PreferenceChange(PreferenceScope.CONVERSATION)
        every = select(ParticipantAddress.sender_hash).where(
            ParticipantAddress.participant_id == participant.id
        )
        if only is None:
            participant.reminders_opted_out_at = stamp
            if not stop:
                _stop_addresses(session, every, None)
            uow.commit()
            return PreferenceChange(PreferenceScope.PARTICIPANT)
        named = every.where(ParticipantAddress.channel == only.value)
        if not session.scalars(named).first():
            return PreferenceChange(PreferenceScope.NO_SUCH_CHANNEL, only)
        if not stop and participant.reminders_opted_out_at is not None:
            # Stopped for the person, resumed on one channel: the others stay stopped.
            participant.reminders_opted_out_at = None
            others = every.where(ParticipantAddress.channel != only.value)
            _stop_addresses(session, others, now)
        _stop_addresses(session, named, stamp)
        uow.commit()
    return PreferenceChange(PreferenceScope.CHANNEL, only)


def _stop_addresses(session: Session, hashes: Select[tuple[str]], stamp: datetime | None) -> None:
    session.execute(
        update(ChannelContact)
        .where(ChannelContact.sender_hash.in_(hashes))
        .values(reminders_opted_out_at=stamp)
    )
