"""The composition root: workbook -> planner -> pool -> outcome sinks, for one run.

`run()` is what the CLI calls and what a Python user can call too. It knows nothing of
terminals: progress goes to an `Observer`, the result comes back as a RunSummary.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..metrics.summary import RunSummary
from ..sending.events import Observer, Observers, RunInfo, SilentObserver
from ..settings.config import Settings, default_output
from ..sheets.sniff import sniff
from ..store import sessions
from ..store.folder import Store
from ..store.records import Session
from ..store.timeseries import TimeseriesRecorder
from .sheet_process import SheetProcess

if TYPE_CHECKING:
    import httpx

    from ..calls.reply import Clock


def run(
    settings: Settings,
    input_path: Path,
    *,
    observer: Observer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.monotonic,
    handle_signals: bool = False,
    store: Store | None = None,
    resume: str | None = None,
) -> RunSummary:
    """Send every row of the sheet and write the results file; return the summary.

    Raises UsageError or InputError (exit code 2) before anything is sent when the
    settings or the workbook are wrong. With `handle_signals`, a first Ctrl-C or SIGTERM
    lets requests in flight finish and a second abandons them; the summary then says
    `interrupted`. With a `store`, the run is recorded as a session and each row's
    outcome in its journal; `resume` (a session id) continues that session: rows it
    settled are taken from its journal instead of being sent again.
    """
    output = settings.output or default_output(input_path)
    if output.resolve() == input_path.resolve():
        raise UsageError(
            f"The results file would overwrite the input {input_path}; choose another --output."
        )
    sniff(input_path)  # a missing or foreign file is reported before a process starts
    if settings.queue:
        from ..scaleout.queuedrun import check_queue_settings

        check_queue_settings(settings)
    if resume and not store:
        raise UsageError("Resuming a run needs the store it was recorded in.")
    if settings.cache_ttl and not store:
        raise UsageError("The response cache (cache_ttl) lives in the store; give one.")
    with ExitStack() as held:
        previous = store.session(resume) if store and resume else None
        if store and previous:
            held.enter_context(store.lock(previous.id))
        replay = store.journal_folder(previous.id) if store and previous else None
        session_id = (previous.id if previous else store.new_session_id()) if store else None
        errors_to = (store.folder, session_id) if store and session_id else None
        sheet = held.enter_context(SheetProcess(settings, input_path, output, replay, errors_to))
        # Forked before the sending side is imported: the child opens the workbook while
        # this process loads httpx, anyio and aiohttp (0.3 s and more), makes its sender
        # and reads the input's fingerprint; and the child carries none of them.
        from . import sendloop

        plain = sendloop.open_sender(settings, transport, clock)
        digest = sessions.fingerprint(input_path) if store else ""
        found = sheet.wait_ready()
        estimated = found.estimated_rows
        if estimated is not None and settings.limit is not None:
            estimated = min(estimated, settings.limit)
        session, journal = None, None
        if store:
            assert session_id is not None
            session, journal = held.enter_context(
                sessions.recorded(
                    store, session_id, previous, settings, input_path, found.sheet, digest
                )
            )
        cache = None
        if store and settings.cache_ttl:
            from ..store.responsecache import ResponseCache

            responses = store.responses()
            held.callback(responses.close)
            cache = ResponseCache(
                responses, settings.cache_ttl, settings.cache_methods, settings.capture
            )
        info = RunInfo(
            input_path,
            found.sheet,
            found.columns,
            estimated,
            output,
            settings.concurrency,
            session.id if session else None,
        )
        summary = sendloop.send(
            settings,
            info,
            sheet,
            journal,
            Observers(
                observer or SilentObserver(),
                *(_recorders(store, session) if store and session else []),
            ),
            plain,
            cache,
            clock,
            handle_signals,
        )
        if store and session:
            sessions.end(store, session, summary)
        return summary


def _recorders(store: Store, session: Session) -> list[Observer]:
    """What keeps a recorded run's progress (for `status`) and timeline (for `metrics`)."""
    return [
        sessions.ProgressRecorder(store, session),
        TimeseriesRecorder(store.journal_folder(session.id)),
    ]
