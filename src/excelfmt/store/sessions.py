"""A run's session: opened in the store when sending starts, closed with its summary.

Every run is recorded, whatever its end: finished (exit 0 or 1), stopped early (3),
interrupted (130), or failed (bad input found mid-sheet, a bug). The record holds what
is needed to recognise the run later: the input's path and content fingerprint, the
sheet, and the effective settings with secrets masked.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ExitCode, UsageError
from ..models import JSONValue
from . import runlog
from .folder import Store
from .records import Session

if TYPE_CHECKING:
    # Only a run (and `status --watch`) needs these at run time; `status` and
    # `sessions list` import this module too, and start faster without them.
    from ..metrics.counters import Snapshot
    from ..metrics.summary import RunSummary
    from ..policies.resilience import LiveState
    from ..settings.config import Settings
    from .journal import Journal

Clock = Callable[[], float]
PROGRESS_EVERY = 1.0
"""Seconds between progress records: `excelfmt status` is read by people, not machines."""

STATES = {
    ExitCode.OK: "finished",
    ExitCode.ROWS_FAILED: "finished",
    ExitCode.STOPPED: "stopped",
    ExitCode.INTERRUPTED: "interrupted",
}


def fingerprint(path: Path) -> str:
    """SHA-256 of the file's bytes (about 0.1 s for a 50 MB workbook)."""
    with path.open("rb") as file:
        return "sha256:" + hashlib.file_digest(file, "sha256").hexdigest()


def begin(
    store: Store, session_id: str, settings: Settings, input_path: Path, sheet: str, digest: str
) -> Session:
    session = Session(
        id=session_id,
        input=str(input_path.resolve()),
        fingerprint=digest,
        sheet=sheet,
        settings=settings.describe(),
        # to the millisecond: runs started in the same second still sort newest first
        started_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        pid=os.getpid(),
        output=_output(settings, input_path),
    )
    store.save(session)
    return session


def _output(settings: Settings, input_path: Path) -> str:
    from ..settings.config import default_output

    return str((settings.output or default_output(input_path)).resolve())


def resume(
    store: Store, session: Session, input_path: Path, digest: str, sheet: str, settings: Settings
) -> Session:
    """Continue `session`, if this input, sheet and these settings match the ones it read."""
    if session.fingerprint != digest:
        raise UsageError(
            f"{input_path} is not the file session {session.id} read "
            f"({session.input}): its content differs, so its rows cannot be matched "
            "to the journal. Start a new run instead of resuming."
        )
    if sheet != session.sheet:
        raise UsageError(
            f"Session {session.id} sent sheet '{session.sheet}', not '{sheet}'; "
            f"resume it with --sheet '{session.sheet}'."
        )
    for name in ("header_row", "limit", "delimiter", "encoding"):
        if session.settings.get(name) != getattr(settings, name):
            raise UsageError(
                f"Session {session.id} ran with {name} = {session.settings.get(name)}; "
                f"resume it with the same setting (now {getattr(settings, name)})."
            )
    session.state, session.finished_at, session.pid = "running", None, os.getpid()
    session.output = _output(settings, input_path)
    store.save(session)
    return session


def end(store: Store, session: Session, summary: RunSummary) -> None:
    session.state = STATES[summary.exit_code]
    session.finished_at = summary.finished_at.isoformat(timespec="seconds")
    session.summary = summary.to_json()
    store.save(session)
    m = summary.metrics
    runlog.event(
        logging.INFO,
        f"run {session.state}",
        rows=m.done,
        ok=m.ok,
        failed=m.failed,
        exit_code=int(summary.exit_code),
        stopped=summary.stopped,
    )


def fail(store: Store, session: Session, reason: str) -> None:
    session.state = "failed"
    session.finished_at = _now()
    session.summary = {"error": reason}
    store.save(session)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def unknown_outcomes(store: Store, session: Session) -> list[int]:
    """Row numbers sent, perhaps, by a run that died before recording their outcome."""
    if is_running(store, session):
        return []  # still in flight, not unknown
    journal = store.journal(session.id)
    try:
        return journal.unknown()
    finally:
        journal.close()


def is_running(store: Store, session: Session) -> bool:
    """Whether the session's run is going now: recorded as running, and its lock held.

    The lock, not the pid: the system drops it when the process dies, and a pid may
    have been given to another process since (and there is no portable way to ask
    whether a pid is alive without touching that process)."""
    return session.state == "running" and store.is_locked(session.id)


def shown_state(store: Store, session: Session) -> str:
    """The state to show: a run recorded as running whose process is gone crashed."""
    return settled(store, session).state


def settled(store: Store, session: Session) -> Session:
    """The session as it stands: a record read as running whose lock is free is read
    again (the run may have ended between the read and the look at its lock), and shown
    as crashed if it still says running."""
    if session.state != "running" or store.is_locked(session.id):
        return session
    fresh = store.session(session.id)
    if fresh.state == "running":
        fresh.state = "crashed"
    return fresh


def prune(store: Store, older_than: float, *, dry_run: bool = False) -> tuple[list[Session], int]:
    """Delete the sessions that started more than `older_than` seconds ago, with their
    journals, logs and errors; a run still going is kept. Return them and the errors."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
    old = [
        s
        for s in store.sessions()
        if datetime.fromisoformat(s.started_at) < cutoff and not is_running(store, s)
    ]
    errors = [e.id for session in old for e in store.errors(session.id)]
    if not dry_run:
        store.delete_errors(errors)
        for session in old:
            store.delete_session(session.id)
    return old, len(errors)


class ProgressRecorder:
    """An observer of a run that keeps its progress in the session, for `excelfmt status`."""

    def __init__(self, store: Store, session: Session, clock: Clock = time.monotonic) -> None:
        self._store, self._session, self._clock = store, session, clock
        self._estimated: int | None = None
        self._next = 0.0
        self._live: LiveState | None = None

    def started(self, info: object) -> None:
        self._estimated = getattr(info, "estimated_rows", None)

    def progressed(self, snapshot: Snapshot, live: LiveState) -> None:
        now = self._clock()
        if now < self._next:
            return
        self._next = now + PROGRESS_EVERY
        self._save(snapshot, live)

    def _save(self, snapshot: Snapshot, live: LiveState) -> None:
        self._live = live
        self._session.progress = {
            "done": snapshot.done,
            "estimated_rows": self._estimated,
            "ok": snapshot.ok,
            "failed": snapshot.failed,
            "resumed": snapshot.resumed,
            "rows_per_s": round(snapshot.rows_per_second, 1),
            "elapsed_s": round(snapshot.elapsed, 1),
            "in_flight": live.in_flight,
            "limit": live.limit,
            "breaker": live.breaker,
            "paused": live.paused,
            "retries": live.retries,
            "throttled": live.throttled,
            "batch": live.batch,
            "requests": live.requests,
            "updated_at": _now(),
            # All of it, for `status --watch` to draw the run's dashboard from here.
            "board": board_record(snapshot, live),
        }
        self._store.save(self._session)

    def stopping(self, in_flight: int, reason: str | None) -> None:
        pass

    def noticed(self, text: str) -> None:
        pass

    def finished(self, summary: RunSummary) -> None:
        if self._live is not None:  # the last second, for a dashboard watching the end
            figures = summary.policies or {}
            live = replace(
                self._live,
                requests=figures.get("requests", self._live.requests),
                bisections=figures.get("bisect_requests", self._live.bisections),
            )
            self._save(summary.metrics, live)


def board_record(snapshot: Snapshot, live: LiveState) -> dict[str, JSONValue]:
    """What a dashboard needs of a run's moment, as JSON (`board_of` reads it back)."""
    return {
        "snapshot": {name: value for name, value in asdict(snapshot).items() if name != "closed"},
        "live": asdict(live),
    }


def board_of(progress: dict[str, JSONValue]) -> tuple[Snapshot, LiveState] | None:
    """A run's last snapshot and policies as its ProgressRecorder saved them; None for a
    run recorded before sessions kept them."""
    from ..metrics.counters import Snapshot
    from ..metrics.timeline import Recent
    from ..policies.resilience import LiveState

    board: Any = progress.get("board")  # JSON as saved above
    if not isinstance(board, dict):
        return None
    snapshot: dict[str, Any] = dict(board["snapshot"])
    live: dict[str, Any] = dict(board["live"])
    recent = snapshot.pop("recent", None)
    if isinstance(recent, dict):
        # Boards saved before the tally kept the run's codes and messages in `recent`.
        snapshot.setdefault("statuses", recent.get("statuses", ()))
        snapshot.setdefault("top_errors", recent.get("messages", ()))
        snapshot["recent"] = Recent(
            rows_per_second=recent["rows_per_second"],
            ok_latency=_triple(recent["ok_latency"]),
            failed_latency=_triple(recent["failed_latency"]),
            bars=tuple((ok, failed) for ok, failed in recent["bars"]),
            requests_per_second=recent.get("requests_per_second", 0.0),
        )
    for name in ("statuses", "top_errors"):
        snapshot[name] = tuple((key, n) for key, n in snapshot.get(name, ()))
    live["retry_budget"] = tuple(live["retry_budget"])
    return Snapshot(**snapshot), LiveState(**live)


def _triple(values: list[float] | None) -> tuple[float, float, float] | None:
    return None if values is None else (values[0], values[1], values[2])


@contextlib.contextmanager
def recorded(
    store: Store,
    session_id: str,
    previous: Session | None,
    settings: Settings,
    input_path: Path,
    sheet: str,
    digest: str,
) -> Iterator[tuple[Session, Journal]]:
    """Record a run as session `session_id` (continuing `previous`, if resuming): hold
    its lock, open its journal and log; mark it failed if the block raises."""
    with contextlib.ExitStack() as held:
        if previous:
            session = resume(store, previous, input_path, digest, sheet, settings)
        else:
            # The lock first: a session recorded as running whose lock is free reads as
            # crashed to `status` and serve, which may look in between.
            held.enter_context(store.lock(session_id))
            session = begin(store, session_id, settings, input_path, sheet, digest)
        journal = store.journal(session.id)
        held.callback(journal.close)
        held.enter_context(runlog.recording(store.log_path(session.id)))
        runlog.event(
            logging.INFO,
            "run resumed" if previous else "run started",
            input=session.input,
            sheet=sheet,
            pid=session.pid,
        )
        try:
            yield session, journal
        except BaseException as exc:
            reason = str(exc) or type(exc).__name__
            runlog.event(logging.ERROR, "run failed", reason=reason)
            fail(store, session, reason)
            raise


RESUMABLE = ("interrupted", "stopped", "crashed", "failed")


def unfinished(store: Store, digest: str, sheet: str | None) -> Session | None:
    """The newest run on this very content (and sheet, if named) that did not finish."""
    return _newest_on(store, digest, sheet, RESUMABLE)


def finished(store: Store, digest: str, sheet: str | None) -> Session | None:
    """The newest run on this very content (and sheet, if named) that sent every row."""
    return _newest_on(store, digest, sheet, ("finished",))


def _newest_on(
    store: Store, digest: str, sheet: str | None, states: tuple[str, ...]
) -> Session | None:
    for session in store.sessions(digest, sheet):
        if shown_state(store, session) in states:
            return session
    return None
