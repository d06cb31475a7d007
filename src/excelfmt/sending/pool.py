"""The only place tasks are spawned: feeder -> workers -> collector, with backpressure.

    jobs (sync iterator) --worker thread, in chunks--> feeder --stream of chunks-->
    N workers (each: handle(job) -> Outcome) --bounded stream--> collector -> deliver()

With --batch each worker takes a batch of jobs (sending.bulk sends it) instead of one:
as many as fit, of the rows already read, waiting a moment (LINGER) for more when the
batch is not full.

The jobs iterator reads and plans rows; it runs in a worker thread so parsing the workbook
never stalls requests in flight. Both streams are bounded, so memory depends on the
concurrency, not on the sheet. Stopping is two-stage: `stop()` ends feeding and lets the
requests in flight finish (their outcomes are delivered); `abandon()` cancels them too.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from itertools import islice

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..calls.bulk import batch_key
from ..models import Job, Outcome
from .bulk import BulkDispatcher, sent_alone

CHUNK_ROWS = 256
"""Rows read per hand-over from the reading thread: amortises the thread hop."""
MAX_BATCH = 512
"""Most outcomes delivered at once; delivery is batched so the writer can use a thread."""

POLL_SECONDS = 0.005
"""How often a batch that is waiting for rows looks for them."""

Handle = Callable[[Job], Awaitable[Outcome | None]]
"""A row's outcome, or None when the run is stopping and the row was left unfinished."""
Deliver = Callable[[Sequence[Outcome]], Awaitable[None]]


class Pool:
    """Run `handle` over jobs with at most `concurrency` in flight; deliver every outcome."""

    def __init__(self, handle: Handle | BulkDispatcher, deliver: Deliver, concurrency: int) -> None:
        self._handle = handle
        self._deliver = deliver
        self._concurrency = concurrency
        self._feeding = anyio.CancelScope()
        self._working = anyio.CancelScope()
        self._stopping = False
        # Jobs travel in chunks and are dealt from this queue: a stream operation per
        # job would cost a trip round the event loop each, a tenth of a row's budget.
        self._queue: deque[Job] = deque()
        self._refill = anyio.Lock()
        self._delivering = anyio.Lock()  # one delivery at a time, as from the collector
        self._exhausted = False
        self.in_flight = 0
        self.unsettled: dict[int, int] = {}
        """Rows handed to `handle` and not yet delivered (sent, perhaps): seq -> number."""
        self._bulk = handle if isinstance(handle, BulkDispatcher) else None
        self.feed_error: Exception | None = None
        """An exception raised by the jobs iterator (e.g. a damaged sheet), kept for later."""

    def stop(self) -> None:
        """Send nothing more; let requests in flight finish."""
        self._stopping = True
        self._feeding.cancel()

    def abandon(self) -> None:
        """Stop now, cancelling requests in flight; their rows stay unfinished."""
        self.stop()
        self._working.cancel()

    async def run(self, jobs: Iterator[Job]) -> None:
        chunk_send, chunk_receive = anyio.create_memory_object_stream[list[Job]](1)
        out_send, out_receive = anyio.create_memory_object_stream[Outcome](self._concurrency)
        async with anyio.create_task_group() as outer:
            outer.start_soon(self._collect, out_receive)
            with self._working:
                async with out_send, chunk_receive, anyio.create_task_group() as workers:
                    workers.start_soon(self._feed, jobs, chunk_send)
                    work = self._work_batches if self._bulk is not None else self._work
                    for _ in range(self._concurrency):
                        workers.start_soon(work, chunk_receive, out_send.clone())

    async def _feed(self, jobs: Iterator[Job], send: MemoryObjectSendStream[list[Job]]) -> None:
        async with send:
            with self._feeding:
                rows = max(CHUNK_ROWS, self._bulk.size if self._bulk else 0)
                # A batch waits a moment for rows (LINGER), not for a slow sheet's chunk.
                within = self._bulk.linger if self._bulk else None
                while self.feed_error is None:
                    chunk, self.feed_error = await anyio.to_thread.run_sync(
                        take_jobs, jobs, rows, within
                    )
                    if not chunk:
                        return
                    await send.send(chunk)

    async def _next_job(self, chunks: MemoryObjectReceiveStream[list[Job]]) -> Job | None:
        while not self._queue:
            if self._exhausted or self._stopping:
                return None
            async with self._refill:  # one worker waits for the next chunk, the rest queue
                if self._queue or self._exhausted:
                    continue
                try:
                    self._queue.extend(await chunks.receive())
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    self._exhausted = True
        return None if self._stopping else self._queue.popleft()

    async def _work(
        self, chunks: MemoryObjectReceiveStream[list[Job]], send: MemoryObjectSendStream[Outcome]
    ) -> None:
        handle = self._handle
        assert not isinstance(handle, BulkDispatcher)
        async with send:
            while (job := await self._next_job(chunks)) is not None:
                self.in_flight += 1
                self.unsettled[job.row.seq] = job.row.number
                try:
                    outcome = await handle(job)
                finally:
                    self.in_flight -= 1
                if outcome is None:
                    continue
                try:
                    send.send_nowait(outcome)
                except anyio.WouldBlock:  # the collector is behind: wait for it
                    await send.send(outcome)

    async def _work_batches(
        self, chunks: MemoryObjectReceiveStream[list[Job]], send: MemoryObjectSendStream[Outcome]
    ) -> None:
        bulk = self._bulk
        assert bulk is not None
        async with send:
            while True:
                # Paced by a rate, a batch takes its rows once its slot has come: rows held
                # by batches waiting for theirs would leave the batches before them short.
                paced = bulk.paced
                if paced and not await bulk.dispatcher.take_slot():
                    return
                batch = await self._next_batch(bulk, chunks)
                if not batch:
                    return
                taken = len(batch)
                emitted = 0
                self._taken(batch)

                def more(again: list[Job]) -> list[Job]:
                    nonlocal taken
                    self._take_ready_chunks(chunks, bulk.size)
                    joining = self._joining(again, bulk)
                    taken += len(joining)
                    self._taken(joining)
                    return joining

                async def emit(outcomes: Sequence[Outcome]) -> None:
                    # Recorded before the worker takes more rows: the rows a killed run
                    # sends again are those of the batches in flight, no more.
                    nonlocal emitted
                    emitted += len(outcomes)
                    self.in_flight -= len(outcomes)
                    await self._deliver_now(outcomes)

                try:
                    await bulk(batch, more, emit, slot_taken=paced)
                finally:
                    self.in_flight -= taken - emitted  # left unfinished: the run stops

    async def _deliver_now(self, outcomes: Sequence[Outcome]) -> None:
        """A batch's outcomes delivered by its worker itself (already a batch: the
        collector's gathering would only keep them unrecorded longer)."""
        if not outcomes:
            return
        with anyio.CancelScope(shield=True):  # a delivered outcome is never half-kept
            async with self._delivering:
                await self._deliver(outcomes)
        for outcome in outcomes:
            self.unsettled.pop(outcome.row.seq, None)

    def _taken(self, jobs: list[Job]) -> None:
        self.in_flight += len(jobs)
        for job in jobs:
            self.unsettled[job.row.seq] = job.row.number

    async def _next_batch(
        self, bulk: BulkDispatcher, chunks: MemoryObjectReceiveStream[list[Job]]
    ) -> list[Job]:
        """Rows for one request: those already read that can share it, as many as fit,
        after waiting up to bulk.linger for more; [] when there are no more rows. Rows
        refused locally before the first that is sent come along (they take no place)."""
        batch: list[Job] = []
        while not batch or sent_alone(batch[-1]):
            job = await self._next_job(chunks)
            if job is None:
                return batch
            batch.append(job)
        deadline = anyio.current_time() + bulk.linger
        while not self._stopping:
            self._take_ready_chunks(chunks, bulk.size)
            batch.extend(self._joining(batch, bulk))
            if self._queue or self._exhausted:
                break  # full, or the next row cannot share this request, or none is left
            full = sum(not sent_alone(job) for job in batch) >= bulk.size
            if full or anyio.current_time() >= deadline:
                break
            await self._poll_chunk(chunks)
        return batch

    def _joining(self, batch: list[Job], bulk: BulkDispatcher) -> list[Job]:
        """Queued rows that can go in one request with `batch`, in order, as many as fit:
        taking stops at the first that cannot (another URL) or would pass a limit."""
        wired = [job for job in batch if not sent_alone(job)]
        key = batch_key(wired[0])
        size = sum(len(job.body or b"") + 1 for job in wired)
        count = len(wired)
        taken: list[Job] = []
        while self._queue:
            job = self._queue[0]
            if not sent_alone(job):  # a row refused locally rides along, taking no place
                size += len(job.body or b"") + 1
                if count >= bulk.size or batch_key(job) != key or size > bulk.max_bytes:
                    break
                count += 1
            taken.append(self._queue.popleft())
        return taken

    def _take_ready_chunks(self, chunks: MemoryObjectReceiveStream[list[Job]], rows: int) -> None:
        """Move chunks the reading thread has ready into the queue, up to `rows` queued."""
        while len(self._queue) < rows and not self._exhausted:
            try:
                self._queue.extend(chunks.receive_nowait())
            except anyio.WouldBlock:
                return
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                self._exhausted = True

    async def _poll_chunk(self, chunks: MemoryObjectReceiveStream[list[Job]]) -> None:
        """Wait a little for the reading thread's next chunk. Polled, not a cancelled
        receive: a receive cancelled at the moment a chunk arrives would drop it."""
        try:
            self._queue.extend(chunks.receive_nowait())
        except anyio.WouldBlock:
            await anyio.sleep(POLL_SECONDS)
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._exhausted = True

    async def _collect(self, receive: MemoryObjectReceiveStream[Outcome]) -> None:
        async with receive:
            async for first in receive:
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                await self._deliver_now(batch)


def take_jobs(
    jobs: Iterator[Job], count: int, within: float | None = None
) -> tuple[list[Job], Exception | None]:
    """Up to `count` jobs, and the error that ended the iterator early, if one did; with
    `within`, fewer once that many seconds have gone by (rows that come slowly are not
    held back for the rest of the chunk).

    Rows read before a failure (a damaged part of the sheet) are still sent and
    recorded; the run then reports the error instead of dropping what was done.
    """
    chunk: list[Job] = []
    try:
        if within is None:
            chunk.extend(islice(jobs, count))
            return chunk, None
        deadline = time.monotonic() + within
        for job in jobs:
            chunk.append(job)
            if len(chunk) >= count or time.monotonic() > deadline:
                break
    except Exception as exc:
        return chunk, exc
    return chunk, None
