"""Demo data for the operations console (issue 32): two regencies of Jawa Timur (Tuban and
Bojonegoro), six months of registrations handed over to BPJS Ketenagakerjaan, the
payments and December's reminders that followed, a week of registration conversations
with a plausible drop-off, and a few residents who asked for a person.

Everything goes through the project's own services (villages import, consent,
registration, the batch hand-over and the branch's answers, payments, reminder planning,
the channel log, the funnel, tickets, erasure) on the context's clock, moved from one
event to the next in time order; only what the dispatcher and the platforms would do (a
reminder marked sent, a delivery report) is written the way tests/integration/
test_delivery_stats.py writes it. Deterministic: one seeded ``random.Random``, a fixed
calendar. ``seed_demo`` leaves the clock at ``DEMO_NOW``.

The screenshots of docs/operations.md are taken of this (scripts/console_screenshots.py);
the names and numbers are made up, the villages are real."""

from __future__ import annotations

import contextlib
import csv
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.app_context import AppContext
from bot.db.models import Participant, Reminder
from bot.domain.addresses import Proof
from bot.domain.clock import FixedClock
from bot.domain.consent import ConsentDecision, ConsentPurpose
from bot.domain.funnel import ActionCall, observe
from bot.domain.nik import parse_nik
from bot.domain.payments import add_months, load_calendar, period_of
from bot.domain.registration import Registration, first_period
from bot.domain.reminders import ReminderPolicy, ReminderState, occasions_on
from bot.domain.senders import Channel, channel_of
from bot.domain.submissions import Accepted, Rejected, RejectionReason
from bot.services.addresses.reachability import link_address
from bot.services.agents import AgentRef, enrol_agent
from bot.services.channel_log import add_contact
from bot.services.consent import record_consent
from bot.services.erasure import delete_for_sender
from bot.services.funnel import funnel_key, record
from bot.services.handoff import ClosedBecause, TicketReason, answer, close_ticket, open_ticket
from bot.services.imports import import_villages
from bot.services.participants import register_participant
from bot.services.payments import PaymentSource, record_payment
from bot.services.registry.batch import (
    NothingToExport,
    answer_file_rows,
    export_batch,
    import_answers,
)
from bot.services.reminders import plan

WIB = ZoneInfo("Asia/Jakarta")
#: The console is shown on Friday 18 December 2026, 10:00 WIB: December's contribution is
#: due on Tuesday the 15th, so its three reminders (the 12th, 15th and 18th) fall in the
#: week the console shows by default.
DEMO_NOW = datetime(2026, 12, 18, 10, 0, tzinfo=WIB)
#: Registrations started in this week make the funnel (the console's default period).
WEEK_START = datetime(2026, 12, 12, 8, 0, tzinfo=WIB)
SEED = 32

#: (village, kecamatan, kabupaten, households, officials). Real villages; the figures
#: are made up.
VILLAGES = (
    ("Karanglo", "Kerek", "Tuban", 1180, 14),
    ("Gaji", "Kerek", "Tuban", 1420, 15),
    ("Temayang", "Kerek", "Tuban", 960, 12),
    ("Sidoharjo", "Soko", "Tuban", 1310, 14),
    ("Simo", "Soko", "Tuban", 870, 11),
    ("Beji", "Jenu", "Tuban", 1650, 16),
    ("Mentoso", "Jenu", "Tuban", 1040, 12),
    ("Glodog", "Palang", "Tuban", 1230, 13),
    ("Ngasem", "Ngasem", "Bojonegoro", 1890, 16),
    ("Sendangharjo", "Ngasem", "Bojonegoro", 1120, 13),
    ("Mojosari", "Kalitidu", "Bojonegoro", 990, 12),
    ("Leran", "Kalitidu", "Bojonegoro", 1350, 14),
    ("Ngumpakdalem", "Dander", "Bojonegoro", 1560, 15),
    ("Kalianyar", "Kapas", "Bojonegoro", 1210, 13),
)
#: The NIK's regency and kecamatan digits (the regencies' Kemendagri codes; the kecamatan
#: digits are illustrative).
NIK_AREA = {
    "Tuban": "23",
    "Bojonegoro": "22",
    "Kerek": "16",
    "Soko": "05",
    "Jenu": "18",
    "Palang": "11",
    "Ngasem": "13",
    "Kalitidu": "12",
    "Dander": "17",
    "Kapas": "19",
}
#: Perisai agents: (name, village).
AGENTS = (
    ("Siti Aminah", "Karanglo"),
    ("Wati Handayani", "Sidoharjo"),
    ("Agus Salim", "Beji"),
    ("Sri Rahayu", "Ngasem"),
    ("Joko Susilo", "Mojosari"),
)
WOMEN = (
    "Sutini", "Sri Wahyuni", "Suparmi", "Endang Lestari", "Tri Wulandari", "Sumiati",
    "Rukmini", "Ningsih", "Yuliani", "Kasmini", "Winarti", "Dwi Rahayu", "Lilik Suryani",
    "Umi Kalsum", "Nur Hidayah", "Marsini", "Tumini", "Juwariyah", "Siti Fatimah", "Warsiti",
)  # fmt: skip
MEN = (
    "Bambang Prasetyo", "Suparno", "Sugeng Riyadi", "Slamet", "Joko Santoso",
    "Agus Setiawan", "Mulyono", "Sukardi", "Tarmuji", "Rohmat", "Kasno", "Darsono",
    "Wagiman", "Eko Purnomo", "Budi Hartono", "Sumarno", "Kusnadi", "Samsul Arifin",
    "Mohammad Ridwan", "Teguh Wibowo",
)  # fmt: skip
OCCUPATIONS = (
    ("petani", 30), ("pedagang", 14), ("nelayan", 4), ("peternak", 8), ("ojek", 8),
    ("tukang", 10), ("buruh_tani", 0), ("usaha_makanan", 8), ("penjahit", 4),
    ("tenaga_lepas", 8), ("perangkat_desa", 4), ("kader", 2),
)  # fmt: skip
INCOMES = (600_000, 800_000, 1_000_000, 1_200_000, 1_500_000, 2_000_000, 2_500_000)
#: Registrations per month before the demo week (the older residents: handed over,
#: accepted, paying), and the days their regency's batch went to the branch and the branch
#: answered.
OLDER_COHORTS = (
    (date(2026, 6, 1), 3, date(2026, 6, 26), date(2026, 7, 3)),
    (date(2026, 7, 1), 4, date(2026, 7, 28), date(2026, 8, 4)),
    (date(2026, 8, 1), 5, date(2026, 8, 27), date(2026, 9, 3)),
    (date(2026, 9, 1), 6, date(2026, 9, 28), date(2026, 10, 5)),
    (date(2026, 10, 1), 7, date(2026, 10, 28), date(2026, 11, 4)),
    (date(2026, 11, 1), 9, date(2026, 11, 27), date(2026, 12, 4)),
)
#: How a registration of those months ended at the branch, by (cohort month, position).
REJECTIONS = {
    (9, 2): Rejected(RejectionReason.IDENTITY_MISMATCH, "tanggal lahir beda dengan Dukcapil"),
    (10, 4): Rejected(RejectionReason.NIK_NOT_FOUND, "NIK tidak ditemukan di Dukcapil"),
    (11, 1): Rejected(RejectionReason.IDENTITY_MISMATCH, "nama beda dengan Dukcapil"),
    (11, 5): Rejected(RejectionReason.INCOMPLETE_DATA, "alamat desa kosong"),
    (11, 7): Rejected(RejectionReason.ALREADY_PARTICIPANT, "sudah terdaftar lewat PKH"),
}
#: Bojonegoro's November batch: the branch has not answered these two yet.
UNANSWERED = {(11, 3), (11, 8)}
#: Residents who paid their first month only: by December their membership lapses.
LAPSED = {(7, 2), (8, 1), (9, 4)}
#: The demo week's Tuban batch (the Bojonegoro registrations of the week still wait).
WEEK_BATCH = datetime(2026, 12, 15, 14, 0, tzinfo=WIB)
#: How the older residents pay, with weights: before the reminders, after the first one,
#: after the due date, only the first month, now and then.
PAYERS = (("early", 26), ("prompted", 30), ("late", 24), ("lapsed", 8), ("irregular", 12))

#: The platforms' reasons, as the channel log stores them.
OUTSIDE_WINDOW = "63016: Failed to send freeform message outside the window"
NOT_ON_WHATSAPP = "63003: Channel could not find To address"
UNREACHABLE = "30003: Unreachable destination handset"
BLOCKED = "Telegram refused: Forbidden: bot was blocked by the user"
TWILIO_TIMEOUT = "Twilio did not answer: ReadTimeout('timed out')"

#: The registration form's questions, in the order it asks them.
FORM = ("full_name", "nik", "birth_date", "phone", "village", "occupation", "declared_income",
        "with_jht")  # fmt: skip

#: How the week's ~100 registration conversations end: (fate, how many). A fate is
#: "confirmed", "silent" (consent asked, no answer), "declined", "cancel:<step>",
#: "abandon:<step>" (no answer at that step), "too_old" (at the birth date) or
#: "ongoing:<step>" (started this morning, still going).
FATES = (
    ("confirmed", 45), ("silent", 14), ("declined", 8), ("abandon:full_name", 3),
    ("abandon:nik", 6), ("cancel:nik", 2), ("abandon:birth_date", 3), ("too_old", 2),
    ("abandon:phone", 3), ("abandon:village", 2), ("abandon:occupation", 1),
    ("abandon:declared_income", 5), ("abandon:with_jht", 2), ("cancel:summary", 2),
    ("ongoing:phone", 1), ("ongoing:declared_income", 1), ("ongoing:summary", 1),
)  # fmt: skip


@dataclass
class Person:
    """One resident of the demo and what becomes of them."""

    name: str
    female: bool
    birth: date
    village: tuple[str, str, str]
    sender_id: str
    occupation: str
    income: int
    with_jht: bool
    payer: str = "early"
    #: Filled in as the events run.
    participant_id: int | None = None
    consent_id: int | None = None
    reference: str | None = None
    answer: Accepted | Rejected | None = None
    registered_at: datetime | None = None
    #: The WhatsApp number linked besides a Telegram registration (a reminder falls back).
    second_address: str | None = None


@dataclass(order=True)
class Event:
    at: datetime
    order: int
    run: Callable[[], object] = field(compare=False)


class Demo:
    """The demo's timeline: events run in time order, each with the clock set to its time."""

    def __init__(self, context: AppContext) -> None:
        if not isinstance(context.clock, FixedClock):
            raise TypeError("seed_demo moves the clock: give the context a FixedClock")
        self.context = context
        self.clock: FixedClock = context.clock
        self.rng = random.Random(SEED)
        self.events: list[Event] = []
        self.order = itertools.count()
        self.serials = itertools.count(1)
        self.sids = itertools.count(1)
        self.people: list[Person] = []
        self.agents: dict[str, AgentRef] = {}
        self.calendar = load_calendar()
        self.policy = ReminderPolicy()
        self.work_dir = Path(context.settings.data_dir) / "demo"
        self.work_dir.mkdir(parents=True, exist_ok=True)

    # --- the timeline ---------------------------------------------------------------------

    def at(self, moment: datetime, run: Callable[[], object]) -> None:
        heapq.heappush(self.events, Event(moment, next(self.order), run))

    def run(self) -> None:
        while self.events:
            event = heapq.heappop(self.events)
            if event.at > DEMO_NOW:
                continue
            self.clock.set(event.at)
            event.run()
        self.clock.set(DEMO_NOW)

    def now(self) -> datetime:
        return self.clock.now()

    def some_time(self, day: date, first: int = 7, last: int = 20) -> datetime:
        """A moment of ``day`` in waking hours (WIB)."""
        minutes = self.rng.randrange(first * 60, last * 60)
        return datetime.combine(day, time(0), tzinfo=WIB) + timedelta(minutes=minutes)

    # --- places and people -------------------------------------------------------------------

    def import_villages(self) -> None:
        path = self.work_dir / "villages.csv"
        lines = ["name,district,regency,province,households,officials"]
        lines += [f"{v},{d},{r},Jawa Timur,{h},{o}" for v, d, r, h, o in VILLAGES]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        import_villages(self.context.unit_of_work, path, self.clock)

    def enrol_agents(self) -> None:
        areas = {v: (v, d, r) for v, d, r, _, _ in VILLAGES}
        for n, (name, village) in enumerate(AGENTS):
            area = areas[village]
            agent_id = enrol_agent(
                self.context.unit_of_work(), self.context.cipher, self.context.hash_key,
                name=name, phone=f"+6281390{n:06d}", village=area[0], district=area[1],
                regency=area[2],
            )  # fmt: skip
            self.agents[village] = AgentRef(agent_id, name, *area)

    def person(self, channel: str | None = None) -> Person:
        rng = self.rng
        female = rng.random() < 0.5
        name = rng.choice(WOMEN if female else MEN)
        # Tuban's villages are where the programme started: more of its residents.
        tuban = [v for v in VILLAGES if v[2] == "Tuban"]
        bojonegoro = [v for v in VILLAGES if v[2] == "Bojonegoro"]
        village = rng.choice(tuban if rng.random() < 0.6 else bojonegoro)
        channel = channel or rng.choices(("wa", "tg", "web"), (55, 30, 15))[0]
        if channel == "wa":
            sender = f"wa:+62812{rng.randrange(10**7, 10**8)}"
        elif channel == "tg":
            sender = f"tg:{rng.randrange(10**8, 10**10)}"
        else:
            sender = f"web:{rng.getrandbits(96):024x}"
        occupations, weights = zip(*OCCUPATIONS, strict=True)
        return Person(
            name=name,
            female=female,
            birth=date(rng.randrange(1966, 2005), rng.randrange(1, 13), rng.randrange(1, 29)),
            village=village[:3],
            sender_id=sender,
            occupation=rng.choices(occupations, weights)[0],
            income=rng.choice(INCOMES),
            with_jht=rng.random() < 0.3,
            payer=rng.choices([p for p, _ in PAYERS], [w for _, w in PAYERS])[0],
        )

    def nik(self, person: Person) -> str:
        day = person.birth.day + (40 if person.female else 0)
        area = NIK_AREA[person.village[2]] + NIK_AREA[person.village[1]]
        return f"35{area}{day:02d}{person.birth:%m%y}{next(self.serials):04d}"

    def phone(self, person: Person) -> str:
        if person.sender_id.startswith("wa:"):
            return person.sender_id[3:]
        return f"+62857{self.rng.randrange(10**7, 10**8)}"

    def consent(self, person: Person) -> None:
        decision = ConsentDecision(
            channel=channel_of(person.sender_id),
            purpose=ConsentPurpose.REGISTRATION,
            granted=True,
            wording=CONSENT_WORDING,
        )
        person.consent_id = record_consent(
            self.context.unit_of_work(), self.context.hash_key, person.sender_id, decision,
            self.now(),
        )  # fmt: skip

    def register(self, person: Person) -> None:
        """The registration service, as action_submit_registration calls it."""
        context, now = self.context, self.now()
        if person.consent_id is None:
            self.consent(person)
        if channel_of(person.sender_id) is not Channel.WEB:
            context.channel_log.record_inbound(person.sender_id, now)
        nik = parse_nik(self.nik(person), now.date())
        registration = Registration(
            full_name=person.name,
            nik=nik,
            birth_date=nik.birth_date,
            phone=self.phone(person),
            village=person.village[0],
            district=person.village[1],
            regency=person.village[2],
            occupation=person.occupation,
            declared_income=person.income,
            with_jht=person.with_jht,
            channel=channel_of(person.sender_id),
        )
        result = register_participant(
            context.unit_of_work(), context.cipher, context.hash_key, registration,
            person.sender_id, now, person.consent_id,
        )  # fmt: skip
        person.reference, person.registered_at = result.reference, now
        with context.sessions() as session:
            person.participant_id = session.scalar(
                select(Participant.id).where(Participant.reference == result.reference)
            )
        self.people.append(person)

    def link_whatsapp(self, person: Person) -> None:
        """A Telegram resident who also linked their WhatsApp (a one-time code)."""
        assert person.participant_id is not None and person.second_address is not None
        with self.context.unit_of_work() as uow:
            digest = self.context.channel_log.sender_hash(person.second_address)
            link_address(
                uow.session, person.participant_id, digest, Channel.WHATSAPP,
                Proof.ONE_TIME_CODE, self.now(),
            )  # fmt: skip
            add_contact(uow.session, self.context.cipher, digest, person.second_address)
            uow.commit()

    # --- the hand-over to BPJS Ketenagakerjaan -----------------------------------------------

    def export(self, regency: str) -> None:
        name = f"batch-{regency.lower()}-{self.now():%Y%m%d}.xlsx"
        with contextlib.suppress(NothingToExport):  # nothing pending there
            export_batch(
                self.context.unit_of_work(), self.context.cipher, self.work_dir / name,
                regency, self.now(), "cli:demo",
            )  # fmt: skip

    def branch_answers(self, people: list[Person]) -> None:
        """The branch's answer file for these residents, imported as `sadar submissions
        import` does."""
        answers: list[tuple[str, Accepted | Rejected]] = [
            (p.reference, p.answer) for p in people if p.answer is not None and p.reference
        ]
        if not answers:
            return
        path = self.work_dir / f"jawaban-{self.now():%Y%m%d%H%M}.csv"
        with path.open("w", newline="", encoding="utf-8") as stream:
            csv.writer(stream).writerows(answer_file_rows(answers))
        import_answers(
            self.context.unit_of_work(), self.context.cipher, path, self.now(), "cli:demo"
        )

    def close_ticket(self, number: int, because: ClosedBecause) -> None:
        close_ticket(self.context.unit_of_work(), self.context.cipher, number, because, self.now())

    # --- payments -----------------------------------------------------------------------------

    def pay(self, person: Person) -> None:
        if person.participant_id is None or not isinstance(person.answer, Accepted):
            return
        rng = self.rng
        agent = self.agents.get(person.village[0])
        kind = rng.choices(("cash", "provider", "own"), (60, 30, 10))[0]
        if kind == "cash" or (kind == "own" and channel_of(person.sender_id) is Channel.WEB):
            source = PaymentSource.AGENT_CASH
            by = agent.actor if agent is not None else "cli:kantor-desa"
            reference = None
        elif kind == "provider":
            source, by = PaymentSource.PROVIDER, "provider"
            reference = f"VA-{self.now():%Y%m%d}-{next(self.sids):05d}"
        else:
            source, by, reference = PaymentSource.PARTICIPANT_REPORT, "participant:wa", None
        record_payment(
            self.context.unit_of_work(), person.participant_id, source=source, recorded_by=by,
            months=1, provider_reference=reference, now=self.now(),
        )  # fmt: skip

    def schedule_payments(self, person: Person, accepted_at: datetime) -> None:
        """One month at a time, when this kind of payer pays."""
        rng = self.rng
        start = first_period(accepted_at.astimezone(WIB).date())
        period = start
        while period <= period_of(DEMO_NOW.date()):
            due = self.calendar.due_date(period)
            if person.payer == "lapsed" and period > start:
                break
            if person.payer == "early":
                day = period + timedelta(days=rng.randrange(2, 10))
            elif person.payer == "prompted":
                day = due - timedelta(days=rng.randrange(0, 3))
            elif person.payer == "late":
                day = due + timedelta(days=rng.randrange(1, 4))
            else:
                day = period + timedelta(days=rng.randrange(0, 27))
            moment = self.some_time(day, 8, 17)
            if person.payer == "irregular" and rng.random() < 0.35:
                moment = DEMO_NOW + timedelta(days=1)  # skipped this month
            if moment <= accepted_at:
                moment = accepted_at + timedelta(days=rng.randrange(1, 4), hours=2)
            self.at(moment, partial(self.pay, person))
            period = add_months(period, 1)

    # --- reminders -----------------------------------------------------------------------

    def plan_reminders(self, day: date) -> None:
        plan(self.context.unit_of_work, day, self.calendar, self.policy, write=True,
             now=self.now())  # fmt: skip

    def send_reminders(self) -> None:
        """What the dispatcher and the platforms do with the reminders due now."""
        with self.context.sessions() as session:
            due = session.execute(
                select(Reminder.id, Reminder.participant_id)
                .where(Reminder.state == ReminderState.PLANNED.value)
                .where(Reminder.scheduled_for <= self.now())
                .order_by(Reminder.id)
            ).all()
        by_id = {p.participant_id: p for p in self.people if p.participant_id is not None}
        for reminder_id, participant_id in due:
            person = by_id.get(participant_id)
            if person is None:
                continue
            self.clock.advance(timedelta(seconds=self.rng.randrange(5, 40)))
            self.send_reminder(reminder_id, person)

    def send_reminder(self, reminder_id: int, person: Person) -> None:
        rng, log = self.rng, self.context.channel_log
        fell_back = False
        recipient = person.sender_id
        if recipient.startswith("tg:") and person.second_address and rng.random() < 0.6:
            # The resident blocked the bot on Telegram: the reminder goes to their WhatsApp.
            log.record_outbound(recipient, "reminder", "failed", error=BLOCKED)
            recipient, fell_back = person.second_address, True
        if recipient.startswith("tg:"):
            if rng.random() < 0.07:
                message = log.record_outbound(recipient, "reminder", "failed", error=BLOCKED)
                self.mark_reminder(reminder_id, message, ReminderState.FAILED, BLOCKED)
            else:
                message = log.record_outbound(
                    recipient, "reminder", "sent", provider_message_id=f"tg-{next(self.sids)}"
                )
                self.mark_reminder(reminder_id, message, ReminderState.SENT, fell_back=fell_back)
            return
        draw = rng.random()
        if draw < 0.03:
            message = log.record_outbound(recipient, "reminder", "unknown", error=TWILIO_TIMEOUT)
            self.mark_reminder(reminder_id, message, ReminderState.UNKNOWN, TWILIO_TIMEOUT)
            return
        sid = f"SM{next(self.sids):032d}"
        message = log.record_outbound(
            recipient, "reminder", "queued", provider_message_id=sid, template_id="HX" + "7" * 32
        )
        self.mark_reminder(reminder_id, message, ReminderState.SENT, fell_back=fell_back)
        self.reports(sid, draw)

    def mark_reminder(
        self,
        reminder_id: int,
        message_id: int,
        state: ReminderState,
        reason: str | None = None,
        *,
        fell_back: bool = False,
    ) -> None:
        with self.context.unit_of_work() as uow:
            uow.session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .values(
                    state=state.value,
                    outbound_message_id=message_id,
                    attempts=1,
                    reason=reason,
                    fell_back=fell_back,
                    updated_at=self.now(),
                )
            )
            uow.commit()

    def reports(self, sid: str, draw: float) -> None:
        """Twilio's status callbacks for a WhatsApp message, a minute or two later."""
        log = self.context.channel_log
        self.clock.advance(timedelta(seconds=self.rng.randrange(20, 120)))
        if draw < 0.09:
            log.record_status(sid, "sent", None)
            log.record_status(sid, "undelivered", NOT_ON_WHATSAPP if draw < 0.04 else UNREACHABLE)
            return
        log.record_status(sid, "sent", None)
        if draw < 0.16:
            return  # no report after "sent" (the phone is off)
        log.record_status(sid, "delivered", None)
        if draw < 0.55:
            self.clock.advance(timedelta(minutes=self.rng.randrange(3, 240)))
            log.record_status(sid, "read", None)

    # --- the week's conversations ---------------------------------------------------------

    def conversation(self, person: Person, fate: str, start: datetime) -> None:
        """One resident's registration conversation, as the action server sees it."""
        self.at(start, Conversation(self, person, fate).run)


class Conversation:
    """The calls the action server would see in one registration, with the replies Sadar
    sent back on WhatsApp or Telegram, and the funnel marks they make."""

    def __init__(self, demo: Demo, person: Person, fate: str) -> None:
        self.demo, self.person, self.fate = demo, person, fate
        self.slots: dict[str, Any] = {}
        self.key = funnel_key(demo.context.hash_key, person.sender_id)
        self.channel = person.sender_id.split(":")[0]

    def sees(
        self,
        action: str,
        events: list[dict[str, Any]] | None = None,
        responses: tuple[str, ...] = (),
        loop: str | None = None,
        **slots: Any,
    ) -> None:
        demo = self.demo
        self.slots.update(slots)
        events = events or []
        seen = observe(ActionCall(action, dict(self.slots), loop, events, responses))
        record(demo.context.unit_of_work(), self.key, self.channel, seen, demo.now())
        self.slots.update({e["name"]: e["value"] for e in events if e["event"] == "slot"})
        self.reply()
        # The resident reads, thinks, types: a minute or a few.
        demo.clock.advance(timedelta(seconds=demo.rng.randrange(35, 260)))

    def reply(self) -> None:
        demo, log, draw = self.demo, self.demo.context.channel_log, self.demo.rng.random()
        recipient = self.person.sender_id
        if self.channel == "web":
            return  # the web chat's replies are the HTTP answer: nothing to report
        if self.channel == "tg":
            if draw < 0.01:
                log.record_outbound(recipient, "reply", "failed", error=BLOCKED)
            else:
                log.record_outbound(
                    recipient, "reply", "sent", provider_message_id=f"tg-{next(demo.sids)}"
                )
            return
        sid = f"SM{next(demo.sids):032d}"
        log.record_outbound(recipient, "reply", "queued", provider_message_id=sid)
        log.record_status(sid, "sent", None)
        if draw < 0.01:
            log.record_status(sid, "undelivered", UNREACHABLE)
        elif draw < 0.02:
            # An answer that came after the 24-hour window closed, as free text.
            log.record_status(sid, "undelivered", OUTSIDE_WINDOW)
        elif draw > 0.05:
            log.record_status(sid, "delivered", None)
            if draw > 0.3:
                log.record_status(sid, "read", None)

    def answer(self, step: str, refused: bool = False) -> None:
        if refused:
            failures = dict(self.slots.get("registration_failures") or {})
            failures[step] = failures.get(step, 0) + 1
            events = [slot("registration_failures", failures), slot(step, None)]
        elif step == "village":
            village, district, regency = self.person.village
            events = [slot("village", village), slot("district", district),
                      slot("regency", regency)]  # fmt: skip
        else:
            events = [slot(step, self.value(step))]
        self.sees("validate_registration_form", events, loop="registration_form",
                  requested_slot=step)  # fmt: skip

    def value(self, step: str) -> Any:
        person = self.person
        return {
            "full_name": person.name, "nik": "3523000000000000",
            "birth_date": person.birth.isoformat(), "phone": "+6281200000000",
            "occupation": person.occupation, "declared_income": person.income,
            "with_jht": person.with_jht,
        }[step]  # fmt: skip

    def asks_for_a_person(self, step: str) -> None:
        self.sees("validate_registration_form", responses=("utter_handoff_to_agent",),
                  loop="registration_form", requested_slot=step)  # fmt: skip
        demo = self.demo
        opened = open_ticket(
            demo.context.unit_of_work(), demo.context.cipher, demo.context.hash_key,
            self.person.sender_id, TicketReason.ASKED,
            ["daftar", HANDOFF_TEXTS.get(step, "bisa bicara dengan petugas?")], demo.now(),
            self.person.village[0],
        )  # fmt: skip
        if self.fate.startswith("ongoing"):
            return  # asked this morning: waiting for the agent
        # An answer within the hour; the ticket is closed when the resident is done, or
        # when the conversation has gone quiet.
        demo.clock.advance(timedelta(minutes=demo.rng.randrange(12, 50)))
        answer(
            demo.context.unit_of_work(), demo.context.cipher, None, opened.number,
            "Tulis penghasilan rata-rata sebulan saja, Bu/Pak. Misal 1 juta.", demo.now(),
            admin=True,
        )  # fmt: skip
        done = self.fate == "confirmed"
        because = ClosedBecause.RESIDENT_DONE if done else ClosedBecause.INACTIVE
        demo.at(
            demo.now() + timedelta(hours=3 if done else 24),
            partial(demo.close_ticket, opened.number, because),
        )

    def run(self) -> None:
        demo, fate, rng = self.demo, self.fate, self.demo.rng
        person = self.person
        if self.channel != "web":
            demo.context.channel_log.record_inbound(person.sender_id, demo.now())
        self.sees("action_start_registration", [slot("early_fields", None)])
        if fate == "silent":
            return
        if fate == "declined":
            self.sees("action_record_consent", [slot("consent_given", None)],
                      consent_given=False)  # fmt: skip
            return
        demo.consent(person)
        self.sees("action_record_consent", [slot("consent_given", None)], consent_given=True)
        stop_kind, _, stop_at = fate.partition(":")
        for step in FORM:
            if step == stop_at and stop_kind in ("abandon", "ongoing"):
                if step == "declared_income" and rng.random() < 0.5:
                    self.asks_for_a_person(step)
                return
            if step == stop_at and stop_kind == "cancel":
                self.sees("action_cancel_registration", requested_slot=step)
                return
            if step == "birth_date" and fate == "too_old":
                self.sees("validate_registration_form",
                          [slot("registration_stopped", "too_old"), slot("birth_date", None)],
                          loop="registration_form", requested_slot=step)  # fmt: skip
                return
            for _ in range(RETRIES[step](rng)):
                self.answer(step, refused=True)
            if step == "declared_income" and rng.random() < 0.07:
                self.asks_for_a_person(step)
            self.answer(step)
        self.sees("action_ask_registration_confirmed", loop="registration_form")
        if stop_at == "summary":
            if stop_kind == "cancel":
                self.sees("action_cancel_registration", requested_slot="registration_confirmed")
            return
        self.sees("action_submit_registration", responses=("utter_registration_done",))
        demo.register(person)


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


#: How often each step's answer was refused and asked again (a NIK of 15 digits, a birth
#: date that does not match the NIK, a phone number without its last digit).
RETRIES: dict[str, Callable[[random.Random], int]] = {
    "full_name": lambda rng: 0,
    "nik": lambda rng: rng.choices((0, 1, 2), (72, 22, 6))[0],
    "birth_date": lambda rng: rng.choices((0, 1), (86, 14))[0],
    "phone": lambda rng: rng.choices((0, 1), (93, 7))[0],
    "village": lambda rng: rng.choices((0, 1), (95, 5))[0],
    "occupation": lambda rng: 0,
    "declared_income": lambda rng: rng.choices((0, 1), (90, 10))[0],
    "with_jht": lambda rng: 0,
}
HANDOFF_TEXTS = {
    "declared_income": "penghasilan saya tidak tentu, bisa bicara dengan petugas?",
}
CONSENT_WORDING = (
    "Sebelum mendaftar, kami minta persetujuan Anda. Sadar akan menyimpan data pendaftaran "
    "Anda (nama, NIK, tanggal lahir, nomor HP, desa, pekerjaan, penghasilan) untuk "
    "mendaftarkan Anda ke BPJS Ketenagakerjaan dan mengirim pengingat iuran bulanan. (demo)"
)


def seed_demo(context: AppContext) -> None:
    """Fill a fresh, migrated database with the demo (see the module docstring); the
    context's clock must be a FixedClock and is left at ``DEMO_NOW``."""
    demo = Demo(context)
    demo.clock.set(datetime(2026, 5, 20, 9, 0, tzinfo=WIB))
    demo.import_villages()
    demo.enrol_agents()
    rng = demo.rng

    # Six months of older residents, handed over in monthly batches.
    for month, count, batch_day, answer_day in OLDER_COHORTS:
        cohort: list[Person] = []
        for position in range(1, count + 1):
            person = demo.person()
            person.answer = REJECTIONS.get(
                (month.month, position), Accepted(f"26{rng.randrange(10**8, 10**9)}")
            )
            if (month.month, position) in LAPSED:
                person.payer = "lapsed"
            if (month.month, position) in UNANSWERED:
                person.answer = None
                person.village = ("Ngasem", "Ngasem", "Bojonegoro")
            if person.sender_id.startswith("tg:") and rng.random() < 0.5:
                person.second_address = f"wa:+62813{rng.randrange(10**7, 10**8)}"
            registered = demo.some_time(month + timedelta(days=rng.randrange(0, 24)))
            demo.at(registered, partial(demo.register, person))
            if person.second_address:
                demo.at(registered + timedelta(days=2), partial(demo.link_whatsapp, person))
            cohort.append(person)
        for regency in ("Tuban", "Bojonegoro"):
            demo.at(demo.some_time(batch_day, 9, 11), partial(demo.export, regency))
        answered_at = demo.some_time(answer_day, 13, 15)
        demo.at(answered_at, partial(demo.branch_answers, cohort))
        for person in cohort:
            if isinstance(person.answer, Accepted):
                demo.schedule_payments(person, answered_at)

    # The reminders of September to December, planned at 07:00, sent from 08:00.
    day = date(2026, 9, 1)
    while day <= DEMO_NOW.date():
        if occasions_on(day, demo.calendar, demo.policy):
            morning = datetime.combine(day, time(7, 0), tzinfo=WIB)
            demo.at(morning, partial(demo.plan_reminders, day))
            demo.at(morning + timedelta(hours=1), demo.send_reminders)
        day += timedelta(days=1)

    # The week's registration conversations, a drop-off at every step.
    fates = [fate for fate, count in FATES for _ in range(count)]
    rng.shuffle(fates)
    for fate in fates:
        person = demo.person()
        if fate.startswith("ongoing"):
            start = DEMO_NOW - timedelta(minutes=rng.randrange(80, 150))
        elif fate == "confirmed":
            start = demo.some_time(WEEK_START.date() + timedelta(days=rng.randrange(0, 7)))
            if start > DEMO_NOW - timedelta(hours=2):
                start -= timedelta(days=1)
        else:
            # Abandoned: no message for 24 hours, so it started before yesterday morning.
            start = demo.some_time(WEEK_START.date() + timedelta(days=rng.randrange(0, 5)))
        demo.conversation(person, fate, start)
    demo.at(WEEK_BATCH, partial(demo.export, "Tuban"))

    # Residents who asked for a person outside a registration.
    demo.at(datetime(2026, 12, 16, 9, 40, tzinfo=WIB), partial(_question, demo, "answered"))
    demo.at(datetime(2026, 12, 17, 15, 5, tzinfo=WIB), partial(_question, demo, "no_answer"))
    demo.at(datetime(2026, 12, 18, 8, 55, tzinfo=WIB), partial(_question, demo, "waiting"))
    # A resident of the week erased their data ("hapus data saya") before the hand-over.
    demo.at(datetime(2026, 12, 17, 19, 30, tzinfo=WIB), partial(_erase_one, demo))
    demo.run()


def _question(demo: Demo, outcome: str) -> None:
    """A registered resident asks for a person (about a payment, a card)."""
    paying = [p for p in demo.people if isinstance(p.answer, Accepted)]
    person = paying[len(paying) // 2 + {"answered": 0, "no_answer": 3, "waiting": 7}[outcome]]
    texts = {
        "answered": "saya sudah bayar lewat agen tapi status masih menunggak",
        "no_answer": "kartu kpj saya hilang, bagaimana?",
        "waiting": "mau tanya klaim JKK untuk suami yang jatuh dari pohon",
    }
    context = demo.context
    opened = open_ticket(
        context.unit_of_work(), context.cipher, context.hash_key, person.sender_id,
        TicketReason.ASKED, [texts[outcome]], demo.now(),
    )  # fmt: skip
    if outcome == "answered":
        demo.clock.advance(timedelta(minutes=38))
        answer(
            context.unit_of_work(), context.cipher, None, opened.number,
            "Pembayaran Bapak/Ibu sudah kami catat, status diperbarui besok pagi.", demo.now(),
            admin=True,
        )  # fmt: skip
    elif outcome == "no_answer":
        demo.at(
            demo.now() + timedelta(hours=2),
            partial(demo.close_ticket, opened.number, ClosedBecause.NO_ANSWER),
        )


def _erase_one(demo: Demo) -> None:
    recent = [
        p for p in demo.people
        if p.registered_at and p.registered_at >= WEEK_START and p.village[2] == "Bojonegoro"
        and p.sender_id.startswith("wa:")
    ]  # fmt: skip
    if recent:
        person = recent[-1]
        delete_for_sender(
            demo.context.unit_of_work(), demo.context.cipher, demo.context.hash_key,
            person.sender_id, demo.now(),
        )  # fmt: skip
        demo.people.remove(person)
