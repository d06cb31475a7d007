"""`excelfmt queue status` for people: workers, batches, runs."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.markup import escape

from ..scaleout.status import QueueStatus


def _ago(stamp: Any) -> str:
    seconds = max(0.0, time.time() - float(stamp))
    return f"{seconds:.0f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"


def run_line(run: dict[str, Any]) -> str:
    return (
        f"{run['session']}  {run['state']}: {int(run['answered']):,} rows answered, "
        f"{int(run['failed']):,} failed, {int(run['in_queue']):,} in the queue "
        f"({run['host']}, pid {run['pid']}, {_ago(run['updated'])})"
    )


def print_queue_status(console: Console, status: QueueStatus, queue: str) -> None:
    console.print(f"Queue {escape(queue)}")
    workers = status.workers
    console.print(f"Workers alive: {len(workers)}" + (":" if workers else " (none)."))
    for beat in workers:
        concurrency = int(beat.get("concurrency") or 0)
        shown = f"concurrency {concurrency}" if concurrency else "each run's concurrency"
        console.print(
            f"  {escape(beat['host'])} pid {beat['pid']}: {shown}, "
            f"{int(beat['rows']):,} rows, {float(beat['rows_per_s']):,.0f} rows/s, "
            f"{int(beat['batches']):,} batches, seen {_ago(beat['seen'])}"
        )
    for lost in status.lost:
        console.print(
            f"  [red]lost[/] {escape(lost['name'])}: its heartbeat stopped "
            f"{_ago(lost['lost_at'])}; {int(lost.get('rows_taken_over', 0)):,} of its rows "
            "went to other workers"
        )
    batches = ", ".join(f"{count:,} {state}" for state, count in status.batches.items())
    console.print(f"Batches: {batches}.")
    if status.runs:
        console.print("Runs:")
        for run in status.runs:
            console.print(f"  {escape(run_line(run))}")
