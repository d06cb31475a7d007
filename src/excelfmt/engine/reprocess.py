"""Send rows that needed a person again, corrected, the way their session sent them.

The session's recorded settings (secrets read from the environment again) plan each
row's request from its stored cells with the corrections laid over them, and the same
engine as a run sends them: pool, rate limiter, breaker, retries. Each outcome goes to
the journal and to the stored error (reprocessed on success, updated on failure); the
results workbook is then rendered again from the journal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from ..calls.client import open_sender, sending
from ..calls.jobs import Planner
from ..calls.reply import Clock
from ..calls.responses import field_errors
from ..errors import ExcelfmtError, UsageError
from ..models import Job, JSONValue, Outcome, Row
from ..policies.resilience import Policies
from ..sending.bulk import handler_for
from ..sending.dispatch import Pace, dispatcher_for
from ..sending.pool import Deliver, Pool
from ..settings.config import Settings, recorded_settings
from ..sheets.coltypes import ColumnTypes
from ..sheets.export import export_results, session_output
from ..store import runlog
from ..store.folder import Store
from ..store.records import RowError, Session, now
from ..store.rowerrors import as_cells, describe_request, needs_a_person

if TYPE_CHECKING:
    import httpx


@dataclass
class Reprocessed:
    """What a reprocess did: each error as it now stands, and where the results went."""

    session: Session
    errors: list[RowError] = field(default_factory=list)
    """The errors sent, updated: state reprocessed when the row now succeeded."""
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    """What sending each of them again gave, by error id."""
    unsent: list[RowError] = field(default_factory=list)
    """Errors left unsent because the run stopped (the API stayed down)."""
    stopped: str | None = None
    output: Path | None = None
    """The results file rendered again, or None (then `output_problem` says why)."""
    output_problem: str | None = None

    @property
    def succeeded(self) -> int:
        return sum(e.state == "reprocessed" for e in self.errors)

    @property
    def failed(self) -> int:
        return len(self.errors) - self.succeeded


def corrected_values(
    error: RowError, corrections: Mapping[str, JSONValue], source: str
) -> dict[str, JSONValue]:
    """The error's cells with `corrections` laid over them; unknown columns are refused."""
    unknown = [name for name in corrections if name not in error.values]
    if unknown:
        raise UsageError(
            f"{source}: no column {unknown[0]!r} in the sheet of error {error.short_id}; "
            f"its columns are {', '.join(error.values)}."
        )
    return {**error.values, **corrections}


def fix_file_corrections(errors: Sequence[RowError], path: Path) -> dict[str, dict[str, JSONValue]]:
    """Corrections by error id: the cells of the fix workbook's rows (`errors export`),
    for the sheet's columns; its rows the person deleted are left out."""
    from ..sheets import fixbook

    return fix_corrections(errors, fixbook.read(path), str(path))


def fix_corrections(
    errors: Sequence[RowError], rows: Mapping[str, Mapping[str, JSONValue]], shown_as: str
) -> dict[str, dict[str, JSONValue]]:
    """`fix_file_corrections` of the rows a fix workbook held (`fixbook.read`), read
    elsewhere (serve reads uploads in a process of their own)."""
    corrections: dict[str, dict[str, JSONValue]] = {}
    for error in errors:
        cells = next((c for key, c in rows.items() if error.id.startswith(key)), None)
        if cells is not None:
            corrections[error.id] = {k: v for k, v in cells.items() if k in error.values}
    if rows and not corrections:
        raise UsageError(f"None of the error ids in {shown_as} is an open error of this session.")
    return corrections


def reprocess(
    store: Store,
    errors: Sequence[RowError],
    corrections: Mapping[str, Mapping[str, JSONValue]] | None = None,
    *,
    headers: tuple[str, ...] = (),
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.monotonic,
    progress: Callable[[int, int], None] | None = None,
    by: str | None = None,
) -> Reprocessed:
    """Send `errors` (all of one session) again, each with its `corrections` (by error id).

    Raises UsageError before anything is sent when they are not open errors of one
    session, or its settings cannot be rebuilt (a secret that was not stored).
    `progress(done, total)` hears of each batch of rows sent. The log names, for each
    row, the cells changed (old and new value, secrets masked) and `by`, who changed them.
    """
    if not errors:
        raise UsageError("No open errors to reprocess.")
    sessions = {e.session for e in errors}
    if len(sessions) != 1:
        raise UsageError("Reprocess the errors of one session at a time.")
    for error in errors:
        if error.state != "open":
            raise UsageError(
                f"Error {error.short_id} is already {error.state}; only open errors are sent again."
            )
    session = store.session(sessions.pop())
    settings = recorded_settings(session.settings, headers=headers)
    corrections = corrections or {}
    rows = {
        e.seq: (e, corrected_values(e, corrections.get(e.id, {}), f"Error {e.short_id}"))
        for e in errors
    }
    columns = list(errors[0].values)
    planner = Planner(settings, columns)
    # The corrected cells are text as people typed them: the column types apply again.
    types = ColumnTypes(settings.type, columns, settings.decimal_comma)
    jobs = [
        planner.plan(types.apply(Row(e.seq, e.row, as_cells(values))))
        for e, values in rows.values()
    ]
    result = Reprocessed(session)
    redact = settings.redactor()
    requests = {job.row.seq: describe_request(job, redact) for job in jobs}
    with store.lock(session.id), runlog.recording(store.log_path(session.id)):
        runlog.event(logging.INFO, "reprocess started", errors=len(jobs))
        journal = store.journal(session.id)
        try:

            async def deliver(outcomes: Sequence[Outcome]) -> None:
                # A few rows at a time, not a sheet: written in the loop, as they come,
                # so that an interrupted reprocess keeps what it did. A temporary failure
                # (the API down, busy) settles nothing: the journal keeps the row's
                # error, and the error stays open as it was.
                journal.record((o.row.seq, o.recorded) for o in outcomes if _settles(o))
                for outcome in outcomes:
                    error, values = rows[outcome.row.seq]
                    updated = _updated(error, values, outcome, requests[outcome.row.seq])
                    store.save_error(updated)
                    result.errors.append(updated)
                    result.outcomes[error.id] = outcome
                    _log(updated, outcome, changed_cells(error, values, redact), by)
                if progress is not None:
                    progress(len(result.errors), len(jobs))

            result.stopped = anyio.run(_send_all, settings, jobs, deliver, transport, clock)
        finally:
            journal.close()
        result.errors.sort(key=lambda e: e.seq)
        result.unsent = [e for e, _ in rows.values() if e.id not in result.outcomes]
        _render_results(store, result)
    return result


def _updated(
    error: RowError,
    values: dict[str, JSONValue],
    outcome: Outcome,
    request: dict[str, JSONValue] | None,
) -> RowError:
    """The error after its row was sent again: reprocessed, or what the API said now."""
    updated = replace(
        error,
        values=values,
        request=request or error.request,
        updated_at=now(),
        attempts=outcome.attempts,
    )
    if outcome.category is None:
        updated.state = "reprocessed"
    elif _settles(outcome):
        updated.category = outcome.category.value
        updated.http_status = outcome.http_status
        updated.message = outcome.message
        updated.fields = field_errors(outcome.response) if needs_a_person(outcome.category) else []
    return updated


def changed_cells(
    error: RowError, values: Mapping[str, JSONValue], redact: Callable[[str], str]
) -> dict[str, JSONValue]:
    """The cells a person corrected: {column: [old, new]}, each shown as the log shows
    any value (secrets masked)."""

    def shown(value: JSONValue) -> JSONValue:
        return redact(value) if isinstance(value, str) else value

    return {
        column: [shown(error.values.get(column)), shown(value)]
        for column, value in values.items()
        if value != error.values.get(column)
    }


def _log(error: RowError, outcome: Outcome, changed: dict[str, JSONValue], by: str | None) -> None:
    runlog.event(
        logging.INFO if outcome.ok else logging.WARNING,
        "row reprocessed" if outcome.ok else "row failed again",
        row=error.row,
        error=error.short_id,
        category=None if outcome.ok else outcome.status,
        http_status=outcome.http_status,
        message=outcome.message,
        changed=changed,
        by=by,
    )


def _settles(outcome: Outcome) -> bool:
    """Whether the outcome is the row's answer: success, or something for a person."""
    return outcome.ok or needs_a_person(outcome.category)


def _render_results(store: Store, result: Reprocessed) -> None:
    """Render the results again; a failure here is reported, not raised: the sends count."""
    session = result.session
    try:
        summary = export_results(store, session, session_output(session))
    except ExcelfmtError as exc:
        result.output_problem = str(exc)
        return
    result.output = summary.output
    counts = summary.to_json()
    for name in ("rows", "ok", "failed", "categories", "statuses", "top_errors"):
        session.summary[name] = counts[name]
    store.save(session)


@asynccontextmanager
async def _shared_pace(settings: Settings, clock: Clock) -> AsyncIterator[Pace | None]:
    """A session that used a queue keeps to the rate it shares with its workers."""
    if not settings.queue:
        yield None
        return
    from ..scaleout.queuedrun import QueueRun

    queued = QueueRun(settings, None, clock)
    try:
        yield queued.shared_pace
    finally:
        await queued.close()


async def _send_all(
    settings: Settings,
    jobs: Sequence[Job],
    deliver: Deliver,
    transport: httpx.AsyncBaseTransport | None,
    clock: Clock,
) -> str | None:
    """Send `jobs` through the run's engine; the reason it stopped early, if it did."""
    policies = Policies.from_settings(settings)
    redactor = settings.redactor()
    async with (
        sending(settings, open_sender(settings, transport, clock), redactor.learn) as sender,
        _shared_pace(settings, clock) as pace,
    ):
        dispatcher = dispatcher_for(
            settings, sender, policies, clock, redactor=redactor, shared_pace=pace
        )
        pool = Pool(handler_for(settings, dispatcher), deliver, settings.concurrency)

        async def stop_when_told() -> None:
            await dispatcher.stopping.wait()  # the API stayed down past --max-outage
            pool.stop()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(stop_when_told)
            await pool.run(iter(jobs))
            tasks.cancel_scope.cancel()
    return dispatcher.stop_reason
