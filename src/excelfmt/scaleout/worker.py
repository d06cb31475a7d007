"""A queue worker: takes batches from BullMQ and sends their rows as a local run does.

    BullMQ job (a batch) -> read_batch -> the session's sender (settings from the batch,
    secrets from this host's environment) -> Pool -> dispatch -> outcomes pushed to Redis

`excelfmt worker` runs one of these; a run with --queue runs one beside its feed too
(unless --no-local-worker), so a run with no worker up still finishes. Each session
gets its own policies (adaptive concurrency stays per worker) and a pace shared with
every other sender of its rate key (broker.sharedpace). A batch this worker cannot send
(a secret its environment lacks, a format it does not read) is refused with a sentence
the run shows; nothing is sent without its credentials.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import anyio

from ..broker import keys
from ..broker.batches import Batch, BatchRefused, read_batch
from ..broker.connection import QUEUE_NAME, Outage, client, tidy
from ..broker.sharedpace import HoldSync, SharedPace
from ..calls.client import open_sender, sending
from ..calls.reply import Clock
from ..errors import ExcelfmtError
from ..models import Outcome
from ..policies.resilience import Policies
from ..sending.bulk import handler_for
from ..sending.dispatch import dispatcher_for
from ..sending.pool import Pool
from ..settings.config import Settings, recorded_settings
from ..store import runlog
from .heartbeat import Heartbeat
from .outbox import Held, Outbox
from .senders import MarkingSender, OwnSession, SessionSender

if TYPE_CHECKING:
    import httpx
    from redis.asyncio import Redis

    from ..metrics.prometheus import Exposition, Live

BATCHES_AT_ONCE = 2
"""Batches a worker works on together: the next one starts while one's last rows finish."""
TAKE = """
local done = redis.call('SMEMBERS', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return done
"""
"""KEYS: a batch's done set, its session's holders. ARGV: the batch, this worker, the
keys' lifetime. The seqs already answered; this worker noted as the batch's holder, for
the run to see whether it still beats (heartbeat.py)."""
IDLE_SESSION = 600.0
"""Seconds after which a session's HTTP client and policies are let go."""


@dataclass
class WorkerOptions:
    concurrency: int | None = None
    """Overrides each session's concurrency on this worker (None: the session's own)."""
    min_concurrency: int | None = None
    lock_duration: float = 30.0
    max_outage: float = 300.0


@dataclass
class WorkerStats:
    rows: int = 0
    batches: int = 0
    refused: int = 0
    started: float = field(default_factory=time.time)


class QueueWorker:
    """Takes batches from the queue at `url` until `stop()`; see the module docstring."""

    def __init__(
        self,
        url: str,
        options: WorkerOptions,
        *,
        own: OwnSession | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.monotonic,
        notice: Callable[[str], None] = lambda text: None,
        exposition: Exposition | None = None,
    ) -> None:
        """`own`: the session of the run this worker runs in, if it does (its rows go
        with the run's own dispatcher and credentials); `notice`: an outage of Redis;
        `exposition`: Prometheus's figures (`--metrics-port`), fed as outcomes come."""
        self.name = keys.worker_name()
        self._url = url
        self._options = options
        self._own = own
        self._transport = transport
        self._clock = clock
        self._exposition = exposition
        self._redis: Redis = client(url)
        self._heartbeat = Heartbeat(url, self.name, self._beat)
        self._outage = Outage(options.max_outage, clock, anyio.sleep, notice)
        self._senders: dict[str, SessionSender] = {}
        self._pools: dict[tuple[str, str], Pool] = {}
        """Each batch's pool, by (session, batch)."""
        self._stopping = anyio.Event()
        self._running = anyio.CancelScope()
        self._refusals: set[str] = set()
        self._outbox = Outbox(self._redis, self._outage, self._count, self._taken_over)
        self._batch_of: dict[tuple[str, int], Held] = {}
        """The batch each row held here belongs to, by (session, seq)."""
        self._sent: dict[Held, int] = {}
        """The highest row (seq) of each batch sent to the API: each push records it."""
        self._take = self._redis.register_script(TAKE)
        self.stats = WorkerStats()

    def stop(self) -> None:
        """Take no new batch; finish the rows in flight; hand the rest back (exit 0)."""
        self._stopping.set()
        for pool in list(self._pools.values()):
            pool.stop()

    @property
    def in_flight(self) -> int:
        """Requests this worker has in flight, all batches together."""
        return sum(pool.in_flight for pool in self._pools.values())

    def abandon(self) -> None:
        """Stop now: rows in flight and outcomes not yet pushed are sent again later."""
        self.stop()
        self._running.cancel()

    async def run(self) -> None:
        from bullmq import Worker

        worker = Worker(
            QUEUE_NAME,
            self._process,
            {
                "connection": self._url,
                "concurrency": BATCHES_AT_ONCE,
                "lockDuration": round(self._options.lock_duration * 1000),
                "stalledInterval": round(self._options.lock_duration * 1000),
                "runRetryDelay": 1000,
                "autorun": False,
                "name": self.name,
            },
        )
        loop = asyncio.ensure_future(worker.run())
        self._heartbeat.start()
        try:
            with self._running:
                await self._work(worker)
        finally:
            with anyio.CancelScope(shield=True):
                if not loop.done():  # abandoned: its batches are cancelled
                    await _apart(worker.close(force=True), at_most=5)
                    loop.cancel()
                await self._close_senders(all_of_them=True)
            await anyio.to_thread.run_sync(self._heartbeat.stop)
            await tidy(self._redis.aclose)

    async def _work(self, worker: Any) -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._sync_holds)
            tasks.start_soon(self._outbox.push_as_it_comes)
            await self._stopping.wait()
            await _apart(worker.close())  # waits for its batches: their rows in flight finish
            await self._outbox.push_gathered()
            tasks.cancel_scope.cancel()

    async def _process(self, job: Any, token: str) -> int:
        data = job.data if isinstance(job.data, dict) else {}
        try:
            batch = read_batch(data)
            sender = await self._sender_for(batch)
        except (BatchRefused, ExcelfmtError) as exc:
            await self._refuse(data, str(exc).rstrip("."))
            return 0
        take_keys = [keys.done(batch.session, batch.name), keys.holders(batch.session)]
        take_args: list[str | int] = [batch.name, self.name, keys.SESSION_TTL]
        answered = await self._outage.call(lambda: self._take(keys=take_keys, args=take_args))
        done = {int(seq) for seq in answered}
        credentials = sender.settings.credentials
        jobs = [
            replace(j, headers=(*j.headers, *credentials))
            for j in batch.jobs
            if j.row.seq not in done
        ]
        held = (batch.session, batch.name)
        for job in jobs:
            self._batch_of[batch.session, job.row.seq] = held
        gather = self._outbox.gatherer(held, lambda: self._sent.get(held, -1))
        if self._exposition is not None:
            self._exposition.batch_taken()
            gather = _observed(gather, self._exposition, sender.api)
        handler = handler_for(sender.settings, sender.dispatcher)
        pool = Pool(handler, gather, sender.settings.concurrency)
        self._pools[held] = pool
        sender.active += 1
        try:
            if not self._stopping.is_set():
                await pool.run(iter(jobs))
        finally:
            self._pools.pop(held, None)
            sender.active -= 1
            sender.last_used = self._clock()
            await self._outbox.push_gathered()  # the batch's last outcomes, before it completes
            self._outbox.forget(held)
            self._sent.pop(held, None)
            for job in jobs:
                self._batch_of.pop((batch.session, job.row.seq), None)
        reason = sender.dispatcher.stop_reason
        if reason and not (self._own and batch.session == self._own.session):
            # The API stayed down past --max-outage, or refused our credentials: this
            # worker's policies for the run are spent. The run hears why; its unanswered
            # rows go again, to a fresh sender here or to another worker.
            if self._senders.get(batch.session) is sender:
                del self._senders[batch.session]
            if not sender.active:  # the last of its batches lets go of its HTTP client
                await sender.closer.aclose()
            await self._refuse(data, f"stopped sending: {reason}")
        self.stats.batches += 1
        return len(jobs)

    def _note_sent(self, session: str, seq: int) -> None:
        held = self._batch_of.get((session, seq))
        if held is not None:
            self._sent[held] = max(self._sent.get(held, -1), seq)

    def _count(self, rows: int) -> None:
        self.stats.rows += rows

    def _taken_over(self, batch: tuple[str, str]) -> None:
        """The run gave this batch to another worker, having heard no heartbeat from this
        one for keys.DEAD_AFTER s: its rows go out from there; here, those in flight finish."""
        pool = self._pools.get(batch)
        if pool is not None:
            pool.stop()
        runlog.event(logging.WARNING, "batch taken over by another worker", batch=batch[1])

    async def _refuse(self, data: dict[str, Any], reason: str) -> None:
        session, number = data.get("session"), data.get("batch")
        message = f"worker {self.name} refused a batch: {reason}"
        self.stats.refused += 1
        if message not in self._refusals:
            self._refusals.add(message)
            runlog.event(logging.WARNING, "batch refused", worker=self.name, reason=reason)
        if isinstance(session, str):
            entry = json.dumps([number, "refused", message])
            out = keys.outcomes(session)
            await self._outage.call(lambda: self._redis.rpush(out, entry))

    async def _sender_for(self, batch: Batch) -> SessionSender:
        found = self._senders.get(batch.session)
        if found is not None:
            found.last_used = self._clock()
            return found
        await self._close_senders(all_of_them=False)
        own = self._own
        if own is not None and batch.session == own.session:
            made = SessionSender(
                own.settings,
                own.dispatcher.policies,
                own.dispatcher,
                own.hold,
                AsyncExitStack(),  # the run closes its own sender
                self._clock(),
            )
            self._senders[batch.session] = made
            return made
        settings = self._settings_for(batch)
        closer = AsyncExitStack()
        redactor = settings.redactor()
        sender = await closer.enter_async_context(
            sending(settings, open_sender(settings, self._transport, self._clock), redactor.learn)
        )
        policies = Policies.from_settings(settings)
        rate_key = settings.rate_key or keys.default_rate_key(settings.url)
        pace = SharedPace(self._redis, rate_key, settings.rate, settings.burst, self._outage)
        dispatcher = dispatcher_for(
            settings,
            MarkingSender(sender, batch.session, self._note_sent),
            policies,
            self._clock,
            redactor=redactor,
            shared_pace=pace.take_slot if pace.limited else None,
        )
        made = SessionSender(
            settings, policies, dispatcher, HoldSync(pace, policies), closer, self._clock()
        )
        self._senders[batch.session] = made
        return made

    def _settings_for(self, batch: Batch) -> Settings:
        settings = recorded_settings(batch.settings)  # secrets from this host's env
        options = self._options
        if options.concurrency is not None:
            low = options.min_concurrency or min(settings.min_concurrency, options.concurrency)
            settings = replace(settings, concurrency=options.concurrency, min_concurrency=low)
        return settings

    async def _close_senders(self, *, all_of_them: bool) -> None:
        now = self._clock()
        for session, sender in list(self._senders.items()):
            if all_of_them or (not sender.active and now - sender.last_used > IDLE_SESSION):
                del self._senders[session]
                await sender.closer.aclose()

    async def _sync_holds(self) -> None:
        while True:
            await anyio.sleep(HoldSync.INTERVAL)
            for sender in list(self._senders.values()):
                if sender.active:
                    await sender.hold.sync(self._clock())

    def live(self) -> Live:
        """Each API's requests in flight, limit and breaker, for Prometheus's scrapes."""
        from ..metrics.prometheus import ApiLive, Live, summed

        apis = summed(
            ApiLive(
                s.api,
                s.policies.gate.taken,
                s.policies.gate.limit,
                s.policies.breaker.state == "open",
            )
            for s in list(self._senders.values())
        )
        return Live(apis, self._outage.outages)

    def _beat(self) -> dict[str, str | int | float]:
        """What `queue status` and the run read of this worker (from the heartbeat's thread)."""
        host, pid = self.name.rsplit(":", 1)
        elapsed = max(1.0, time.time() - self.stats.started)
        return {
            "host": host,
            "pid": pid,
            "concurrency": self._options.concurrency or 0,
            "rows": self.stats.rows,
            "rows_per_s": round(self.stats.rows / elapsed, 1),
            "batches": self.stats.batches,
            "refused": self.stats.refused,
        }


def _observed(
    gather: Callable[[Sequence[Outcome]], Awaitable[None]], exposition: Exposition, api: str
) -> Callable[[Sequence[Outcome]], Awaitable[None]]:
    async def observe_and_gather(outcomes: Sequence[Outcome]) -> None:
        exposition.observe(api, outcomes)
        await gather(outcomes)

    return observe_and_gather


async def _apart(step: Any, at_most: float | None = None) -> None:
    """Await a BullMQ coroutine as an asyncio task of its own. BullMQ's loop and its
    close() catch the cancellation of their own waits and carry on, which anyio's cancel
    scopes would deliver again and again: a busy loop. Apart, only the wait for it is
    cancelled (a second Ctrl-C), and it finishes or is dropped with the event loop."""
    await asyncio.wait({asyncio.ensure_future(step)}, timeout=at_most)
