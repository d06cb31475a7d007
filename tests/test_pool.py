"""The pool: every job ends in exactly one outcome, in bounded memory, and stops cleanly."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from excelfmt.models import Category, Job, Outcome, Row
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
