"""The pool: every job ends in exactly one outcome, in bounded memory, and stops cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from excelfmt.models import Category, Job, Outcome, Row
from excelfmt.sending.bulk import BulkDispatcher
from excelfmt.sending.pool import Pool
from excelfmt.sheets.reorder import Reorder

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def jobs(count: int) -> Iterator[Job]:
    for n in range(count):
        yield Job(Row(n, n + 2, {"n": n}), "POST", "http://x", (), b"{}")


class Collected:
    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    async def __call__(self, batch: Sequence[Outcome]) -> None:
        self.outcomes.extend(batch)


async def test_every_job_gets_exactly_one_outcome_with_at_most_n_in_flight():
    in_flight = peak = 0

    async def handle(job: Job) -> Outcome:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.001 * (job.row.seq % 3))
        in_flight -= 1
        return Outcome(job.row, None)

    sink = Collected()
    await Pool(handle, sink, concurrency=8).run(jobs(1000))
    assert sorted(o.row.seq for o in sink.outcomes) == list(range(1000))
    assert peak == 8


async def test_the_reader_is_not_run_ahead_of_the_workers():
    pulled = 0

    def counting() -> Iterator[Job]:
        nonlocal pulled
        for job in jobs(100_000):
            pulled += 1
            yield job

    gate = anyio.Event()

    async def handle(job: Job) -> Outcome:
        await gate.wait()
        return Outcome(job.row, None)

    sink = Collected()
    async with anyio.create_task_group() as tasks:
        pool = Pool(handle, sink, concurrency=4)
        tasks.start_soon(pool.run, counting())
        await anyio.sleep(0.2)
        # Memory is bounded by chunks in the hand-over, not by the sheet.
        assert pulled <= 4 * 256
        pool.abandon()
    assert len(sink.outcomes) == 0


async def test_stop_lets_requests_in_flight_finish_and_sends_nothing_new():
    started: list[int] = []
    all_busy = anyio.Event()

    async def handle(job: Job) -> Outcome:
        started.append(job.row.seq)
        if len(started) == 5:
            all_busy.set()
        await anyio.sleep(0.05)
        return Outcome(job.row, None)

    sink = Collected()
    pool = Pool(handle, sink, concurrency=5)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(pool.run, jobs(1000))
        await all_busy.wait()
        pool.stop()
    assert len(started) == 5
    assert sorted(o.row.seq for o in sink.outcomes) == sorted(started)


async def test_a_failing_jobs_iterator_is_kept_and_what_was_read_still_finishes():
    def broken() -> Iterator[Job]:
        yield from jobs(3)
        raise ValueError("sheet damaged")

    async def handle(job: Job) -> Outcome:
        return Outcome(job.row, Category.SYSTEM_ERROR)

    sink = Collected()
    pool = Pool(handle, sink, concurrency=2)
    await pool.run(broken())
    assert len(sink.outcomes) == 3
    assert isinstance(pool.feed_error, ValueError)


@settings(max_examples=50, deadline=None)
@given(st.permutations(list(range(40))))
def test_reorder_releases_in_sequence(order: list[int]):
    reorder = Reorder()
    released: list[int] = []
    for seq in order:
        released += [o.row.seq for o in reorder.push([Outcome(Row(seq, seq + 2, {}), None)])]
    assert released == list(range(40)) and len(reorder) == 0


def test_reorder_drain_skips_rows_that_never_finished():
    reorder = Reorder()
    assert reorder.push([Outcome(Row(s, s + 2, {}), None) for s in (0, 2, 3)]) != []
    assert [o.row.seq for o in reorder.drain()] == [2, 3]


class Batches(BulkDispatcher):
    """The pool's side of --batch, with the sending left out: each batch is recorded and
    every row in it answered ok."""

    paced = False  # no rate: batches are formed at once

    def __init__(self, size: int, max_bytes: int = 1_000_000) -> None:
        self.size, self.max_bytes, self.linger = size, max_bytes, 0.05
        self.seen: list[list[int]] = []

    async def __call__(
        self, jobs: list[Job], more: Any, emit: Any, *, slot_taken: bool = False
    ) -> None:
        self.seen.append([job.row.seq for job in jobs])
        await emit([Outcome(job.row, None) for job in jobs])


def planned(n: int, url: str = "http://x", body: bytes = b"{}", problem: str | None = None) -> Job:
    return Job(Row(n, n + 2, {"n": n}), "POST", url, (), body, problem=problem)


async def test_batches_hold_rows_for_one_url_up_to_the_size_and_bytes():
    rows = [planned(n) for n in range(7)]
    rows += [planned(7, problem="Row 9: refused."), planned(8), planned(9, url="http://y")]
    rows += [planned(n, body=b"x" * 40) for n in range(10, 16)]
    batches = Batches(size=4, max_bytes=100)
    sink = Collected()

    await Pool(batches, sink, concurrency=1).run(iter(rows))

    assert sorted(o.row.seq for o in sink.outcomes) == list(range(16))
    # A refused row rides along without taking a place; another URL starts a new batch;
    # 40-byte bodies fit two to a request of at most 100 bytes.
    assert batches.seen == [[0, 1, 2, 3], [4, 5, 6, 7, 8], [9], [10, 11], [12, 13], [14, 15]]


async def test_a_batch_that_is_not_full_goes_out_while_rows_come_slowly():
    delivered = threading.Event()
    answered_while_reading = False

    def trickle() -> Iterator[Job]:
        nonlocal answered_while_reading
        for n in range(60):  # a slow sheet: a row every 10 ms, never a full batch
            time.sleep(0.01)
            yield planned(n)
        answered_while_reading = delivered.is_set()

    class Noting(Collected):
        async def __call__(self, batch: Sequence[Outcome]) -> None:
            await super().__call__(batch)
            delivered.set()

    sink = Noting()
    await Pool(Batches(size=1000), sink, concurrency=2).run(trickle())

    # The first rows were sent and answered while the rest were still being read.
    assert answered_while_reading
    assert sorted(o.row.seq for o in sink.outcomes) == list(range(60))
