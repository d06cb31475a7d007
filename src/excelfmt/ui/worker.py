"""How a worker shows itself: a line kept up to date on a terminal, a line a minute off it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console

from ..scaleout.service import WorkerReport


def worker_line(report: WorkerReport, *, queue: bool = True) -> str:
    """How the worker stands; `queue`: name the queue too (a log line stands alone)."""
    stats = report.stats
    elapsed = max(1.0, time.time() - stats.started)
    state = "working"
    if report.draining:
        state = "draining: finishing the rows in flight"
    if report.stopped:
        state = "stopped"
    refused = f", {stats.refused} refused" if stats.refused else ""
    where = f" on {report.queue}" if queue else ""
    return (
        f"worker {report.name}{where}: {state}; {stats.batches:,} batches, "
        f"{stats.rows:,} rows, {stats.rows / elapsed:,.0f} rows/s{refused}"
    )


def worker_reporter(console: Console, stream: TextIO) -> Callable[[WorkerReport], None]:
    """On a terminal, one status line redrawn in place; elsewhere a plain line each time."""
    if console.is_terminal and not console.is_dumb_terminal:
        status = console.status("")
        status.start()
        introduced = False

        def show(report: WorkerReport) -> None:
            nonlocal introduced
            if not introduced:  # the queue once, so the line below fits 80 columns
                console.print(
                    f"worker {report.name} takes batches from {report.queue}; Ctrl-C or "
                    "SIGTERM stops it once its rows in flight are answered.",
                    highlight=False,
                )
                introduced = True
            if report.stopped:  # the spinner goes; the last line stays on the screen
                status.stop()
                console.print(worker_line(report, queue=False), highlight=False)
            else:
                status.update(worker_line(report, queue=False))

        return show

    def log(report: WorkerReport) -> None:
        print(worker_line(report), file=stream, flush=True)

    return log
