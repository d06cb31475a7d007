"""`excelfmt bench URL`: what the pool buys against one request at a time, on a real API.

The system excelfmt replaces had a performance-test endpoint; this is it. With --batch,
each request carries a batch of N items (the --data body each), wrapped as --bulk says. The same N
requests go twice: first one after another over one connection (the "direct" way a
script would send them), then through the pool with every policy of a run (adaptive
concurrency, rate, retries, breaker). Both are timed on the same clock, so the speedup
is what a run of N rows would gain on this API from here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import anyio

from ..calls.bulk import style_for
from ..calls.client import open_sender, sending
from ..calls.failures import NoResponse
from ..calls.jobs import Planner
from ..calls.reply import Clock
from ..errors import UsageError
from ..metrics.histogram import LatencyHistogram
from ..models import Job, Outcome, Row
from ..policies.resilience import Policies
from ..sending.bulk import handler_for
from ..sending.dispatch import dispatcher_for
from ..sending.eventloop import loop_options
from ..sending.pool import Pool
from ..settings.config import Settings

if TYPE_CHECKING:
    import httpx

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class BenchFigures:
    """One way of sending the N requests."""

    requests: int
    seconds: float
    errors: int
    """Rows (items) that did not succeed (a status the settings do not count as ok, or no
    answer), after the retries of the pool."""
    p50: float | None
    p90: float | None
    p99: float | None

    rows: int = 0
    """Items the requests carried: as many as requests, or batch times as many."""

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class BenchReport:
    url: str
    method: str
    concurrency: int
    direct: BenchFigures
    pool: BenchFigures
    batch: int = 1

    @property
    def speedup(self) -> float:
        base = self.direct.per_second
        return self.pool.per_second / base if base else 0.0


def check_bench(settings: Settings, iterations: int, confirmed: bool) -> None:
    """A bench that would change data on the API needs the person's word for it."""
    method = settings.method.upper()
    if method not in SAFE_METHODS and not confirmed:
        raise UsageError(
            f"bench would send {iterations * 2:,} {method} requests to {settings.url}, which "
            "may change data there; add --yes if that is what you want."
        )
    if "{" in settings.url:
        raise UsageError("bench takes a plain URL, not a {Column} template: there is no sheet.")


def bench(
    settings: Settings,
    iterations: int,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.perf_counter,
) -> BenchReport:
    # Each request its own Idempotency-Key, across both ways too: an API that keeps
    # keys would answer the pool's requests from what it kept for the direct ones.
    planner = Planner(settings, [])
    jobs = [planner.plan(Row(i, i + 1, {})) for i in range(2 * iterations * settings.batch)]
    if settings.batch > 1:
        iterations *= settings.batch  # items: the pool batches them as a run would
    return anyio.run(
        _bench,
        settings,
        jobs[:iterations],
        jobs[iterations:],
        transport,
        clock,
        backend="asyncio",
        backend_options=loop_options(),
    )


async def _bench(
    settings: Settings,
    direct_jobs: Sequence[Job],
    pool_jobs: Sequence[Job],
    transport: httpx.AsyncBaseTransport | None,
    clock: Clock,
) -> BenchReport:
    one_at_a_time = replace(settings, concurrency=1, min_concurrency=1)
    direct = await _direct(one_at_a_time, direct_jobs, transport, clock)
    pooled = await _pooled(settings, pool_jobs, transport, clock)
    return BenchReport(
        settings.url,
        settings.method.upper(),
        settings.concurrency,
        direct,
        pooled,
        settings.batch,
    )


async def _direct(
    settings: Settings,
    jobs: Sequence[Job],
    transport: httpx.AsyncBaseTransport | None,
    clock: Clock,
) -> BenchFigures:
    latencies = LatencyHistogram()
    errors = 0
    redactor = settings.redactor()
    rows = len(jobs)
    if settings.batch > 1:  # one batch after another, each answered as a whole
        wrap = style_for(settings).wrap
        jobs = [wrap(jobs[i : i + settings.batch]) for i in range(0, rows, settings.batch)]
    async with sending(settings, open_sender(settings, transport, clock), redactor.learn) as sender:
        started = clock()
        for job in jobs:
            try:
                reply = await sender.send(job)
            except (NoResponse, OSError, TimeoutError):
                errors += 1
                continue
            latencies.add(reply.latency)
            refused = reply.status >= 400 and settings.status_rules.get(reply.status) != "ok"
            errors += refused * (rows // len(jobs))
        seconds = clock() - started
    return _figures(len(jobs), seconds, errors, latencies, rows)


async def _pooled(
    settings: Settings,
    jobs: Sequence[Job],
    transport: httpx.AsyncBaseTransport | None,
    clock: Clock,
) -> BenchFigures:
    latencies = LatencyHistogram()
    outcomes: list[Outcome] = []

    async def deliver(done: Sequence[Outcome]) -> None:
        outcomes.extend(done)
        for outcome in done:
            if outcome.latency is not None:
                latencies.add(outcome.latency)

    redactor = settings.redactor()
    policies = Policies.from_settings(settings)
    async with sending(settings, open_sender(settings, transport, clock), redactor.learn) as sender:
        dispatcher = dispatcher_for(settings, sender, policies, time.monotonic, redactor=redactor)
        handler = handler_for(settings, dispatcher)
        started = clock()
        await Pool(handler, deliver, settings.concurrency).run(iter(jobs))
        seconds = clock() - started
    errors = sum(1 for outcome in outcomes if not outcome.ok)
    return _figures(policies.requests, seconds, errors, latencies, len(jobs))


def _figures(
    requests: int, seconds: float, errors: int, latencies: LatencyHistogram, rows: int
) -> BenchFigures:
    return BenchFigures(
        requests,
        seconds,
        errors,
        latencies.quantile(0.5),
        latencies.quantile(0.9),
        latencies.quantile(0.99),
        rows,
    )
