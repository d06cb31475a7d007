"""A run's side of the queue: its rows out in batches, their outcomes back, nothing lost.

    jobs (sync iterator) -> batches of batch_rows -> BullMQ (at most OUTSTANDING_BATCHES)
    workers push outcomes to excelfmt:{session}:out -> collect -> deliver -> journal
                                                   -> trimmed once delivered

It stands where the Pool stands in a local run, with the same face (run, stop,
abandon, in_flight, unsettled, feed_error), so the runner's journal, results file and
views are the same either way. Outcomes stay in Redis until delivered: a run killed
mid-way and resumed collects what the workers finished meanwhile, adopts the batches
still queued, and enqueues the rest. Every second it looks for batches that left the
queue with rows unanswered (a Redis that restarted empty, a worker that handed rows back
on SIGTERM) and enqueues those rows again, first in line. A batch whose worker has not
beaten for keys.DEAD_AFTER s, at two looks in a row, is taken from it the same way, without
waiting out BullMQ's lock (30 s): a dead worker's rows go on within seconds.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from ..broker import keys
from ..broker.batches import batch_data, outcome_from_record, read_batch
from ..broker.connection import QUEUE_NAME, Outage, client, tidy
from ..calls.reply import Clock
from ..models import Category, Job, Outcome
from ..sending.dispatch import replayed
from ..sending.pool import Deliver, take_jobs
from ..settings.config import Settings
from ..store import runlog
from .failover import Failover
from .note import RunNote

OUTSTANDING_BATCHES = 32
"""Batches of one run in Redis at a time: memory there and here stays flat."""
PUBLISH_EVERY = 1.0
"""Seconds between the run's progress notes in Redis (`excelfmt status ID` on any host)."""
CHECK_EVERY = 1.0
"""Seconds between looks for batches that left the queue with rows unanswered, or whose
worker stopped beating."""
POLL = 0.02
"""Seconds between reads of the outcomes list when it was empty."""
READ_CHUNK = 256
"""Rows taken from the reading thread at a time."""
WAITING_STATES = ("waiting", "active", "delayed", "paused", "prioritized")


class Stoppable(Protocol):
    @property
    def in_flight(self) -> int: ...
    def stop(self) -> None: ...
    def abandon(self) -> None: ...


@dataclass
class Pending:
    """A batch in the queue: the rows of it not answered yet, by seq."""

    jobs: dict[int, Job] = field(default_factory=dict)


class QueueFeed:
    """See the module docstring."""

    def __init__(
        self,
        settings: Settings,
        session: str,
        shared: dict[str, Any],
        deliver: Deliver,
        clock: Clock,
        notice: Callable[[str], None],
        credential_headers: frozenset[str],
        local: Stoppable | None = None,
        local_done: anyio.Event | None = None,
    ) -> None:
        """`shared`: the settings every batch carries; `notice`: a sentence for the person
        watching (a worker refused a batch); `credential_headers`: left out of batches;
        `local_done`: set when the run's own worker has finished (after a stop, its rows
        in flight are collected before the run ends)."""
        from bullmq import Queue

        assert settings.queue is not None
        self._settings = settings
        # A queued batch holds at least one request's rows (--batch): a worker batches
        # the rows of each queued batch it takes, never across two.
        self._rows_a_batch = max(settings.batch_rows, settings.batch)
        self._session = session
        self._shared = shared
        self._deliver = deliver
        self._clock = clock
        self._notice = notice
        self._credentials = credential_headers
        self._local = local
        self._local_done = local_done
        self._redis = client(settings.queue)
        self._queue = Queue(QUEUE_NAME, {"connection": settings.queue})
        self._outage = Outage(settings.max_outage, clock, anyio.sleep, notice)
        self._nonce = secrets.token_hex(3)
        self._count = 0
        self._pending: dict[str, Pending] = {}
        self._delivering = anyio.Lock()
        self._changed = anyio.Event()
        self._feeding = anyio.CancelScope()
        self._collecting = anyio.CancelScope()
        self._fed = False
        self._told: set[str] = set()
        self._adopting = False
        self._answered_before: set[int] = set()
        """Rows whose outcomes a resumed run found waiting in Redis: not sent again."""
        self._answered = self._failed = 0
        self._failover = Failover(self._redis, self._queue, session, self._outage, notice)
        self._starting = anyio.CancelScope()
        self.unsettled: dict[int, int] = {}
        """Rows in the queue and not yet answered: seq -> number."""
        self.sent_twice: set[int] = set()
        """Sheet rows that reached the API twice, or may have: answered by two workers,
        or in flight at a worker that died (sent again with the same Idempotency-Key)."""
        self.feed_error: Exception | None = None
        self.note = RunNote(self._redis, session, self._outage, clock)

    @property
    def in_flight(self) -> int:
        """Requests the run's own worker has in flight: what a stop waits for (the rows
        in the queue stay there for the workers and a resume)."""
        return self._local.in_flight if self._local is not None else 0

    @property
    def batches(self) -> int:
        """The run's batches in the queue, not yet answered in full."""
        return len(self._pending)

    def stop(self) -> None:
        """Enqueue nothing more. What is queued stays for the workers; a resume collects
        it. The outcomes already pushed are collected before the run ends."""
        self._starting.cancel()  # a Redis that is away at the start is not waited for
        self._feeding.cancel()
        self._fed = True
        self._changed.set()
        if self._local is not None:
            self._local.stop()

    def abandon(self) -> None:
        """Stop now (a second Ctrl-C): what is not collected stays for a resume."""
        self.stop()
        self._collecting.cancel()
        if self._local is not None:
            self._local.abandon()

    async def run(self, jobs: Iterator[Job]) -> None:
        try:
            with self._starting:
                await self._adopt()
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._collect_until_done)
                with self._feeding:
                    await self._feed(jobs)
                self._fed = True
                self._changed.set()
        finally:
            finished = not self.unsettled and self._fed and not self._feeding.cancel_called
            await tidy(
                self._forget_session if finished else lambda: self._publish("stopped"),
                self._queue.close,
                self._redis.aclose,
            )

    async def _publish(self, state: str) -> None:
        """The run's progress, for `excelfmt status ID --queue` and `queue status`."""
        figures = {
            "answered": self._answered,
            "failed": self._failed,
            "in_queue": len(self.unsettled),
            "batches": len(self._pending),
        }
        await self.note.publish(state, figures)

    async def _forget_session(self) -> None:
        """All rows answered: the session's keys go (its outcomes list, done sets); its
        progress note stays, saying it is done, until it expires."""
        progress = keys.progress(self._session)
        found = [key async for key in self._redis.scan_iter(keys.session_pattern(self._session))]
        found = [key for key in found if key != progress]
        if found:
            await self._redis.delete(*found)
        await self._publish("done")

    async def _adopt(self) -> None:
        """A resumed run takes over its batches still in the queue and first collects the
        outcomes its workers pushed while it was away."""
        found = await self._outage.call(lambda: self._queue.getJobs(list(WAITING_STATES)))
        for job in found:
            data = job.data if isinstance(job.data, dict) else {}
            if data.get("session") != self._session or job.id is None:
                continue
            batch = read_batch(data)
            self._track(job.id, batch.jobs)
        self._adopting = True
        try:
            while await self._collect():
                pass
        finally:
            self._adopting = False

    async def _feed(self, jobs: Iterator[Job]) -> None:
        batch: list[Job] = []
        local: list[Outcome] = []
        while self.feed_error is None:
            chunk, self.feed_error = await anyio.to_thread.run_sync(take_jobs, jobs, READ_CHUNK)
            if not chunk:
                break
            for job in chunk:
                if job.row.seq in self._answered_before:
                    continue  # its outcome came from Redis, delivered already
                if job.problem is not None or job.recorded is not None:
                    local.append(_local_outcome(job))
                elif job.row.seq not in self.unsettled:  # an adopted batch has it already
                    batch.append(job)
                    if len(batch) >= self._rows_a_batch:
                        await self._enqueue(batch)
                        batch = []
            if local:
                await self._hand_on(local)
                local = []
        if batch:
            await self._enqueue(batch)

    async def _enqueue(self, jobs: list[Job], *, again: bool = False) -> None:
        """`again`: rows enqueued again by the collector, first in line, without waiting
        for room (the collector is what makes it)."""
        while not again and len(self._pending) >= OUTSTANDING_BATCHES:
            self._changed = anyio.Event()
            await self._changed.wait()
        self._count += 1
        name = f"{self._session}-{self._nonce}-{self._count}"
        data = batch_data(self._session, name, self._shared, jobs, self._credentials)
        options = {
            "jobId": name,
            "removeOnComplete": True,
            "removeOnFail": {"age": keys.SESSION_TTL},
            "lifo": again,
        }
        await self._outage.call(lambda: self._queue.add("rows", data, options))
        self._track(name, jobs)

    def _track(self, name: str, jobs: list[Job]) -> None:
        pending = self._pending.setdefault(name, Pending())
        for job in jobs:
            pending.jobs[job.row.seq] = job
            self.unsettled[job.row.seq] = job.row.number

    async def _collect_until_done(self) -> None:
        with self._collecting:
            next_check = self._clock() + CHECK_EVERY
            next_note = self._clock()
            while not (self._fed and not self._pending):
                got = await self._collect()
                if self._clock() >= next_note:
                    await self._publish("running")
                    next_note = self._clock() + PUBLISH_EVERY
                if self._clock() >= next_check:
                    await self._requeue_lost()
                    next_check = self._clock() + CHECK_EVERY
                if self._fed and self._feeding.cancel_called:
                    # Stopped: the run's own worker finishes its rows in flight; what is
                    # still queued stays for the workers, and a resume collects it.
                    if self._local_done is not None:
                        await self._local_done.wait()
                    await self._collect()
                    return
                if not got:
                    await anyio.sleep(POLL)

    async def _collect(self) -> int:
        """Deliver the outcomes workers pushed; trim them from Redis once delivered."""
        out = keys.outcomes(self._session)
        entries = await self._outage.call(lambda: self._redis.lrange(out, 0, 63))
        if not entries:
            return 0
        outcomes: list[Outcome] = []
        for entry in entries:
            name, records, *reason = json.loads(entry)
            if records == "refused":
                self._refused(name, reason[0] if reason else "refused")
                continue
            pending = self._pending.get(name)
            for record in records:
                seq = record[0]
                job = pending.jobs.pop(seq, None) if pending else None
                if job is None:
                    job = self._job_of(seq)
                if job is None and not self._adopting:
                    self.sent_twice.add(int(record[1]))  # two workers sent it: both answered
                    continue
                if job is None:
                    if seq in self._answered_before:
                        continue
                    self._answered_before.add(seq)  # a batch that finished meanwhile
                outcome = outcome_from_record(record)
                outcomes.append(outcome)
                self.unsettled.pop(seq, None)
                self._answered += 1
                self._failed += outcome.category is not None
        if outcomes:
            await self._hand_on(outcomes)
        await self._outage.call(lambda: self._redis.ltrim(out, len(entries), -1))
        await self._forget_finished()
        return len(entries)

    def _job_of(self, seq: int) -> Job | None:
        """The row's job from whichever batch holds it (it may have been enqueued again)."""
        for pending in self._pending.values():
            if seq in pending.jobs:
                return pending.jobs.pop(seq)
        return None

    async def _forget_finished(self) -> None:
        finished = [name for name, pending in self._pending.items() if not pending.jobs]
        for name in finished:
            del self._pending[name]
            done = keys.done(self._session, name)
            await self._outage.call(lambda done=done: self._redis.delete(done))  # type: ignore[misc]
        if finished:
            self._changed.set()

    async def _requeue_lost(self) -> None:
        """Batches that left the queue with rows unanswered: those rows go again."""
        states = {}
        for name in list(self._pending):
            states[name] = await self._outage.call(
                lambda name=name: self._queue.getJobState(name)  # type: ignore[misc]
            )
        taken = await self._failover.take_from_the_silent(states)
        await self._collect()  # a worker pushes a batch's outcomes before it leaves
        for name, state in states.items():
            pending = self._pending.get(name)
            if pending is None or not pending.jobs or state not in ("unknown", "failed"):
                continue
            rows = sorted(pending.jobs.values(), key=lambda job: job.row.seq)
            del self._pending[name]
            before = []
            if name in taken:  # from a worker that died: some of its rows may be out
                siblings = sum(worker == taken[name] for worker in taken.values())
                before = await self._possibly_sent(name, rows, siblings)
                self.sent_twice.update(job.row.number for job in before)
                await self._failover.note_lost(taken[name], len(rows))
            runlog.event(
                logging.WARNING,
                f"requeued a batch of {len(rows):,} rows, {len(before):,} of them possibly "
                "sent before (with the same Idempotency-Key)",
                batch=name, rows=len(rows), possibly_sent_before=len(before),
            )  # fmt: skip
            for start in range(0, len(rows), self._rows_a_batch):
                chunk = rows[start : start + self._rows_a_batch]
                await self._enqueue(chunk, again=True)

    async def _possibly_sent(self, name: str, rows: list[Job], siblings: int) -> list[Job]:
        """The unanswered rows of a batch taken from a dead worker that may have reached
        the API: those up to the highest row it had sent as of its last push (in flight,
        or answered and not pushed), and the next few it may have sent after that push
        (its concurrency times --batch, shared among the `siblings` batches taken from
        it). An upper estimate: the API, given the same Idempotency-Key, keeps one."""
        found = await self._outage.call(lambda: self._redis.hget(keys.taken(self._session), name))
        highest = int(found) if found is not None else -1
        within = [job for job in rows if job.row.seq <= highest]
        margin = -(-self._settings.concurrency * max(1, self._settings.batch) // siblings)
        return within + [job for job in rows if job.row.seq > highest][:margin]

    def _refused(self, name: str, reason: str) -> None:
        if reason not in self._told:
            self._told.add(reason)
            runlog.event(logging.WARNING, "batch refused", reason=reason)
            self._notice(reason)
        # The batch left the queue unanswered: the next look enqueues its rows again,
        # for a worker that can send them (this run's own, unless --no-local-worker).

    async def _hand_on(self, outcomes: list[Outcome]) -> None:
        async with self._delivering:
            with anyio.CancelScope(shield=True):  # a delivered outcome is never half-kept
                await self._deliver(outcomes)


def _local_outcome(job: Job) -> Outcome:
    """A row that is not sent: its local problem, or its outcome from the resumed run."""
    if job.recorded is not None:
        return replayed(job)
    return Outcome(job.row, Category.REQUIRES_USER_ACTION, message=job.problem)
