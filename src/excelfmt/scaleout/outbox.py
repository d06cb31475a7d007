"""A worker's outcomes on their way to Redis: gathered by batch, pushed as they come.

    Pool -> gather(outcomes) -> Outbox -> one Lua call a batch: RPUSH to the run's
    outcomes list + SADD to the batch's done set -> the run's feed collects them

Outcomes are pushed as soon as the push before is done, all batches' together: under load
one push carries the rows answered during the last one's round trip. A worker killed with
-9 then leaves only its rows in flight (and at most a round trip's answers) unpushed;
those are sent again with the same Idempotency-Key. A timer (every 50 ms) saved a fifth
of a worker's CPU but left 50 ms of answered rows to send twice (docs/performance.md,
"Scale-out").
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import anyio

from ..broker import keys
from ..broker.batches import outcome_record
from ..broker.connection import Outage
from ..models import Outcome

if TYPE_CHECKING:
    from redis.asyncio import Redis

PUSH = """
if redis.call('HGET', KEYS[3], ARGV[3]) == ARGV[4] then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], unpack(ARGV, 6))
redis.call('HSET', KEYS[4], ARGV[3], ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[4], ARGV[2])
return 1
"""
"""KEYS: a session's outcomes list, a batch's done set, its holders, its taken marks.
ARGV: the outcomes' entry, the keys' lifetime, the batch, keys.TAKEN_OVER, the highest
row taken from the batch so far, the rows' seqs. A row's outcome and its "done" mark, or
neither; neither (0) once the run gave the batch to another worker, having heard no
heartbeat from this one."""

Held = tuple[str, str]
"""(session, batch name)."""


class Outbox:
    """See the module docstring. `pushed(count)` hears of every push that landed;
    `taken_over(batch)` of a batch whose outcomes Redis no longer takes from here."""

    def __init__(
        self,
        redis: Redis,
        outage: Outage,
        pushed: Callable[[int], None],
        taken_over: Callable[[Held], None],
    ) -> None:
        self._outage = outage
        self._pushed = pushed
        self._taken_over = taken_over
        self._push = redis.register_script(PUSH)
        self._gathered: dict[Held, list[Outcome]] = {}
        """Outcomes not yet pushed, by batch."""
        self._taken: dict[Held, Callable[[], int]] = {}
        self._pushing = anyio.Lock()
        self._gathering = anyio.Event()

    def gatherer(
        self, batch: Held, taken: Callable[[], int]
    ) -> Callable[[Sequence[Outcome]], Awaitable[None]]:
        """What a batch's pool hands its outcomes to; `taken()`: the highest row (seq) it
        has taken to send, which each push records beside the outcomes."""
        gathered = self._gathered.setdefault(batch, [])
        self._taken[batch] = taken

        async def gather(outcomes: Sequence[Outcome]) -> None:
            gathered.extend(outcomes)
            self._gathering.set()

        return gather

    def forget(self, batch: Held) -> None:
        """The batch is over and its last outcomes pushed (push_gathered)."""
        self._gathered.pop(batch, None)
        self._taken.pop(batch, None)

    async def push_as_it_comes(self) -> None:
        """Outcomes go to Redis as soon as the push before is done, all batches' in one go."""
        while True:
            await self._gathering.wait()
            self._gathering = anyio.Event()
            await self.push_gathered()

    async def push_gathered(self) -> None:
        """Every batch's outcomes gathered so far, a Lua call a batch: each outcome with its
        row's "done" mark, or neither. One push at a time: a batch's last push waits for
        the one under way, so its outcomes are all in Redis before it completes."""
        async with self._pushing:
            await self._push_taken()

    async def _push_taken(self) -> None:
        taken = {batch: found[:] for batch, found in self._gathered.items() if found}
        for batch in taken:
            self._gathered[batch].clear()
        unpushed = list(taken.items())
        while unpushed:
            (session, name), outcomes = unpushed[0]
            records = [outcome_record(o) for o in outcomes]
            entry = json.dumps([name, records], ensure_ascii=False, default=str)
            push_keys = [
                keys.outcomes(session), keys.done(session, name), keys.holders(session),
                keys.taken(session),
            ]  # fmt: skip
            highest = self._taken.get((session, name), lambda: -1)()
            args = [entry, keys.SESSION_TTL, name, keys.TAKEN_OVER, highest]
            args += [o.row.seq for o in outcomes]
            try:
                landed = await self._outage.call(
                    lambda k=push_keys, a=args: self._push(keys=k, args=a)  # type: ignore[misc]
                )
            except BaseException:
                # Not pushed (stopped while Redis was away): kept for a later push; if
                # none comes, their rows are sent again, like rows in flight.
                for batch, left in unpushed:
                    self._gathered.setdefault(batch, [])[:0] = left
                raise
            unpushed.pop(0)
            if landed:
                self._pushed(len(outcomes))
            else:
                self._taken_over((session, name))
