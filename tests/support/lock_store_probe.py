"""Run by the Rasa environment's Python (3.10) from tests/integration/test_lock_store.py:
two Rasa replicas' lock stores on one real Redis. Prints, as JSON, the order in which turns
of one conversation ran, what a turn costs in Redis commands, the keys Redis held while a
turn ran, a crashed holder's ticket expiring, and that releasing leaves no key behind."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from typing import Any

import redis
from rasa.core.lock_store import LockError
from rasa.utils.endpoints import EndpointConfig

from nlu.lock_store import AtomicRedisLockStore

SENDER = "wa:+6281234567123"


def counting_round_trips(store: AtomicRedisLockStore) -> list[str]:
    """The commands the store's client sends from now on (each one round trip)."""
    sent: list[str] = []
    execute = store.red.execute_command

    def counted(*args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return execute(*args, **options)

    store.red.execute_command = counted  # type: ignore[method-assign]
    return sent


async def main(host: str, port: int) -> dict[str, Any]:
    prefix = f"probe{secrets.token_hex(4)}"  # Redis is shared with other tests
    config = EndpointConfig(url=host, port=port, db=0, password="", key_prefix=prefix)
    first, second = AtomicRedisLockStore(config), AtomicRedisLockStore(config)
    client = redis.Redis(host=host, port=port)
    out: dict[str, Any] = {}

    # Warm the scripts' cache, then count the commands of one uncontended turn.
    async with first.lock(SENDER):
        pass
    sent = counting_round_trips(first)
    async with first.lock(SENDER):
        pass
    out["round_trips_per_turn"] = list(sent)
    async with first.lock(SENDER):
        out["keys_while_held"] = sorted(k.decode() for k in client.keys(f"{prefix}:*"))
    out["keys_after"] = [k.decode() for k in client.keys(f"{prefix}:*")]

    # Turns of one conversation on both replicas run one at a time, in ticket order.
    ran: list[str] = []

    async def turn(store: AtomicRedisLockStore, name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with store.lock(SENDER):
            ran.append(f"{name} in")
            await asyncio.sleep(0.05)
            ran.append(f"{name} out")

    await asyncio.gather(
        turn(first, "a", 0), turn(second, "b", 0.01), turn(first, "c", 0.02),
        turn(second, "d", 0.03),
    )  # fmt: skip
    out["order"] = ran

    # Another conversation is not held up: its lock is served on the first call.
    checks: list[int] = []
    check = second._check
    second._check = lambda **kwargs: checks.append(1) or check(**kwargs)  # type: ignore[method-assign]
    async with first.lock(SENDER), second.lock("tg:555"):
        out["other_conversation_polls"] = len(checks)
    second._check = check  # type: ignore[method-assign]

    # A holder that crashed (ticket never released) blocks the next turn only until its
    # ticket expires.
    crashed = first.issue_ticket(SENDER, 0.3)
    started = asyncio.get_running_loop().time()
    async with second.lock(SENDER, lock_lifetime=5):
        out["waited_for_crashed_seconds"] = asyncio.get_running_loop().time() - started
    out["crashed_ticket"] = crashed
    first.cleanup(SENDER, crashed)

    # A waiting turn whose own ticket expires gets Rasa's LockError.
    holder = first.issue_ticket(SENDER, 5)
    try:
        async with second.lock(SENDER, lock_lifetime=0.2):
            out["expired_waiter"] = "served"
    except LockError:
        out["expired_waiter"] = "LockError"
    first.cleanup(SENDER, holder)
    out["keys_at_end"] = [k.decode() for k in client.keys(f"{prefix}:*")]
    out["prefix"] = prefix
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2])))))
