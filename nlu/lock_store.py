"""One conversation at a time across Rasa replicas, in two Redis calls a turn (issue 31).

Loaded by the Rasa server (Python 3.10) from endpoints.yml (``type:
nlu.lock_store.AtomicRedisLockStore``) when several Rasa servers share the conversations.

Rasa's own ``RedisLockStore`` keeps each conversation's ticket lock as one JSON value and
changes it by read, modify and write: seven blocking round trips to Redis per turn (issue a
ticket, check it, finish serving, ask whether anyone waits, delete), about 2 ms of the
server's event loop under load, and not atomic: two replicas issuing a ticket for the same
conversation at the same moment can both get the same number. Its keys are the sender ids
(phone numbers) in clear.

This store keeps the same ticket-lock rules (tickets served in the order issued, each
expiring after ``TICKET_LOCK_LIFETIME`` seconds so a crashed server blocks nobody for
long), but each step is one Lua script run atomically by Redis on Redis's own clock:

- taking the lock issues a ticket and says whether it is the one served now: one call;
  a turn that must wait asks again every ``poll_seconds``;
- releasing removes the ticket and the keys once no ticket is left: one call.

Keys name the conversation by a keyed hash of the sender id (``SADAR_PII_HASH_KEY``), as
the conversation store does, so Redis holds no phone number."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.infra.privacy import conversation_key

log = logging.getLogger(__name__)

#: KEYS: the conversation's tickets (hash: number -> expiry), its ticket counter.
#: ARGV: lifetime in seconds. Returns {ticket, 1 if it is served now else 0}.
_ISSUE = """
local now = redis.call('TIME')
local now_seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
local entries = redis.call('HGETALL', KEYS[1])
local first = nil
for i = 1, #entries, 2 do
  if tonumber(entries[i + 1]) <= now_seconds then
    redis.call('HDEL', KEYS[1], entries[i])
  elseif first == nil or tonumber(entries[i]) < first then
    first = tonumber(entries[i])
  end
end
local ticket = redis.call('INCR', KEYS[2])
local lifetime = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], ticket, tostring(now_seconds + lifetime))
local keep_ms = math.ceil(lifetime * 1000) + 1000
redis.call('PEXPIRE', KEYS[1], keep_ms)
redis.call('PEXPIRE', KEYS[2], keep_ms)
if first == nil then return {ticket, 1} end
return {ticket, 0}
"""

#: KEYS as above; ARGV: the ticket. Returns 1 when it is served now, 0 while an earlier
#: ticket is live, -1 when the ticket itself expired.
_CHECK = """
local now = redis.call('TIME')
local now_seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
local entries = redis.call('HGETALL', KEYS[1])
local first = nil
local mine = false
for i = 1, #entries, 2 do
  if tonumber(entries[i + 1]) <= now_seconds then
    redis.call('HDEL', KEYS[1], entries[i])
  else
    if entries[i] == ARGV[1] then mine = true end
    if first == nil or tonumber(entries[i]) < first then first = tonumber(entries[i]) end
  end
end
if not mine then return -1 end
if first == tonumber(ARGV[1]) then return 1 end
return 0
"""

#: KEYS as above; ARGV: the ticket. Removes it, and the keys when no ticket is left.
_RELEASE = """
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
end
return 1
"""

DEFAULT_POLL_SECONDS = 0.05


class AtomicRedisLockStore(LockStore):
    """Rasa's ticket lock, each step one atomic Redis script (see the module docstring).
    ``get_lock`` and ``delete_lock`` read and clear a conversation's lock as Rasa's would;
    ``save_lock`` (Rasa's read-modify-write) is deliberately left unimplemented."""

    def __init__(
        self, endpoint_config: EndpointConfig, poll_seconds: float = DEFAULT_POLL_SECONDS
    ) -> None:
        hash_key = os.environ.get("SADAR_PII_HASH_KEY", "")
        if not hash_key:
            raise RuntimeError(
                "SADAR_PII_HASH_KEY must be set for the lock store (keys are hashed sender "
                "ids); `sadar run` and docker-compose.yml set it."
            )
        self._hash_key = hash_key
        kwargs = endpoint_config.kwargs
        self.red = redis.Redis(
            host=endpoint_config.url or "127.0.0.1",
            port=int(kwargs.get("port") or 6379),
            db=int(kwargs.get("db") or 0),
            password=kwargs.get("password") or None,
            socket_timeout=float(kwargs.get("socket_timeout") or 10),
        )
        self.key_prefix = f"{kwargs.get('key_prefix') or 'sadar'}:lock:"
        self.poll_seconds = poll_seconds
        self._issue = self.red.register_script(_ISSUE)
        self._check = self.red.register_script(_CHECK)
        self._release = self.red.register_script(_RELEASE)
        super().__init__()

    def _keys(self, conversation_id: str) -> list[str]:
        base = self.key_prefix + conversation_key(self._hash_key, conversation_id)
        return [f"{base}:tickets", f"{base}:next"]

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        ticket, _served = self._issue_and_check(self._keys(conversation_id), lock_lifetime)
        return ticket

    def _issue_and_check(self, keys: list[str], lock_lifetime: float) -> tuple[int, bool]:
        try:
            ticket, served = self._issue(keys=keys, args=[lock_lifetime])
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return int(ticket), bool(served)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's ``LockStore.lock``: the ticket is issued and checked in one call, and
        asked again every ``poll_seconds`` (not Rasa's 1 s) while another turn of the same
        conversation is served."""
        keys = self._keys(conversation_id)  # one keyed hash for the whole turn
        ticket, served = self._issue_and_check(keys, lock_lifetime)
        try:
            while not served:
                await asyncio.sleep(min(wait_time_in_seconds, self.poll_seconds))
                state = int(self._check(keys=keys, args=[ticket]))
                if state < 0:
                    raise LockError(
                        f"Could not acquire lock for conversation_id '{conversation_id}'."
                    )
                served = state == 1
            yield TicketLock(conversation_id, deque([Ticket(ticket, time.time() + lock_lifetime)]))
        finally:
            self._release_ticket(keys, ticket)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self._release_ticket(self._keys(conversation_id), ticket_number)

    def _release_ticket(self, keys: list[str], ticket_number: int) -> None:
        try:
            self._release(keys=keys, args=[ticket_number])
        except redis.RedisError:
            # The ticket expires by itself; the next turn of this conversation waits for
            # at most its lifetime.
            log.warning("could not release a conversation lock in Redis", exc_info=True)

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        tickets_key, _ = self._keys(conversation_id)
        entries: dict[Any, Any] = self.red.hgetall(tickets_key)  # type: ignore[assignment]
        if not entries:
            return None
        tickets = sorted(
            (Ticket(int(number), float(expires)) for number, expires in entries.items()),
            key=lambda ticket: ticket.number,
        )
        return TicketLock(conversation_id, deque(tickets))

    def delete_lock(self, conversation_id: str) -> None:
        self.red.delete(*self._keys(conversation_id))
