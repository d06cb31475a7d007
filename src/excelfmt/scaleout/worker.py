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
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

import anyio
import httpx

from ..broker import keys
from ..broker.batches import Batch, BatchRefused, outcome_record, read_batch
from ..broker.connection import QUEUE_NAME, Outage, client, named_client, tidy
from ..broker.sharedpace import HoldSync, SharedPace
from ..calls.client import Clock, open_sender
from ..calls.oauth2 import sending
from ..errors import ExcelfmtError
from ..models import Outcome
from ..policies.resilience import Policies
from ..sending.dispatch import Dispatcher, dispatcher_for
from ..sending.pool import Pool
from ..settings.config import Settings, recorded_settings
from ..store import runlog

if TYPE_CHECKING:
    from redis.asyncio import Redis

BATCHES_AT_ONCE = 2
"""Batches a worker works on together: the next one starts while one's last rows finish."""
HEARTBEAT = 5.0
"""Seconds between a worker's heartbeats (keys.WORKER_TTL is three of them)."""
# Outcomes are pushed as soon as the push before is done, all batches' in one Lua call
# each: under load one push carries the rows answered during the last one's round trip.
# A worker killed with -9 then leaves only its rows in flight (and at most a round trip's
# answers) unpushed; those are sent again with the same Idempotency-Key. A timer (every
# 50 ms) saved a fifth of a worker's CPU but left 50 ms of answered rows to send twice
# (docs/performance.md, "Scale-out").
PUSH = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
"""
"""KEYS: a session's outcomes list, a batch's done set. ARGV: the outcomes' entry, the
keys' lifetime, the rows' seqs. A row's outcome and its "done" mark, or neither."""
IDLE_SESSION = 600.0
"""Seconds after which a session's HTTP client and policies are let go."""


@dataclass
class SessionSender:
    """What a worker keeps for one session: its settings, policies and dispatcher."""

    settings: Settings
    policies: Policies
    dispatcher: Dispatcher
    hold: HoldSync
    closer: AsyncExitStack
    last_used: float
    active: int = 0


@dataclass(frozen=True)
class OwnSession:
    """A run's own session, for the worker beside it: sent with the run's dispatcher."""

    session: str
    settings: Settings
    dispatcher: Dispatcher
    hold: HoldSync


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
    ) -> None:
        """`own`: the session of the run this worker runs in, if it does (its rows go
        with the run's own dispatcher and credentials); `notice`: an outage of Redis."""
        self.name = keys.worker_name()
        self._url = url
        self._options = options
        self._own = own
        self._transport = transport
        self._clock = clock
        self._redis: Redis = client(url)
        # The heartbeat goes over a connection of its own, named so that BullMQ for Node
        # and bull-board count this worker; BullMQ for Python finds its own connection.
        self._presence: Redis = named_client(url, keys.node_worker_client(QUEUE_NAME, self.name))
        self._outage = Outage(options.max_outage, clock, anyio.sleep, notice)
        self._senders: dict[str, SessionSender] = {}
        self._pools: set[Pool] = set()
        self._stopping = anyio.Event()
        self._running = anyio.CancelScope()
        self._refusals: set[str] = set()
        self._gathered: dict[tuple[str, str], list[Outcome]] = {}
        """Outcomes not yet pushed, by (session, batch)."""
        self._pushing = anyio.Lock()
        self._gathering = anyio.Event()
        self._push = self._redis.register_script(PUSH)
        self.stats = WorkerStats()

    def stop(self) -> None:
        """Take no new batch; finish the rows in flight; hand the rest back (exit 0)."""
        self._stopping.set()
        for pool in list(self._pools):
            pool.stop()

    @property
    def in_flight(self) -> int:
        """Requests this worker has in flight, all batches together."""
        return sum(pool.in_flight for pool in self._pools)

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
        try:
            with self._running:
                await self._work(worker)
        finally:
            with anyio.CancelScope(shield=True):
                if not loop.done():  # abandoned: its batches are cancelled
                    await _apart(worker.close(force=True), at_most=5)
                    loop.cancel()
                await self._close_senders(all_of_them=True)
            await tidy(
                lambda: self._redis.delete(keys.worker(self.name)),
                self._redis.aclose,
                self._presence.aclose,
            )

    async def _work(self, worker: Any) -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._heartbeat)
            tasks.start_soon(self._sync_holds)
            tasks.start_soon(self._push_as_it_comes)
            await self._stopping.wait()
            await _apart(worker.close())  # waits for its batches: their rows in flight finish
            await self._push_gathered()
            tasks.cancel_scope.cancel()

    async def _process(self, job: Any, token: str) -> int:
        data = job.data if isinstance(job.data, dict) else {}
        try:
            batch = read_batch(data)
            sender = await self._sender_for(batch)
        except (BatchRefused, ExcelfmtError) as exc:
            await self._refuse(data, str(exc).rstrip("."))
            return 0
        done_key = keys.done(batch.session, batch.name)
        done = {int(seq) for seq in await self._outage.call(lambda: self._redis.smembers(done_key))}
        credentials = sender.settings.credentials
        jobs = [
            replace(j, headers=(*j.headers, *credentials))
            for j in batch.jobs
            if j.row.seq not in done
        ]
        gathered = self._gathered.setdefault((batch.session, batch.name), [])

        async def gather(outcomes: Sequence[Outcome]) -> None:
            gathered.extend(outcomes)
            self._gathering.set()

        pool = Pool(sender.dispatcher, gather, sender.settings.concurrency)
        self._pools.add(pool)
        sender.active += 1
        try:
            if not self._stopping.is_set():
                await pool.run(iter(jobs))
        finally:
            self._pools.discard(pool)
            sender.active -= 1
            sender.last_used = self._clock()
            await self._push_gathered()  # the batch's last outcomes, before it completes
            self._gathered.pop((batch.session, batch.name), None)
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

    async def _push_as_it_comes(self) -> None:
        """Outcomes go to Redis as soon as the push before is done, all batches' in one go."""
        while True:
            await self._gathering.wait()
            self._gathering = anyio.Event()
            await self._push_gathered()

    async def _push_gathered(self) -> None:
        """Every batch's outcomes gathered so far, a Lua call a batch: each outcome with its
        row's "done" mark, or neither. One push at a time: a batch's last push waits for
        the one under way, so its outcomes are all in Redis before it completes."""
        async with self._pushing:
            await self._push_taken()

    async def _push_taken(self) -> None:
        taken = {key: found[:] for key, found in self._gathered.items() if found}
        for key in taken:
            self._gathered[key].clear()
        if not taken:
            return

        unpushed = list(taken.items())
        while unpushed:
            (session, name), outcomes = unpushed[0]
            records = [outcome_record(o) for o in outcomes]
            entry = json.dumps([name, records], ensure_ascii=False, default=str)
            push_keys = [keys.outcomes(session), keys.done(session, name)]
            args = [entry, keys.SESSION_TTL, *(o.row.seq for o in outcomes)]
            try:
                await self._outage.call(lambda k=push_keys, a=args: self._push(keys=k, args=a))  # type: ignore[misc]
            except BaseException:
                # Not pushed (stopped while Redis was away): kept for a later push; if
                # none comes, their rows are sent again, like rows in flight.
                for key, left in unpushed:
                    self._gathered.setdefault(key, [])[:0] = left
                raise
            unpushed.pop(0)
            self.stats.rows += len(outcomes)

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
            sender,
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

    async def _heartbeat(self) -> None:
        key = keys.worker(self.name)
        host, pid = self.name.rsplit(":", 1)
        while True:
            elapsed = max(1.0, time.time() - self.stats.started)
            beat: dict[str, str | int | float] = {
                "host": host,
                "pid": pid,
                "concurrency": self._options.concurrency or 0,
                "rows": self.stats.rows,
                "rows_per_s": round(self.stats.rows / elapsed, 1),
                "batches": self.stats.batches,
                "refused": self.stats.refused,
                "seen": round(time.time(), 3),
            }

            async def beat_now(beat: dict[str, str | int | float] = beat) -> None:
                async with self._presence.pipeline(transaction=True) as pipe:
                    pipe.hset(key, mapping=cast(Any, beat))
                    pipe.expire(key, keys.WORKER_TTL)
                    await pipe.execute()

            await self._outage.call(beat_now)
            await anyio.sleep(HEARTBEAT)


async def _apart(step: Any, at_most: float | None = None) -> None:
    """Await a BullMQ coroutine as an asyncio task of its own. BullMQ's loop and its
    close() catch the cancellation of their own waits and carry on, which anyio's cancel
    scopes would deliver again and again: a busy loop. Apart, only the wait for it is
    cancelled (a second Ctrl-C), and it finishes or is dropped with the event loop."""
    await asyncio.wait({asyncio.ensure_future(step)}, timeout=at_most)
