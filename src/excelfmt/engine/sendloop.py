"""The sending side of a run: the event loop that sends the rows and settles them.

runner.run() imports this module only once the workbook process is started: httpx,
anyio, aiohttp and the policies load here while the child opens the workbook, instead
of before it (docs/performance.md, "Start-up of a run").
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, cast

import anyio

from ..calls.client import PlainSender, open_sender, sending
from ..calls.reply import Clock
from ..errors import ExcelfmtError, InputError, RunStopped, plain_errors
from ..metrics.counters import Metrics
from ..metrics.summary import RunSummary
from ..metrics.timeline import Timeline
from ..models import Outcome
from ..policies.authguard import AuthGuard
from ..policies.resilience import LiveState, Policies
from ..sending.bulk import handler_for
from ..sending.dispatch import dispatcher_for
from ..sending.eventloop import loop_options
from ..sending.events import Observer, RunInfo
from ..sending.gcpause import collector_set_for_a_run
from ..sending.pool import Pool
from ..sending.signals import stop_signals
from ..settings.config import Settings
from ..store import runlog
from ..store.journal import Journal
from .sheet_child import peak_rss_mib
from .sheet_process import SheetProcess

if TYPE_CHECKING:  # types only: a run without --cache-ttl loads no cache
    from ..scaleout.feed import QueueFeed
    from ..store.responsecache import ResponseCache

__all__ = ["open_sender", "send"]

PROGRESS_INTERVAL = 0.1
"""Seconds between progress events."""
UNSETTLED_INTERVAL = 0.1
"""Seconds between records of the rows in flight, shown as "unknown outcome" after a kill."""


def send(
    settings: Settings,
    info: RunInfo,
    sheet: SheetProcess,
    journal: Journal | None,
    observer: Observer,
    plain: PlainSender,
    cache: ResponseCache | None,
    clock: Clock,
    handle_signals: bool,
) -> RunSummary:
    """Send the sheet's jobs on an event loop of its own; the run's summary."""
    with plain_errors():
        return anyio.run(
            partial(
                _run, settings, info, sheet, journal, observer, plain, cache, clock, handle_signals
            ),
            backend_options=loop_options(),
        )


def _peak_memory(sheet: SheetProcess) -> dict[str, float] | None:
    sending, workbook = peak_rss_mib(), sheet.peak_rss_mib
    if sending is None or workbook is None:
        return None
    return {"sending": round(sending, 1), "workbook": round(workbook, 1)}


async def _run(
    settings: Settings,
    info: RunInfo,
    sheet: SheetProcess,
    journal: Journal | None,
    observer: Observer,
    plain: PlainSender,
    cache: ResponseCache | None,
    clock: Clock,
    handle_signals: bool,
) -> RunSummary:
    started_at = datetime.now(UTC)
    timeline = Timeline(clock(), time.time())
    metrics = Metrics(started=clock(), timeline=timeline)
    policies = Policies.from_settings(settings)
    auth = AuthGuard(settings.auth_failures)
    observer.started(info)
    interrupted = False
    next_unsettled = 0.0
    breaker = "closed"

    def persist(outcomes: Sequence[Outcome], unsettled: list[tuple[int, int]] | None) -> None:
        """Blocking (a worker thread): the journal first, then the results file and log."""
        fresh = [(o.row.seq, o.recorded) for o in outcomes if not o.replayed]
        if journal is not None and fresh:
            journal.record(fresh, unsettled)
        sheet.add(outcomes)
        for outcome in outcomes:
            if not outcome.replayed and (outcome.category or outcome.attempts > 1):
                _log_row(outcome)

    async def record(outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        # Durable before the rows count as done: a resume never sends them again. The
        # rows still in flight are noted with them: if the process dies, their outcome
        # is unknown, and `excelfmt status` says so until a resume sends them again.
        nonlocal next_unsettled
        unsettled = None
        if clock() >= next_unsettled:  # a write per batch would cost a tenth of the journal
            next_unsettled = clock() + UNSETTLED_INTERVAL
            settled = {o.row.seq for o in outcomes}
            unsettled = [(s, n) for s, n in pool.unsettled.items() if s not in settled]
        await anyio.to_thread.run_sync(persist, outcomes, unsettled)
        now = clock()
        for outcome in outcomes:
            metrics.record(outcome, now)

    async def deliver(outcomes: Sequence[Outcome]) -> None:
        await record(auth.admit(outcomes))
        if auth.tripped:
            dispatcher.stop(
                f"The API refused the credentials {auth.limit} times in a row (401/403); "
                "check them and run again"
            )

    async def report_progress() -> None:
        """A few times a second, whether rows settle or not (an open breaker counts
        down while nothing does): never per row."""
        nonlocal breaker
        while True:
            now = clock()
            live = policies.live(now)
            snapshot = metrics.snapshot(now)
            if queued:  # the queue's side of things, for the dashboard, here and elsewhere
                feed = cast("QueueFeed", pool)
                live = replace(live, batches=feed.batches, workers=feed.note.workers)
                feed.note.board = partial(queued.board, info, metrics, live)
            _sample(timeline, now, live)
            observer.progressed(snapshot, live)
            if live.breaker != breaker:
                level = logging.INFO if live.breaker == "closed" else logging.WARNING
                runlog.event(level, f"circuit breaker {live.breaker}", was=breaker)
                breaker = live.breaker
            await anyio.sleep(PROGRESS_INTERVAL)

    redactor = settings.redactor()
    async with sending(settings, plain, redactor.learn) as sender:
        queued = None
        if settings.queue:
            from ..scaleout.queuedrun import QueueRun  # the queue extra: only for a queued run

            queued = QueueRun(settings, info.session, clock)
        pace = queued.shared_pace if queued else None
        dispatcher = dispatcher_for(settings, sender, policies, clock, cache, redactor, pace)
        pool: Pool | QueueFeed = (
            queued.feed(dispatcher, deliver, observer.noticed)
            if queued
            else Pool(handler_for(settings, dispatcher), deliver, settings.concurrency)
        )

        async def watch_signals() -> None:
            nonlocal interrupted
            with stop_signals() as signals:
                async for signum in signals:
                    if interrupted:
                        runlog.event(logging.WARNING, "abandoning the requests in flight")
                        pool.abandon()
                    else:
                        interrupted = True
                        runlog.event(
                            logging.WARNING,
                            f"interrupted by {signal.Signals(signum).name}",
                            in_flight=pool.in_flight,
                        )
                        observer.stopping(pool.in_flight, None)
                        pool.stop()

        async def watch_policies() -> None:
            await dispatcher.stopping.wait()  # the API is down, or refuses our credentials
            observer.stopping(pool.in_flight, dispatcher.stop_reason)
            pool.stop()

        with collector_set_for_a_run():
            async with anyio.create_task_group() as tasks:
                if handle_signals:
                    tasks.start_soon(watch_signals)
                tasks.start_soon(watch_policies)
                tasks.start_soon(report_progress)
                if queued:
                    tasks.start_soon(queued.run_local_worker)
                await pool.run(sheet.jobs())
                if queued:
                    await queued.finish()  # every row is answered: the own worker stops
                tasks.cancel_scope.cancel()
        await record(auth.release())

    now = clock()
    _sample(timeline, now, policies.live(now))  # the last moments' requests, before closing
    summary = RunSummary(
        input=info.input,
        sheet=info.sheet,
        output=info.output,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        metrics=metrics.snapshot(now, final=True),
        settings=settings.describe(),
        session=info.session,
        interrupted=interrupted,
        stopped=dispatcher.stop_reason,
        policies=_policy_figures(policies, now),
        sent_twice=tuple(sorted(cast("QueueFeed", pool).sent_twice)) if queued else (),
    )
    late = await _save_through_signals(sheet, summary, handle_signals)
    summary = replace(summary, peak_rss_mib=_peak_memory(sheet), interrupted=interrupted or late)
    if pool.feed_error is not None:
        error = pool.feed_error
        if isinstance(error, ExcelfmtError):
            message = (
                f"{error} The {metrics.done:,} rows read before it are recorded in {info.output}."
            )
            if metrics.done and isinstance(error, InputError):
                # The file broke off after rows went out: exit 2 would say nothing was sent.
                raise RunStopped(f"{message} The rest of the sheet was not sent.")
            raise type(error)(message)
        raise error
    observer.finished(summary)
    return summary


async def _save_through_signals(
    sheet: SheetProcess, summary: RunSummary, handle_signals: bool
) -> bool:
    """Write the rest of the results and the Summary sheet. A Ctrl-C or SIGTERM now has
    nothing in flight to stop: the save finishes, and the run counts as interrupted
    (True) rather than dying half-saved without its summary."""
    if not handle_signals:
        await anyio.to_thread.run_sync(sheet.finish, summary)
        return False
    late = False
    with stop_signals() as signals:

        async def note(signals: AsyncIterator[int]) -> None:
            nonlocal late
            async for _ in signals:
                late = True

        async with anyio.create_task_group() as saving:
            saving.start_soon(note, signals)
            await anyio.to_thread.run_sync(sheet.finish, summary)
            saving.cancel_scope.cancel()
    return late


def _sample(timeline: Timeline, now: float, live: LiveState) -> None:
    timeline.sample(
        now,
        limit=live.limit,
        in_flight=live.in_flight,
        breaker=live.breaker,
        pauses=live.pauses,
        paused_for=live.paused_for,
        requests=live.requests,
    )


def _log_row(outcome: Outcome) -> None:
    if outcome.category is None:
        runlog.event(
            logging.INFO,
            "row succeeded after retries",
            row=outcome.row.number,
            attempts=outcome.attempts,
        )
        return
    runlog.event(
        logging.WARNING,
        "row failed",
        row=outcome.row.number,
        category=outcome.category.value,
        http_status=outcome.http_status,
        message=outcome.message,
        attempts=outcome.attempts,
    )


def _policy_figures(policies: Policies, now: float) -> dict[str, int]:
    live = policies.live(now)
    return {
        "batch": live.batch,
        "requests": live.requests,
        "bisect_requests": live.bisections,
        "retries": live.retries,
        "throttled": live.throttled,
        "breaker_opened": live.breaker_opened,
        "concurrency_final": live.limit,
        "concurrency_max": live.concurrency_max,
    }
