"""The only place tasks are spawned: feeder -> workers -> collector, with backpressure.

    jobs (sync iterator) --worker thread, in chunks--> feeder --stream of chunks-->
    N workers (each: handle(job) -> Outcome) --bounded stream--> collector -> deliver()

The jobs iterator reads and plans rows; it runs in a worker thread so parsing the workbook
never stalls requests in flight. Both streams are bounded, so memory depends on the
concurrency, not on the sheet. Stopping is two-stage: `stop()` ends feeding and lets the
requests in flight finish (their outcomes are delivered); `abandon()` cancels them too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from itertools import islice

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..models import Job, Outcome

CHUNK_ROWS = 256
"""Rows read per hand-over from the reading thread: amortises the thread hop."""
MAX_BATCH = 512
"""Most outcomes delivered at once; delivery is batched so the writer can use a thread."""

Handle = Callable[[Job], Awaitable[Outcome | None]]
"""A row's outcome, or None when the run is stopping and the row was left unfinished."""
Deliver = Callable[[Sequence[Outcome]], Awaitable[None]]


class Pool:
    """Run `handle` over jobs with at most `concurrency` in flight; deliver every outcome."""

    def __init__(self, handle: Handle, deliver: Deliver, concurrency: int) -> None:
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
        self._exhausted = False
        self.in_flight = 0
        self.unsettled: dict[int, int] = {}
        """Rows handed to `handle` and not yet delivered (sent, perhaps): seq -> number."""
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
                    for _ in range(self._concurrency):
                        workers.start_soon(self._work, chunk_receive, out_send.clone())

    async def _feed(self, jobs: Iterator[Job], send: MemoryObjectSendStream[list[Job]]) -> None:
        async with send:
            with self._feeding:
                while self.feed_error is None:
                    chunk, self.feed_error = await anyio.to_thread.run_sync(
                        take_jobs, jobs, CHUNK_ROWS
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
        async with send:
            while (job := await self._next_job(chunks)) is not None:
                self.in_flight += 1
                self.unsettled[job.row.seq] = job.row.number
                try:
                    outcome = await self._handle(job)
                finally:
                    self.in_flight -= 1
                if outcome is None:
                    continue
                try:
                    send.send_nowait(outcome)
                except anyio.WouldBlock:  # the collector is behind: wait for it
                    await send.send(outcome)

    async def _collect(self, receive: MemoryObjectReceiveStream[Outcome]) -> None:
        async with receive:
            async for first in receive:
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                with anyio.CancelScope(shield=True):  # a delivered outcome is never half-kept
                    await self._deliver(batch)
                for outcome in batch:
                    self.unsettled.pop(outcome.row.seq, None)


def take_jobs(jobs: Iterator[Job], count: int) -> tuple[list[Job], Exception | None]:
    """Up to `count` jobs, and the error that ended the iterator early, if one did.

    Rows read before a failure (a damaged part of the sheet) are still sent and
    recorded; the run then reports the error instead of dropping what was done.
    """
    chunk: list[Job] = []
    try:
        chunk.extend(islice(jobs, count))
    except Exception as exc:
        return chunk, exc
    return chunk, None
