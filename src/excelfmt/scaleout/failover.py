"""A run takes its batches back from a worker that died, within seconds.

    worker: TAKE notes it as the batch's holder; its heartbeat key lives DEAD_AFTER s
    run, every look (feed.CHECK_EVERY): active batch, holder's key gone twice in a row
        -> holder := TAKEN_OVER, BullMQ's lock deleted, the job removed
        -> the feed enqueues the batch's unanswered rows again, first in line

BullMQ alone moves a dead worker's job once its lock (30 s) lapses and a stalled check
(every 30 s) finds it: up to a minute of a run standing still. The heartbeat beats from
a thread (heartbeat.py), so a busy worker keeps its batches; a worker that was only cut
off from Redis has its later pushes for the batch refused (outbox.PUSH) and stops sending
it. The rows it had in flight are sent again, with the same Idempotency-Key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..broker import keys
from ..broker.connection import QUEUE_NAME, Outage
from ..store import runlog


class Failover:
    def __init__(
        self, redis: Any, queue: Any, session: str, outage: Outage, notice: Callable[[str], None]
    ) -> None:
        """`redis`: a decoded client; `queue`: the BullMQ Queue; `notice`: a sentence for
        the person watching the run."""
        self._redis = redis
        self._queue = queue
        self._holders = keys.holders(session)
        self._outage = outage
        self._notice = notice
        self._silent: set[str] = set()
        """Batches whose worker had no heartbeat at the last look."""
        self._dead: set[str] = set()
        """Workers batches were taken from, told once."""

    async def take_from_the_silent(self, states: dict[str, str]) -> dict[str, str]:
        """Active batches (by name, in `states`) whose worker's heartbeat is gone, now and
        at the look before (one miss may be a Redis that was away a moment), leave the
        queue: their state becomes "unknown", for the caller to enqueue their rows again.
        The batches taken, each with the worker it was taken from."""
        active = [name for name, state in states.items() if state == "active"]
        if not active:
            self._silent = set()
            return {}
        held: dict[str, str] = await self._outage.call(lambda: self._redis.hgetall(self._holders))
        beating: dict[str, bool] = {}
        silent = set()
        for name in active:
            worker = held.get(name)
            if worker is None or worker == keys.TAKEN_OVER:
                continue
            if worker not in beating:
                beating[worker] = await self._beats(worker)
            if not beating[worker]:
                silent.add(name)
        taken = {}
        for name in silent & self._silent:
            if await self._take_over(name, held[name]):
                states[name] = "unknown"
                taken[name] = held[name]
        self._silent = silent
        return taken

    async def note_lost(self, worker: str, rows: int) -> None:
        """The Queue page lists `worker` as lost for keys.LOST_FOR s: when it was found
        silent, and how many of its rows went to other workers."""
        key = keys.lost(worker)

        async def note() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hsetnx(key, "lost_at", round(time.time(), 3))
                pipe.hincrby(key, "rows_taken_over", rows)
                pipe.hincrby(key, "batches_taken_over", 1)
                pipe.expire(key, keys.LOST_FOR)
                await pipe.execute()

        await self._outage.call(note)

    async def _beats(self, worker: str) -> bool:
        key = keys.worker(worker)
        return bool(await self._outage.call(lambda: self._redis.exists(key)))

    async def _take_over(self, name: str, worker: str) -> bool:
        """Take a batch from a worker that stopped beating; True if it left the queue."""
        lock = keys.bullmq_lock(QUEUE_NAME, name)

        async def release() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._holders, name, keys.TAKEN_OVER)
                pipe.delete(lock)
                await pipe.execute()

        await self._outage.call(release)
        removed = await self._outage.call(lambda: self._queue.remove(name))
        runlog.event(logging.WARNING, "batch taken from a silent worker", batch=name, worker=worker)
        if worker not in self._dead:
            self._dead.add(worker)
            self._notice(f"worker {worker} stopped answering; its rows go to the other workers")
        return bool(removed == 1)
