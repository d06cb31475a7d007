"""`excelfmt worker`: a QueueWorker for as long as the host wants one.

SIGTERM (or Ctrl-C) drains it: no new batch is taken, the rows in flight finish and
their outcomes are pushed, the rest of its batches go back to their runs (which enqueue
them again), and it exits 0 — what systemd and container runtimes expect.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from ..broker.connection import INSTALL, Outage, client, masked, require_queue_extra
from ..errors import UsageError, plain_errors
from ..sending.eventloop import loop_options
from ..sending.gcpause import collector_set_for_a_run
from ..sending.signals import stop_signals
from ..store import runlog
from .worker import QueueWorker, WorkerOptions, WorkerStats


@dataclass(frozen=True)
class WorkerReport:
    name: str
    queue: str
    """The queue's URL, password masked."""
    stats: WorkerStats
    draining: bool
    stopped: bool = False
    """The last report: the worker has handed everything back and exits."""


def serve(
    url: str,
    options: WorkerOptions,
    report: Callable[[WorkerReport], None],
    every: float,
    metrics: tuple[str, int] | None = None,
) -> None:
    """Work until a stop signal; `report` hears how it goes every `every` seconds;
    `metrics`: the host and port to serve Prometheus's /metrics on, if any."""
    require_queue_extra("excelfmt worker")
    with plain_errors():  # a stop or a refusal inside the worker's tasks: its sentence
        anyio.run(
            _serve,
            url,
            options,
            report,
            every,
            metrics,
            backend="asyncio",
            backend_options=loop_options(),
        )


async def _serve(
    url: str,
    options: WorkerOptions,
    report: Callable[[WorkerReport], None],
    every: float,
    metrics: tuple[str, int] | None,
) -> None:
    def notice(text: str) -> None:
        print(f"excelfmt: {text}", file=sys.stderr, flush=True)

    exposition = None
    if metrics is not None:
        try:
            from ..metrics.prometheus import Exposition
        except ImportError:
            raise UsageError(f"--metrics-port needs prometheus_client: {INSTALL}.") from None

        exposition = Exposition(lambda: worker.live())
    worker = QueueWorker(url, options, notice=notice, exposition=exposition)
    stop_metrics = exposition.serve_http(*metrics) if exposition and metrics else None
    try:
        await _reachable(url, options.max_outage, notice)
        await _work(worker, url, report, every)
    finally:
        if stop_metrics is not None:
            stop_metrics()


async def _work(
    worker: QueueWorker, url: str, report: Callable[[WorkerReport], None], every: float
) -> None:
    draining = False

    def now() -> WorkerReport:
        return WorkerReport(worker.name, masked(url), worker.stats, draining)

    async def watch_signals() -> None:
        nonlocal draining
        with stop_signals() as signals:
            async for signum in signals:
                draining = True
                runlog.event(logging.WARNING, f"worker draining on {signal.Signals(signum).name}")
                worker.stop()
                report(now())

    async def report_now_and_then() -> None:
        while True:
            report(now())
            await anyio.sleep(every)

    runlog.event(logging.INFO, "worker started", worker=worker.name, queue=masked(url))
    with collector_set_for_a_run():  # a long collector pause would stall the rows in flight
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(watch_signals)
            tasks.start_soon(report_now_and_then)
            await worker.run()
            tasks.cancel_scope.cancel()
    report(WorkerReport(worker.name, masked(url), worker.stats, draining, stopped=True))
    runlog.event(logging.INFO, "worker stopped", worker=worker.name, rows=worker.stats.rows)


async def _reachable(url: str, max_outage: float, notice: Callable[[str], None]) -> None:
    """Wait for Redis as for any outage (a worker may start before it does)."""
    redis = client(url)
    try:
        await Outage(max_outage, time.monotonic, anyio.sleep, notice).call(redis.ping)
    finally:
        await redis.aclose()
