"""Sending claimed reminders, one worker process each: a worker *claims* a queued reminder
with one conditional UPDATE (only one worker can win), re-checks everything (paid since?
opted out? daytime?), marks it *sending* right before the platform call, then *sent* (later
*delivered*/*read* from status callbacks) or, on failure, back to *queued* with a backoff
or *failed*. A send interrupted mid-call is never retried (``recover`` marks it
*unknown*), so a reminder is sent at most once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import messages
from bot.db.engine import rows_changed
from bot.db.models import Participant, Reminder, Submission
from bot.domain.addresses import reminder_route, why_unreachable
from bot.domain.clock import Clock
from bot.domain.formatting import bulan_range, rupiah, tanggal
from bot.domain.payments import PaymentCalendar, next_unpaid_period
from bot.domain.reminders import (
    Occasion,
    ReminderKind,
    ReminderPolicy,
    ReminderState,
    applies,
    months_owed_at,
    next_send_moment,
    timezone_for,
)
from bot.domain.replies import MessageTemplate
from bot.infra.crypto import PiiCipher
from bot.infra.privacy import mask_sender
from bot.services.addresses.reachability import Route, mark_undeliverable, routes_of
from bot.services.channel_log import ChannelLog
from bot.services.courier import Courier
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    """What sending a reminder needs of the participant and their chat addresses."""

    consented: bool
    first_period: date
    paid_through: date | None
    province_code: str
    monthly_contribution: int
    opted_out: bool
    #: The addresses to try, in order (bot.domain.addresses.reminder_route); empty when
    #: none can be reached.
    routes: tuple[Route, ...]
    #: Why none can be reached, when ``routes`` is empty.
    unreachable: str | None = None
    #: The registry's payment code (kode bayar), when it gave one with the KPJ number.
    payment_code: str | None = None


@dataclass(frozen=True)
class Claimed:
    period: date
    kind: str
    attempts: int
    #: None when the participant is no longer known (erased).
    recipient: Recipient | None


@dataclass(frozen=True)
class Unsent:
    """Why one address did not take a reminder."""

    reason: str
    #: Nothing was handed to the platform (no template approved for outside the window).
    not_attempted: bool = False


@dataclass(frozen=True)
class Outcome:
    reminder_id: int
    state: str
    #: When a reminder must wait (night time, backoff), the moment to try again.
    retry_at: datetime | None = None


class ReminderDispatcher:
    """Sends claimed reminders through the Outbox; one instance per worker process."""

    def __init__(
        self,
        units: Callable[[], UnitOfWork],
        cipher: PiiCipher,
        channel_log: ChannelLog,
        outbox: Courier,
        calendar: PaymentCalendar,
        policy: ReminderPolicy,
        *,
        template_sid: str | None,
        max_attempts: int = 5,
        clock: Clock,
    ):
        self._units = units
        self._cipher = cipher
        self._log = channel_log
        self._outbox = outbox
        self._calendar = calendar
        self._policy = policy
        self._template_sid = template_sid
        self._max_attempts = max_attempts
        self._clock = clock

    def _set(self, reminder_id: int, state: ReminderState, **values: Any) -> None:
        with self._units() as uow:
            uow.session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .values(state=state.value, updated_at=self._clock.now(), **values)
            )
            uow.commit()

    def _claim(self, reminder_id: int) -> Claimed | None:
        """Take the reminder if it is still queued (one conditional UPDATE: only one worker
        can win) and load what sending needs, in the same transaction."""
        with self._units() as uow:
            session = uow.session
            won = session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .where(Reminder.state == ReminderState.QUEUED.value)
                .values(
                    state=ReminderState.CLAIMED.value,
                    claimed_at=self._clock.now(),
                    updated_at=self._clock.now(),
                    attempts=Reminder.attempts + 1,
                )
                .returning(
                    Reminder.period, Reminder.kind, Reminder.attempts, Reminder.participant_id
                )
            ).first()
            if won is None:
                return None
            participant = session.get(Participant, won.participant_id)
            recipient = None
            if participant is not None:
                linked = routes_of(session, participant.id)
                routes = reminder_route(linked, lambda r: r.state)
                why = why_unreachable(r.state for r in linked)
                recipient = Recipient(
                    consented=participant.consent_record_id is not None,
                    first_period=participant.first_period,
                    paid_through=participant.paid_through,
                    province_code=participant.province_code,
                    monthly_contribution=participant.monthly_contribution,
                    opted_out=participant.reminders_opted_out_at is not None,
                    routes=tuple(routes),
                    unreachable=why.value if why else None,
                    payment_code=self._payment_code(session, participant.id),
                )
            claimed = Claimed(won.period, won.kind, won.attempts, recipient)
            uow.commit()
        return claimed

    def _start_sending(self, reminder_id: int, attempt: int) -> bool:
        """claimed -> sending, only if this worker's claim (its attempt number) still holds:
        a claim handed back to the queue by ``recover`` and taken by another worker makes
        this one step back instead of sending a second copy."""
        with self._units() as uow:
            won = (
                rows_changed(
                    uow.session.execute(
                        update(Reminder)
                        .where(Reminder.id == reminder_id)
                        .where(
                            Reminder.state.in_(
                                [ReminderState.CLAIMED.value, ReminderState.SENDING.value]
                            )
                        )
                        .where(Reminder.attempts == attempt)
                        .values(
                            state=ReminderState.SENDING.value,
                            claimed_at=self._clock.now(),
                            updated_at=self._clock.now(),
                        )
                    )
                )
                == 1
            )
            uow.commit()
        return won

    async def send_batch(self, reminder_ids: list[int]) -> list[Outcome]:
        return [await self.send(reminder_id) for reminder_id in reminder_ids]

    async def send(self, reminder_id: int) -> Outcome:
        # Database work runs in threads: the event loop keeps other sends moving.
        claimed = await asyncio.to_thread(self._claim, reminder_id)
        if claimed is None:
            return Outcome(reminder_id, "taken")  # another worker has it, or it is done
        try:
            return await self._send_claimed(reminder_id, claimed)
        except Exception:
            # Back to the queue for the recovery sweep; the claim is never left dangling.
            log.exception("reminder %d failed unexpectedly", reminder_id)
            await asyncio.to_thread(
                self._set, reminder_id, ReminderState.QUEUED, reason="unexpected error"
            )
            raise

    async def _send_claimed(self, reminder_id: int, claimed: Claimed) -> Outcome:
        participant = claimed.recipient
        now = self._clock.now()
        if participant is None:
            return await self._skip(reminder_id, "participant or chat address no longer known")
        if not participant.consented:
            return await self._skip(reminder_id, "no consent recorded")
        if participant.opted_out:
            return await self._skip(reminder_id, "opted out of reminders")
        occasion = Occasion(ReminderKind(claimed.kind), claimed.period)
        lapse = self._calendar.months_unpaid_for_non_active
        if not applies(occasion, participant.first_period, participant.paid_through, lapse):
            return await self._skip(reminder_id, "paid since it was planned")
        zone = timezone_for(participant.province_code)
        allowed_at = next_send_moment(now, zone, self._policy)
        if allowed_at > now:
            await asyncio.to_thread(
                self._set, reminder_id, ReminderState.QUEUED, scheduled_for=allowed_at
            )
            return Outcome(reminder_id, ReminderState.QUEUED.value, retry_at=allowed_at)

        if not participant.routes:
            return await self._skip(
                reminder_id, f"no reachable address ({participant.unreachable or 'none linked'})"
            )
        text, template = self._content(occasion, participant)
        failures: list[Unsent] = []
        for route in participant.routes:
            outcome = await self._send_to(reminder_id, claimed, route, text, template, now)
            if isinstance(outcome, Outcome):
                if failures and outcome.state == ReminderState.SENT.value:
                    reasons = [f.reason for f in failures]
                    await asyncio.to_thread(self._note, reminder_id, reasons)
                return outcome
            failures.append(outcome)
        reason = "; ".join(f.reason for f in failures)
        if all(f.not_attempted for f in failures):
            return await self._skip(reminder_id, reason[:200])
        # Every address failed for good.
        await asyncio.to_thread(self._set, reminder_id, ReminderState.FAILED, reason=reason[:200])
        log.warning("reminder %d failed on every address: %s", reminder_id, reason)
        return Outcome(reminder_id, ReminderState.FAILED.value)

    async def _send_to(
        self,
        reminder_id: int,
        claimed: Claimed,
        route: Route,
        text: str,
        template: MessageTemplate | None,
        now: datetime,
    ) -> Outcome | Unsent:
        """One address: how the reminder ended, or why this address could not take it (the
        caller falls back to the next one)."""
        assert route.address_encrypted is not None  # reminder_route keeps reachable ones only
        recipient = self._cipher.decrypt(route.address_encrypted)
        channel = route.state.channel.value
        message = await asyncio.to_thread(self._log.opening_message, recipient, text, template, now)
        if message is None:
            return Unsent(
                f"{channel}: outside WhatsApp's 24-hour window and no approved template is "
                "configured (SADAR_WHATSAPP_REMINDER_CONTENT_SID)",
                not_attempted=True,
            )

        async def handover() -> bool:
            return await asyncio.to_thread(self._start_sending, reminder_id, claimed.attempts)

        result = await self._outbox.send(
            recipient, message, purpose="reminder", on_handover=handover
        )
        if result.cancelled:
            return Outcome(reminder_id, "taken")  # recovered and claimed again elsewhere
        if result.ok:
            await asyncio.to_thread(
                self._set,
                reminder_id,
                ReminderState.SENT,
                outbound_message_id=result.record_ids[0] if result.record_ids else None,
                reason=None,
            )
            return Outcome(reminder_id, ReminderState.SENT.value)
        if result.uncertain:
            await asyncio.to_thread(
                self._set, reminder_id, ReminderState.UNKNOWN, reason=(result.error or "")[:200]
            )
            return Outcome(reminder_id, ReminderState.UNKNOWN.value)
        attempts = claimed.attempts  # counted by the claim: includes this attempt
        if result.retryable:
            if attempts < self._max_attempts:
                retry_at = now + timedelta(minutes=5 * 2 ** (attempts - 1))
                await asyncio.to_thread(
                    self._set,
                    reminder_id,
                    ReminderState.QUEUED,
                    scheduled_for=retry_at,
                    reason=result.error,
                )
                return Outcome(reminder_id, ReminderState.QUEUED.value, retry_at=retry_at)
            return Unsent(f"{channel}: {result.error or 'failed'} (after {attempts} attempts)")
        # Refused for good (bot blocked, not on WhatsApp): this address waits until the
        # person writes from it again; the next address is tried now.
        error = result.error or "refused"
        await asyncio.to_thread(self._mark_undeliverable, route.sender_hash, error)
        log.warning("reminder %d to %s refused: %s", reminder_id, mask_sender(recipient), error)
        return Unsent(f"{channel}: {error}")

    def _mark_undeliverable(self, sender_hash: str, reason: str) -> None:
        with self._units() as uow:
            mark_undeliverable(uow.session, sender_hash, reason, self._clock.now())
            uow.commit()

    def _note(self, reminder_id: int, failures: list[str]) -> None:
        """A reminder sent after falling back keeps why the first address(es) failed."""
        with self._units() as uow:
            uow.session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .values(reason=("sent after: " + "; ".join(failures))[:200], fell_back=True)
            )
            uow.commit()

    async def _skip(self, reminder_id: int, reason: str) -> Outcome:
        await asyncio.to_thread(self._set, reminder_id, ReminderState.SKIPPED, reason=reason)
        return Outcome(reminder_id, ReminderState.SKIPPED.value)

    def _payment_code(self, session: Session, participant_id: int) -> str | None:
        encrypted = session.scalar(
            select(Submission.payment_code_encrypted).where(
                Submission.participant_id == participant_id
            )
        )
        return self._cipher.decrypt(encrypted) if encrypted else None

    def _content(
        self, occasion: Occasion, participant: Recipient
    ) -> tuple[str, MessageTemplate | None]:
        """The reminder as text, and as the approved template when one is configured."""
        first_owed = next_unpaid_period(participant.first_period, participant.paid_through)
        owed = months_owed_at(occasion.period, participant.first_period, participant.paid_through)
        values = {
            "amount": rupiah(owed * participant.monthly_contribution),
            "months": bulan_range(first_owed, occasion.period),
            "due_date": tanggal(self._calendar.due_date(occasion.period)),
        }
        how_to_pay = (
            messages.KPJ_HOW_TO_PAY_WITH_CODE.format(payment_code=participant.payment_code)
            if participant.payment_code
            else messages.HOW_TO_PAY
        )
        text = messages.REMINDER_TEXTS[occasion.kind.value].format(**values, how_to_pay=how_to_pay)
        if not self._template_sid:
            return text, None
        variables = {"1": values["amount"], "2": values["months"], "3": values["due_date"]}
        return text, MessageTemplate(self._template_sid, variables)
