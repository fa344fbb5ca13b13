"""Process-wide resources (settings, database engine, the services built on them), built on
first use, not at import, and each built once per context. What talks to people (the Outbox,
the conversation router, the reminder dispatcher) is assembled from this in bot/bootstrap.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, lru_cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import make_engine, make_session_factory
from bot.domain.clock import Clock, clock_starting_at
from bot.domain.consent import CodePolicy
from bot.infra.crypto import PiiCipher
from bot.infra.settings import Settings, get_settings
from bot.services.addresses.linking import AddressBook
from bot.services.addresses.number_change import NumberChanges
from bot.services.channel_log import ChannelLog
from bot.services.courier import Courier
from bot.services.handoff import HandoffPolicy
from bot.services.handoff_relay import HandoffRelay
from bot.services.on_behalf import OnBehalfRegistrations
from bot.services.one_time_codes import OneTimeCodes
from bot.services.resident_notices import ResidentNotices
from bot.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AppContext:
    """One per process (``get_app_context``; the gateway and tests build their own). Its
    services hold no per-request state, so each is built on first use and then kept
    (``cached_property`` writes past the frozen dataclass into the instance's own dict)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    cipher: PiiCipher
    #: The one clock of this process: services and actions get "now" and "today" from it.
    clock: Clock = field(default_factory=Clock)

    @property
    def hash_key(self) -> str:
        return self.settings.pii_hash_key.get_secret_value()

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work for one use case (services commit through it)."""
        return UnitOfWork(self.sessions)

    @cached_property
    def channel_log(self) -> ChannelLog:
        return ChannelLog(self.unit_of_work, self.hash_key, self.cipher, self.clock)

    @cached_property
    def handoff_policy(self) -> HandoffPolicy:
        return HandoffPolicy(
            answer_within=timedelta(minutes=self.settings.handoff_answer_minutes),
            close_after_idle=timedelta(minutes=self.settings.handoff_idle_minutes),
        )

    def handoff_relay(self, courier: Courier) -> HandoffRelay:
        """A relay sending through ``courier``; bot/bootstrap.py builds the one a process
        uses, with that process's Outbox."""
        return HandoffRelay(
            self.unit_of_work, self.cipher, self.hash_key, courier, self.clock, self.handoff_policy
        )

    @cached_property
    def code_policy(self) -> CodePolicy:
        """One-time codes (consent from a resident's phone, linking a number) share rules."""
        return CodePolicy(
            valid_for=timedelta(minutes=self.settings.consent_code_valid_minutes),
            max_attempts=self.settings.consent_code_max_attempts,
        )

    @cached_property
    def one_time_codes(self) -> OneTimeCodes:
        """The one service for one-time codes; linking, number change and walk-in consent
        are its purposes."""
        return OneTimeCodes(self.unit_of_work, self.cipher, self.hash_key, self.code_policy)

    @cached_property
    def on_behalf(self) -> OnBehalfRegistrations:
        return OnBehalfRegistrations(
            self.unit_of_work, self.cipher, self.hash_key, self.one_time_codes
        )

    @cached_property
    def address_book(self) -> AddressBook:
        return AddressBook(self.unit_of_work, self.cipher, self.hash_key, self.one_time_codes)

    @cached_property
    def resident_notices(self) -> ResidentNotices:
        return ResidentNotices(
            self.channel_log,
            self.settings.whatsapp_resident_notice_content_sid,
            self.settings.whatsapp_kpj_content_sid,
        )

    @cached_property
    def number_changes(self) -> NumberChanges:
        return NumberChanges(self.unit_of_work, self.cipher, self.hash_key)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> AppContext:
        """``clock`` (tests) replaces the settings' clock."""
        engine = make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            cipher=PiiCipher(settings.pii_encryption_keys.get_secret_value()),
            clock=clock or clock_starting_at(settings.clock_starts_at, settings.clock_anchor),
        )


@lru_cache(maxsize=1)
def get_app_context() -> AppContext:
    return AppContext.from_settings(get_settings())
