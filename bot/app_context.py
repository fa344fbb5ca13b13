"""Process-wide resources (settings, database engine), built on first use, not at import."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.crypto import PiiCipher
from bot.db.engine import make_engine, make_session_factory
from bot.services.channel_log import ChannelLog
from bot.settings import Settings, get_settings


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    cipher: PiiCipher

    @property
    def hash_key(self) -> str:
        return self.settings.pii_hash_key.get_secret_value()

    @property
    def channel_log(self) -> ChannelLog:
        return ChannelLog(self.sessions, self.hash_key, self.cipher)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        engine = make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            cipher=PiiCipher(settings.pii_encryption_keys.get_secret_value()),
        )


@lru_cache(maxsize=1)
def get_app_context() -> AppContext:
    return AppContext.from_settings(get_settings())
