"""A run with --queue: the feed in place of the pool, and the run's own worker beside it.

The runner builds its dispatcher as always, with the pace shared through Redis; the
run's own worker sends the run's batches with that dispatcher (and its credentials),
so the live view shows the run's own policies, and a run with no worker up finishes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace

import anyio

from ..broker import keys
from ..broker.batches import shared_settings
from ..broker.connection import Outage, client, require_queue_extra
from ..broker.sharedpace import HoldSync, SharedPace
from ..calls.reply import Clock
from ..errors import UsageError
from ..metrics.counters import Metrics
from ..models import JSONValue
from ..policies.resilience import LiveState
from ..redaction import SENSITIVE_HEADERS
from ..sending.dispatch import Dispatcher, Pace
from ..sending.events import RunInfo
from ..sending.pool import Deliver
from ..settings.config import Settings
from ..settings.options import parse_header
from ..store import sessions
from .feed import QueueFeed
from .senders import OwnSession
from .worker import QueueWorker, WorkerOptions


def check_queue_settings(settings: Settings) -> None:
    """What a queued run cannot do, said before anything is read or sent (exit 2)."""
    require_queue_extra("--queue")
    for item in settings.header:
        name, _ = parse_header(item)
        if name.lower() in SENSITIVE_HEADERS:
            raise UsageError(
                f"With --queue, header {name} would be written to Redis with its secret "
                "value; give the secret with --auth-env, --basic-auth-env or api_key_env, "
                "which each worker reads from its own environment."
            )


class QueueRun:
    """The Redis side of one queued run; `close()` it at the end."""

    def __init__(self, settings: Settings, session: str | None, clock: Clock = time.monotonic):
        assert settings.queue is not None
        self.settings = settings
        self.session = session or uuid.uuid4().hex[:12]
        self._clock = clock
        self._redis = client(settings.queue)
        outage = Outage(settings.max_outage, clock, anyio.sleep)
        rate_key = settings.rate_key or keys.default_rate_key(settings.url)
        self.pace = SharedPace(self._redis, rate_key, settings.rate, settings.burst, outage)
        self.worker: QueueWorker | None = None
        self._local_done = anyio.Event()

    def board(
        self, info: RunInfo, metrics: Metrics, live: LiveState, final: bool
    ) -> dict[str, JSONValue]:
        """The run's dashboard as its progress note in Redis carries it to any host, the
        figures as of now. `final`: that note outlives the run by a day, so the top error
        messages (which may quote rows) stay out of it."""
        snapshot = metrics.view(self._clock())
        if final:
            snapshot = replace(snapshot, top_errors=())
        title = f"{info.input.name} · sheet {info.sheet} · session {self.session}"
        return {
            "title": title,
            "estimated_rows": info.estimated_rows,
            **sessions.board_record(snapshot, live),
        }

    @property
    def shared_pace(self) -> Pace | None:
        return self.pace.take_slot if self.pace.limited else None

    def feed(
        self, dispatcher: Dispatcher, deliver: Deliver, notice: Callable[[str], None]
    ) -> QueueFeed:
        """The feed for the run's rows; the run's own worker uses `dispatcher`."""
        settings = self.settings
        assert settings.queue is not None
        if not settings.no_local_worker:
            own = OwnSession(
                self.session, settings, dispatcher, HoldSync(self.pace, dispatcher.policies)
            )
            options = WorkerOptions(
                lock_duration=settings.lock_duration, max_outage=settings.max_outage
            )
            self.worker = QueueWorker(settings.queue, options, own=own, clock=self._clock)
        else:
            self._local_done.set()
        return QueueFeed(
            settings,
            self.session,
            shared_settings(settings),
            deliver,
            self._clock,
            notice,
            frozenset(name.lower() for name, _ in settings.credentials),
            local=self.worker,
            local_done=self._local_done,
        )

    async def run_local_worker(self) -> None:
        try:
            if self.worker is not None:
                await self.worker.run()
        finally:
            self._local_done.set()

    async def finish(self) -> None:
        """Stop the run's own worker, wait for it, and let go of Redis."""
        if self.worker is not None:
            self.worker.stop()
        await self._local_done.wait()
        await self.close()

    async def close(self) -> None:
        await self._redis.aclose()
