"""The composition root: workbook -> planner -> pool -> outcome sinks, for one run.

`run()` is what the CLI calls and what a Python user can call too. It knows nothing of
terminals: progress goes to an `Observer`, the result comes back as a RunSummary.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Protocol

import anyio
import httpx

from .client import Clock, Sender
from .config import Settings
from .dispatch import Dispatcher
from .errors import ExcelfmtError, UsageError
from .jobs import Planner
from .metrics import Metrics, Snapshot
from .models import Job, Outcome
from .pool import Pool
from .ratelimit import RateLimiter
from .reader import OpenSheet, Sheet
from .summary import RunSummary
from .writer import ResultsWriter, open_results

PROGRESS_INTERVAL = 0.1
"""Seconds between progress events."""


@dataclass(frozen=True)
class RunInfo:
    """What a run is about to do, for the observer's first words."""

    input: Path
    sheet: str
    columns: tuple[str, ...]
    estimated_rows: int | None
    output: Path
    concurrency: int


class Observer(Protocol):
    """Receives a run's events; the CLI's live view is one, the default ignores them."""

    def started(self, info: RunInfo) -> None: ...
    def progressed(self, snapshot: Snapshot) -> None: ...
    def stopping(self, in_flight: int) -> None: ...
    def finished(self, summary: RunSummary) -> None: ...


class SilentObserver:
    def started(self, info: RunInfo) -> None:
        pass

    def progressed(self, snapshot: Snapshot) -> None:
        pass

    def stopping(self, in_flight: int) -> None:
        pass

    def finished(self, summary: RunSummary) -> None:
        pass


def default_output(input_path: Path) -> Path:
    return input_path.with_name(f"{input_path.stem}.results.xlsx")


def _jobs(sheet: Sheet, planner: Planner, limit: int | None) -> Iterator[Job]:
    for row in sheet.rows(limit):
        yield planner.plan(row)


def preview(settings: Settings, input_path: Path, count: int = 5) -> tuple[RunInfo, list[Job]]:
    """The first `count` requests a run would send (a dry run); sends nothing."""
    with OpenSheet(input_path, settings.sheet, settings.header_row) as sheet:
        planner = Planner(settings, sheet.columns)
        limit = min(count, settings.limit) if settings.limit else count
        jobs = list(_jobs(sheet, planner, limit))
        return _info(settings, input_path, sheet), jobs


def _info(settings: Settings, input_path: Path, sheet: Sheet) -> RunInfo:
    estimated = sheet.estimated_rows
    if estimated is not None and settings.limit is not None:
        estimated = min(estimated, settings.limit)
    return RunInfo(
        input_path,
        sheet.name,
        sheet.columns,
        estimated,
        settings.output or default_output(input_path),
        settings.concurrency,
    )


def run(
    settings: Settings,
    input_path: Path,
    *,
    observer: Observer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.monotonic,
    handle_signals: bool = False,
) -> RunSummary:
    """Send every row of the sheet and write the results file; return the summary.

    Raises UsageError or InputError (exit code 2) before anything is sent when the
    settings or the workbook are wrong. With `handle_signals`, a first Ctrl-C or SIGTERM
    lets requests in flight finish and a second abandons them; the summary then says
    `interrupted`.
    """
    observer = observer or SilentObserver()
    output = settings.output or default_output(input_path)
    if output.resolve() == input_path.resolve():
        raise UsageError(
            f"The results file would overwrite the input {input_path}; choose another --output."
        )
    with OpenSheet(input_path, settings.sheet, settings.header_row) as sheet:
        planner = Planner(settings, sheet.columns)
        try:
            writer = open_results(output, sheet.columns, settings.capture)
        except OSError as exc:
            raise UsageError(
                f"Cannot write the results file {output}: {exc.strerror or exc}."
            ) from None
        try:
            summary = anyio.run(
                partial(
                    _run,
                    settings,
                    input_path,
                    sheet,
                    planner,
                    writer,
                    observer,
                    transport,
                    clock,
                    handle_signals,
                )
            )
        except BaseException:
            writer.discard()
            raise
    return summary


async def _run(
    settings: Settings,
    input_path: Path,
    sheet: Sheet,
    planner: Planner,
    writer: ResultsWriter,
    observer: Observer,
    transport: httpx.AsyncBaseTransport | None,
    clock: Clock,
    handle_signals: bool,
) -> RunSummary:
    started_at = datetime.now(UTC)
    metrics = Metrics(started=clock())
    observer.started(_info(settings, input_path, sheet))
    interrupted = False
    next_progress = 0.0

    async def deliver(outcomes: Sequence[Outcome]) -> None:
        nonlocal next_progress
        for outcome in outcomes:
            metrics.record(outcome)
        await anyio.to_thread.run_sync(writer.add, outcomes)
        now = clock()
        if now >= next_progress:  # a view refreshes a few times a second, not per row
            next_progress = now + PROGRESS_INTERVAL
            observer.progressed(metrics.snapshot(now))

    async with Sender(settings, transport, clock) as sender:
        dispatcher = Dispatcher(
            sender,
            status_rules=settings.status_rules,
            capture_paths=settings.capture,
            redactor=settings.redactor(),
            limiter=RateLimiter(settings.rate) if settings.rate > 0 else None,
            clock=clock,
        )
        pool = Pool(dispatcher, deliver, settings.concurrency)

        async def watch_signals() -> None:
            nonlocal interrupted
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    if interrupted:
                        pool.abandon()
                    else:
                        interrupted = True
                        observer.stopping(pool.in_flight)
                        pool.stop()

        async with anyio.create_task_group() as tasks:
            if handle_signals:
                tasks.start_soon(watch_signals)
            await pool.run(_jobs(sheet, planner, settings.limit))
            tasks.cancel_scope.cancel()

    summary = RunSummary(
        input=input_path,
        sheet=sheet.name,
        output=writer.path,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        metrics=metrics.snapshot(clock()),
        settings=settings.describe(),
        interrupted=interrupted,
    )
    await anyio.to_thread.run_sync(writer.finish, summary)
    if pool.feed_error is not None:
        error = pool.feed_error
        if isinstance(error, ExcelfmtError):
            raise type(error)(
                f"{error} The {metrics.done} rows already sent are recorded in {writer.path}."
            )
        raise error
    observer.finished(summary)
    return summary
