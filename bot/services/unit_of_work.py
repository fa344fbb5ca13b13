"""One use case, one transaction (the unit of work of *Architecture Patterns with Python*,
ch. 6).

A service receives a ``UnitOfWork``, enters it, reads and writes through ``uow.session``
and calls ``uow.commit()`` once at the end. Leaving the block without committing (an
exception, an early return) rolls back everything the block did, so a use case is written
completely or not at all.

Use cases compose: a service that calls another with the same unit of work, while it is
open, shares its transaction, and only the outermost ``commit`` writes. Registering a
resident is then one transaction whether it is called on its own or as part of confirming
a walk-in's code or importing a village's officials.

One instance serves one caller at a time (it holds one session while entered); the
application hands out a new one per use case (``AppContext.unit_of_work``)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWorkError(RuntimeError):
    """The unit of work was used outside its block."""


class UnitOfWork:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._session: Session | None = None
        self._depth = 0

    def __enter__(self) -> Self:
        if self._depth == 0:
            self._session = self._sessions()
        self._depth += 1
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        session, self._session = self._session, None
        assert session is not None
        # Closing rolls back whatever was not committed; objects read stay readable.
        session.close()

    @property
    def session(self) -> Session:
        if self._session is None:
            raise UnitOfWorkError("use the unit of work inside `with uow:`")
        return self._session

    @property
    def is_outermost(self) -> bool:
        return self._depth == 1

    def commit(self) -> None:
        """Write everything done so far, when this is the outermost block; inside another
        block the outer use case commits (or, failing, rolls back) for both."""
        if self._depth == 0:
            raise UnitOfWorkError("commit inside `with uow:`")
        if self.is_outermost:
            self.session.commit()
        else:
            self.session.flush()

    def rollback(self) -> None:
        """Undo everything this unit did so far (only the outermost block may: an inner
        use case fails by raising, and its caller decides)."""
        if not self.is_outermost:
            raise UnitOfWorkError("only the outermost block rolls back")
        self.session.rollback()

    def flush(self) -> None:
        """Send pending writes (to learn generated ids) without ending the transaction."""
        self.session.flush()
