"""A queued run's note in Redis: how it stands, for `excelfmt status ID --queue` and
`excelfmt queue status` on any host, and who works on the queue, for its dashboard."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any, cast

from ..broker import keys
from ..broker.connection import Outage
from ..calls.reply import Clock

WORKERS_EVERY = 5.0
"""Seconds between looks at the workers' heartbeats (a SCAN of Redis's keys)."""
DONE_KEPT = 24 * 3600
"""Seconds a finished run's note stays, saying it is done."""


class RunNote:
    """The progress note of one queued run, written through `outage`."""

    def __init__(self, redis: Any, session: str, outage: Outage, clock: Clock) -> None:
        self._redis = redis
        self._session = session
        self._outage = outage
        self._clock = clock
        self._workers_seen = -WORKERS_EVERY
        self.workers: tuple[tuple[str, float], ...] = ()
        """The queue's live workers, (host:pid, rows/s), as last looked at."""
        self.board: Callable[[bool], dict[str, Any]] | None = None
        """The run's dashboard as JSON, set by the runner, for `status ID --queue URL
        --watch` on any host; called with True for the note that outlives the run."""

    async def publish(self, state: str, figures: dict[str, int]) -> None:
        """Write the note: the run's `state` and `figures` (rows answered, failed, ...)."""
        note: dict[str, object] = {
            "state": state,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            **figures,
            "updated": round(time.time(), 3),
        }
        if self.board is not None and state in ("running", "done"):
            note["board"] = json.dumps(self.board(state == "done"))
        key = keys.progress(self._session)

        async def write() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=cast(Any, note))
                if "board" not in note:
                    pipe.hdel(key, "board")
                pipe.expire(key, DONE_KEPT if state == "done" else keys.SESSION_TTL)
                pipe.zadd(keys.SESSIONS, {self._session: time.time()})
                await pipe.execute()

        await self._outage.call(write)
        # None found yet (a worker's first beat may come just after the run's first
        # note): looked for again at the next note, not WORKERS_EVERY later.
        if not self.workers or self._clock() - self._workers_seen >= WORKERS_EVERY:
            self._workers_seen = self._clock()
            self.workers = await self._outage.call(self._live_workers)

    async def _live_workers(self) -> tuple[tuple[str, float], ...]:
        """Who works on the queue, for the dashboard (their heartbeats)."""
        found = []
        async for key in self._redis.scan_iter(keys.workers_pattern()):
            beat = cast(dict[str, str], await self._redis.hgetall(key))  # a decoding client
            if beat:
                found.append((f"{beat['host']}:{beat['pid']}", float(beat["rows_per_s"])))
        return tuple(sorted(found))
