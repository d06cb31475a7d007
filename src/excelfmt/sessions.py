"""A run's session: opened in the store when sending starts, closed with its summary.

Every run is recorded, whatever its end: finished (exit 0 or 1), stopped early (3),
interrupted (130), or failed (bad input found mid-sheet, a bug). The record holds what
is needed to recognise the run later: the input's path and content fingerprint, the
sheet, and the effective settings with secrets masked.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

from .config import Settings
from .errors import ExitCode, UsageError
from .store import Session, Store
from .summary import RunSummary

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
        started_at=_now(),
        pid=os.getpid(),
    )
    store.save(session)
    return session


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
    for name in ("header_row", "limit"):
        if session.settings.get(name) != getattr(settings, name):
            raise UsageError(
                f"Session {session.id} ran with {name} = {session.settings.get(name)}; "
                f"resume it with the same setting (now {getattr(settings, name)})."
            )
    session.state, session.finished_at, session.pid = "running", None, os.getpid()
    store.save(session)
    return session


def end(store: Store, session: Session, summary: RunSummary) -> None:
    session.state = STATES[summary.exit_code]
    session.finished_at = summary.finished_at.isoformat(timespec="seconds")
    session.summary = summary.to_json()
    store.save(session)


def fail(store: Store, session: Session, reason: str) -> None:
    session.state = "failed"
    session.finished_at = _now()
    session.summary = {"error": reason}
    store.save(session)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
