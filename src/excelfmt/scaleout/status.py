"""What the queue holds and who works on it, read from Redis: `excelfmt queue status`
and `excelfmt status ID --queue` on any host."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..broker import keys
from ..broker.connection import QUEUE_NAME, Outage, client, require_queue_extra

STATES = ("waiting", "active", "delayed", "failed")
RECENT_RUNS = 20


@dataclass
class QueueStatus:
    workers: list[dict[str, Any]] = field(default_factory=list)
    """Each live worker's heartbeat: host, pid, concurrency, rows, rows_per_s, seen."""
    batches: dict[str, int] = field(default_factory=dict)
    """Batches by state, all runs together."""
    runs: list[dict[str, Any]] = field(default_factory=list)
    """The latest runs that used the queue, newest first, each with its progress note."""
    lost: list[dict[str, Any]] = field(default_factory=list)
    """Workers runs took batches from in the last hour (their heartbeat stopped): name,
    lost_at, rows_taken_over, batches_taken_over."""


PATIENCE = 10.0
"""Seconds a status read waits for a Redis that is away (restarting, say) before it gives up."""


def queue_status(url: str, notice: Callable[[str], None]) -> QueueStatus:
    """`notice` hears when Redis is away, so a status does not seem to hang."""
    require_queue_extra("excelfmt queue status")
    outage = Outage(PATIENCE, time.monotonic, anyio.sleep, notice, None)
    return anyio.run(_read, url, outage, backend="asyncio")


def run_progress(url: str, session: str, notice: Callable[[str], None]) -> dict[str, Any] | None:
    """A queued run's progress note, by its session id (or a unique start of one)."""
    require_queue_extra("excelfmt status --queue")

    async def read() -> list[dict[str, Any]]:
        redis: Any = client(url)
        try:
            outage = Outage(PATIENCE, time.monotonic, anyio.sleep, notice, None)
            return await outage.call(lambda: _runs(redis, session, None))
        finally:
            await redis.aclose()

    matching = anyio.run(read, backend="asyncio")
    return matching[0] if len(matching) == 1 else None


async def _read(url: str, outage: Outage) -> QueueStatus:
    from bullmq import Queue

    redis: Any = client(url)  # decoded: str keys and values, which its stubs do not know
    queue = Queue(QUEUE_NAME, {"connection": url})
    status = QueueStatus()
    try:
        names = await outage.call(lambda: _scan(redis, keys.workers_pattern()))
        for name in sorted(names):
            beat = await redis.hgetall(name)
            if beat:
                status.workers.append(beat)
        counts = await outage.call(lambda: queue.getJobCounts(*STATES))
        status.batches = {state: int(counts.get(state, 0)) for state in STATES}
        status.runs = await _runs(redis, "", RECENT_RUNS)
        for key in sorted(await outage.call(lambda: _scan(redis, keys.lost_pattern()))):
            if found := await redis.hgetall(key):
                status.lost.append({"name": key.removeprefix(keys.lost("")), **found})
        status.lost.sort(key=lambda w: -float(w.get("lost_at", 0)))
    finally:
        await queue.close()
        await redis.aclose()
    return status


async def _runs(redis: Any, start: str, most: int | None) -> list[dict[str, Any]]:
    """The progress notes of the runs whose session id starts with `start`, newest first;
    of the latest `most` runs only, or of all the queue knows (None)."""
    sessions = await redis.zrevrange(keys.SESSIONS, 0, -1 if most is None else most - 1)
    runs = []
    for session in sessions:
        if session.startswith(start):
            note = await redis.hgetall(keys.progress(session))
            if note:
                runs.append({"session": session, **note})
    return runs


async def _scan(redis: Any, pattern: str) -> list[str]:
    return [key async for key in redis.scan_iter(pattern)]
