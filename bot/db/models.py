"""Tables. Personal identifiers are kept only as keyed hashes or ciphertext."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so that Alembic migrations behave the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ConsentRecord(Base):
    """One decision by one conversation on one consent text: who (hashed), when, where, what."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column(Boolean)
    wording: Mapped[str] = mapped_column(Text)
    wording_sha256: Mapped[str] = mapped_column(String(64))
    #: How it was given: bot.domain.consent.ConsentMethod.
    method: Mapped[str] = mapped_column(String(24), default="in_chat", server_default="in_chat")
    #: The Perisai agent who collected it on the resident's behalf, if any.
    agent_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Participant(Base):
    """A BPU participant registered through Sadar.

    Identifying data is stored encrypted (``*_encrypted``, Fernet with SADAR_PII_ENCRYPTION_KEYS);
    the NIK and phone also as keyed hashes for lookups. Nothing here is the official KPJ
    number: ``reference`` is Sadar's own."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    nik_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nik_encrypted: Mapped[str] = mapped_column(Text)
    full_name_encrypted: Mapped[str] = mapped_column(Text)
    birth_date_encrypted: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone_encrypted: Mapped[str] = mapped_column(Text)
    income_encrypted: Mapped[str] = mapped_column(Text)
    sex: Mapped[str] = mapped_column(String(1))
    province_code: Mapped[str] = mapped_column(String(2))
    district_code: Mapped[str] = mapped_column(String(6))
    village: Mapped[str] = mapped_column(String(100))
    #: The village's Kemendagri code ("35.23.16.2001"), when read from the register.
    village_code: Mapped[str | None] = mapped_column(String(13), nullable=True, index=True)
    district: Mapped[str] = mapped_column(String(100))
    regency: Mapped[str] = mapped_column(String(100))
    occupation: Mapped[str] = mapped_column(String(40))
    with_jht: Mapped[bool] = mapped_column(Boolean)
    monthly_contribution: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    consent_record_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("consent_records.id"), nullable=True
    )
    first_period: Mapped[date] = mapped_column(Date)
    #: The last month covered by verified payments (None before the first payment).
    paid_through: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: A village official (perangkat desa), counted against the village's officials.
    is_official: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    registered_by_agent_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    #: How the phone number was proven to be the participant's (bot.domain.addresses.Proof):
    #: None while it is only what they typed.
    phone_verified_by: Mapped[str | None] = mapped_column(String(24), nullable=True)
    #: "stop pengingat": no reminder on any address until "aktifkan pengingat".
    reminders_opted_out_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ParticipantAddress(Base):
    """One verified chat address of a participant (web chat, Telegram, WhatsApp): RapidPro's
    URN idea. The address itself is the ChannelContact with the same keyed hash; a shared
    family phone may be linked to several participants."""

    __tablename__ = "participant_addresses"
    __table_args__ = (UniqueConstraint("participant_id", "sender_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    #: How the address was proven to be the participant's (bot.domain.addresses.Proof).
    proof: Mapped[str] = mapped_column(String(24))
    #: Reminders go here first while it can be reached.
    preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AddressLink(Base):
    """A WhatsApp number waiting to be linked to a participant (added, or replacing their
    number), until the one-time code sent there is typed back. The code is kept only as a
    keyed hash bound to this row; the row is deleted when used, locked or expired."""

    __tablename__ = "address_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="CASCADE"), unique=True
    )
    #: add (one more address) or replace (a number change: the old WhatsApp goes).
    purpose: Mapped[str] = mapped_column(String(12))
    target_sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    target_sender_encrypted: Mapped[str] = mapped_column(Text)
    #: The conversation that asked (a linked address, or the agent's): it may type the code.
    requester_sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: Set when a Perisai agent asked on the resident's behalf (audited).
    agent_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CodeSend(Base):
    """A one-time code sent to a number (linking, number change, walk-in consent), kept a
    day so that codes to one number are capped whoever asks and for whatever purpose; the
    number only as a keyed hash."""

    __tablename__ = "code_sends"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    destination_hash: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class WebSession(Base):
    """A web chat conversation id the gateway issued (bot/gateway/web_sessions.py), known
    by a keyed hash; gone when the resident types "keluar" or it idles out."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_active_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class MovedAddress(Base):
    """A WhatsApp number a participant's number change moved away from. It was told so,
    and may answer "BUKAN SAYA" until ``report_until`` (an audit event and a ticket for the
    village agent)."""

    __tablename__ = "moved_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    old_sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: The agent who made the change, if one did.
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    report_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEvent(Base):
    """Who did what to which participant, and which fields changed (names, never values)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="SET NULL"), nullable=True, index=True
    )
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    fields: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ChannelContact(Base):
    """A conversation address on one channel: how to reach it (encrypted) and when the person
    last wrote, which decides whether WhatsApp still allows a free-form message."""

    __tablename__ = "channel_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    address_encrypted: Mapped[str] = mapped_column(Text)
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Set when the person asked for no more reminders on this address ("STOP", "stop
    #: pengingat di sini saja"); cleared when they resume.
    reminders_opted_out_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    #: A send here failed for good (bot blocked, number not on WhatsApp, template refused):
    #: reminders use another address until the person writes from this one again.
    undeliverable_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    undeliverable_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OutboundMessage(Base):
    """One message Sadar sent (or tried to send), with the latest delivery status reported
    by the platform. Content is not stored: only what is needed to trace delivery."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient_hash: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    template_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Payment(Base):
    """Money received for a participant's contributions, from an agent (cash), a payment
    provider's notification, or the participant's own report (unverified until confirmed)."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: None once the participant erased their data: the payment stays for the office's
    #: accounting, unlinked from the person (bot/services/erasure.py).
    participant_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="SET NULL"), nullable=True, index=True
    )
    receipt: Mapped[str] = mapped_column(String(20), unique=True)
    #: One receipt for a jimpitan group's payment, shared by each member's payment row.
    group_receipt: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(20))
    provider_reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer)
    verified: Mapped[bool] = mapped_column(Boolean)
    #: The months covered, set when the payment is verified.
    period_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    period_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(80))
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Reminder(Base):
    """One reminder for one participant, period and kind; the unique key is what makes a
    reminder impossible to plan or send twice."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("participant_id", "period", "kind"),
        Index("ix_reminders_state_scheduled_for", "state", "scheduled_for"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="CASCADE")
    )
    period: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    scheduled_for: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outbound_message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Sent to another of the participant's addresses after the first refused it for good
    #: (kept when a delivery report later replaces ``reason``).
    fell_back: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Agent(Base):
    """A Perisai agent, enrolled by an administrator. Recognised only by the channel
    identities stored here (keyed hashes of "wa:+62…" and "tg:<user id>")."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone_encrypted: Mapped[str] = mapped_column(Text)
    whatsapp_sender_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    telegram_sender_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    village: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(String(100))
    regency: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: "tg:<user id>", encrypted: where residents' questions reach an agent who uses
    #: Telegram (their WhatsApp number is ``phone_encrypted``).
    telegram_sender_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)


class PendingConsent(Base):
    """A registration an agent made for a resident, held until the resident replies from
    their own phone with the one-time code sent there. Personal data only as ciphertext and
    keyed hashes; the row is deleted once confirmed, refused, expired or locked (the outcome
    stays in the audit trail)."""

    __tablename__ = "pending_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(Integer, ForeignKey("agents.id", ondelete="CASCADE"))
    #: Family members often share one phone: several may wait on the same number.
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: One waiting registration per person: a new code for them replaces the old one.
    nik_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    registration_encrypted: Mapped[str] = mapped_column(Text)
    #: The agent's conversation, told when the resident answers.
    agent_sender_encrypted: Mapped[str] = mapped_column(Text)
    #: The consent text the resident was sent, recorded with their decision.
    wording: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: No code went yet: the resident's number is outside WhatsApp's 24-hour window and no
    #: template is approved, so the code goes when that number writes to Sadar.
    awaiting_contact: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Village(Base):
    """A village (desa/kelurahan) and the figures coverage is measured against."""

    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("name_key", "district_key", "regency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(String(100))
    regency: Mapped[str] = mapped_column(String(100))
    province: Mapped[str] = mapped_column(String(100))
    #: Lower-case, single-spaced names: how participants' free-text villages are matched.
    name_key: Mapped[str] = mapped_column(String(100))
    district_key: Mapped[str] = mapped_column(String(100))
    regency_key: Mapped[str] = mapped_column(String(100))
    #: The Kemendagri code the import found in the national register (None: not found).
    code: Mapped[str | None] = mapped_column(String(13), nullable=True, index=True)
    households: Mapped[int] = mapped_column(Integer)
    officials: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ImportRun(Base):
    """One CSV import, so that a re-run of the same file resumes instead of starting over."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    rows_total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ImportRowResult(Base):
    """What happened to one row of an import: created, already there, or the error."""

    __tablename__ = "import_row_results"
    __table_args__ = (UniqueConstraint("run_id", "row_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("import_runs.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")


class Ticket(Base):
    """A resident talking to a person (issue 18): routed to an agent (or to the
    administrators when none is active), open until the resident types "selesai", an agent
    or administrator closes it, nobody answers in time, or it goes quiet. The resident's
    address is kept only as ciphertext and a keyed hash."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Shown as "T-<number>": short enough to type in a reply.
    number: Mapped[int] = mapped_column(Integer, unique=True)
    resident_sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    resident_sender_encrypted: Mapped[str] = mapped_column(Text)
    village: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: With ``village``, the area whose agents may take the ticket (None: not known).
    district: Mapped[str | None] = mapped_column(String(100), nullable=True)
    regency: Mapped[str | None] = mapped_column(String(100), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    #: Why the person was called (today always "asked": a request or the offer's button).
    reason: Mapped[str] = mapped_column(String(24))
    #: waiting (nobody answered yet), answered, closed.
    state: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_answer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    closed_because: Mapped[str | None] = mapped_column(String(24), nullable=True)


class Dispute(Base):
    """An agent's "sengketa NIK …": the registration to release, waiting for the agent's
    yes (and, outside the agent's village, an administrator's approval). The NIK only as
    its keyed hash."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="SET NULL"), nullable=True
    )
    nik_hash: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(20))
    #: confirming, awaiting_admin, released, cancelled, refused.
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TicketMessage(Base):
    """One message of a ticket, either way, encrypted; kept as long as conversations are."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    #: resident, agent, admin, bot (what Sadar itself said: the hand-over, the apology).
    author: Mapped[str] = mapped_column(String(12))
    body_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: For a resident on the web chat: handed to their page yet (the page asks for news).
    delivered: Mapped[bool] = mapped_column(Boolean, default=True)


class Submission(Base):
    """A registration's hand-over to BPJS Ketenagakerjaan (bot.domain.submissions): one per
    participant, keyed by Sadar's reference (the idempotency key, kept after erasure so a
    withdrawal can still name it). The KPJ number and the branch's remark are encrypted."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("participants.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    #: bot.domain.submissions.SubmissionState.
    state: Mapped[str] = mapped_column(String(20), index=True)
    #: Where the registration belongs (the branch that answers for it); not personal.
    regency: Mapped[str] = mapped_column(String(100), index=True)
    village: Mapped[str] = mapped_column(String(100))
    #: The batch file it went in ("BATCH-20261205-…"), or the partner API's request id.
    batch_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kpj_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    payment_code_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: bot.domain.submissions.RejectionReason, when rejected.
    reason_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason_detail_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Transient failures in a row (reset by any answer).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    #: Taken by one worker for a partner API call (the reminders' claim discipline).
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: The KPJ message was handed to the resident's channel: never twice.
    accepted_notice_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    #: The refusal was told to the resident (and their agent): once per refusal (cleared
    #: when a corrected registration is refused again).
    rejected_notice_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    #: After erasure of a submitted registration: "due" until the branch (a batch file) or
    #: the partner API has been told, then "sent".
    withdrawal: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SubmissionEvent(Base):
    """One move of a submission, for its history and the audit: never personal data, only
    states, the batch or request id and reason codes."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FunnelJourney(Base):
    """One registration's progress, for the funnel (bot/domain/funnel.py): no personal data,
    only a keyed hash of the conversation (erased with it), the channel, the village once
    known, and how far it got."""

    __tablename__ = "funnel_journeys"
    __table_args__ = (Index("ix_funnel_journeys_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_hash: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    #: An agent registering a walk-in.
    on_behalf: Mapped[bool] = mapped_column(Boolean, default=False)
    village: Mapped[str | None] = mapped_column(String(100), nullable=True)
    district: Mapped[str | None] = mapped_column(String(100), nullable=True)
    regency: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: The furthest funnel row reached (bot.domain.funnel.funnel_position).
    furthest: Mapped[int] = mapped_column(Integer, default=0)
    #: bot.domain.funnel.Outcome; None while open (abandoned is counted, not stored).
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class FunnelMark(Base):
    """A step reached (once per journey), answered again after a refusal, or where the
    resident asked for a person."""

    __tablename__ = "funnel_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journey_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("funnel_journeys.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Operator(Base):
    """An operations console account limited to one regency or a set of villages (issue 32),
    created with `sadar admin add-operator`; the administrator is not one (their password is
    in settings). Never deleted, only deactivated, so the audit keeps naming who it was."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Lower case, 3-32 of [a-z0-9._-].
    username: Mapped[str] = mapped_column(String(32), unique=True)
    #: bot.infra.passwords: 'pbkdf2_sha256$<iterations>$<salt>$<hash>'.
    password_hash: Mapped[str] = mapped_column(String(200))
    regency: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: JSON list of [village, district, regency], as written in the village table.
    villages: Mapped[str] = mapped_column(Text, default="[]")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AdminAuditEntry(Base):
    """One console page or download that showed personal data (even masked): who, with which
    scope, what and how many rows. The path keeps only query values that name no one
    (bot.domain.access.audit_path)."""

    __tablename__ = "admin_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    #: None: the administrator.
    operator_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("operators.id", ondelete="SET NULL"), nullable=True, index=True
    )
    username: Mapped[str] = mapped_column(String(32))
    #: What was shown: "dashboard", "tickets", "payments.csv".
    page: Mapped[str] = mapped_column(String(40))
    #: bot.domain.access.Scope.describe() at the time.
    scope: Mapped[str] = mapped_column(String(100))
    rows_shown: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(300))
