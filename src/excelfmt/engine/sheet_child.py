"""The Excel side of a run, in a process of its own: read rows, plan jobs, write results.

sheet_process.py is the parent's handle on it and draws the conversation. This module is
what the child runs: a reader thread turns rows into jobs and sends them in chunks; the
main thread receives outcomes, writes them in input order and keeps the rows that need
a person; at "finish" it writes the rest and the Summary sheet.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ExcelfmtError, OutputError, UsageError
from ..models import Job, Outcome, Row
from ..policies.retry import RETRYABLE
from ..settings.config import Settings
from .wire import JobWire, OutcomeWire, job_to_wire, outcome_from_wire

if TYPE_CHECKING:
    from ..calls.jobs import Planner
    from ..store.journal import Journal

CHUNK_ROWS = 256
"""Jobs per message: large enough to amortise pickling, small enough to keep memory flat."""


class SheetInfo:
    """What the child found in the workbook: what the run is about to read."""

    def __init__(self, sheet: str, columns: tuple[str, ...], estimated_rows: int | None):
        self.sheet, self.columns, self.estimated_rows = sheet, columns, estimated_rows


def peak_rss_mib() -> float | None:
    """This process's peak resident memory, where the platform tells.

    On Linux from VmHWM, not getrusage: the kernel carries ru_maxrss across exec, so a
    run started by a process holding 150 MiB would report 150 MiB of its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # not Linux
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS


def serve(
    jobs_out: Connection,
    outcomes_in: Connection,
    parent_ends: tuple[Connection, Connection],
    settings: Settings,
    input_path: Path,
    output: Path,
    replay: Path | None,
    errors_to: tuple[Path, str] | None,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # A forked child inherits the parent's ends of the pipes too. Closed here, the
    # parent's death (even by kill -9) shows as end-of-file and this process ends.
    for end in parent_ends:
        end.close()
    # Imported here, not at the top: the parent never reads or writes a workbook, and
    # the child loads these while the parent sets up its HTTP side.
    from ..calls.jobs import Planner
    from ..sheets.reader import open_sheet
    from ..sheets.writer import open_results
    from ..store.folder import Store
    from ..store.journal import Journal

    send_lock = threading.Lock()
    finishing = threading.Event()

    def send(message: tuple[str, Any]) -> None:
        with send_lock:
            jobs_out.send(message)

    try:
        with open_sheet(input_path, settings) as sheet:
            planner = Planner(settings, sheet.columns)
            try:
                writer = open_results(output, sheet.columns, settings.capture)
            except OSError as exc:
                raise UsageError(
                    f"Cannot write the results file {output}: {exc.strerror or exc}."
                ) from None
            try:
                send(("ready", SheetInfo(sheet.name, sheet.columns, sheet.estimated_rows)))
                pending: dict[int, Row] = {}
                journal = Journal(replay) if replay else None
                reader = threading.Thread(
                    target=_read,
                    args=(sheet.rows(settings.limit), planner, journal, pending, send, finishing),
                    daemon=True,
                )
                reader.start()
                errors = (
                    _ErrorKeeper(
                        Store(errors_to[0]), errors_to[1], sheet.columns, planner, settings
                    )
                    if errors_to
                    else None
                )
                # The journal stays open until this process ends: the reader thread may
                # still be reading ahead when writing stops.
                try:
                    _write(outcomes_in, writer, errors, pending, send, finishing)
                finally:
                    if errors is not None:
                        errors.close()
            except BaseException:
                writer.discard()
                raise
    except ExcelfmtError as exc:
        _send_quietly(send, ("error", exc))
    except Exception:
        _send_quietly(send, ("crash", traceback.format_exc()))


def _read(
    rows: Iterator[Row],
    planner: Planner,
    journal: Journal | None,
    pending: dict[int, Row],
    send: Any,
    finishing: threading.Event,
) -> None:
    """Plan rows into jobs and send them in chunks; the pipe's buffer paces this thread."""
    chunk: list[JobWire] = []
    try:
        for row in rows:
            if finishing.is_set():
                return  # the run stopped early: read no further
            recorded = journal.get(row.seq) if journal else None
            if recorded is not None and recorded[0] not in RETRYABLE:
                # Settled in the run being resumed: replayed into the results, not sent.
                # Temporary failures (429, 5xx, network) are tried again.
                job = Job(row, "", "", (), None, recorded=recorded)
            else:
                job = planner.plan(row)
            pending[row.seq] = row
            chunk.append(job_to_wire(job))  # the values stay here, with the writer
            if len(chunk) >= CHUNK_ROWS:
                send(("jobs", chunk))
                chunk = []
        if chunk:
            send(("jobs", chunk))
        send(("end", None))
    except ExcelfmtError as exc:
        if chunk:
            _send_quietly(send, ("jobs", chunk))
        _send_quietly(send, ("error", exc))
    except (BrokenPipeError, EOFError, OSError):
        pass  # the parent is gone or has stopped reading: nothing left to do


class _ErrorKeeper:
    """Keeps the rows that need a person in the store, with their cells and request."""

    def __init__(
        self,
        store: Any,
        session_id: str,
        columns: Sequence[str],
        planner: Planner,
        settings: Settings,
    ) -> None:
        self._store, self._session, self._columns = store, session_id, columns
        self._planner, self._redact = planner, settings.redactor()

    def keep(self, outcomes: Sequence[Outcome]) -> None:
        from ..store.rowerrors import needs_a_person, row_error

        found = [
            # The request is planned again from the cells: only failures pay for it.
            row_error(self._session, o, self._columns, self._planner.plan(o.row), self._redact)
            for o in outcomes
            if needs_a_person(o.category)
        ]
        if found:
            # A replayed row's error is already kept (perhaps resolved since): left as is.
            self._store.add_errors(found)

    def close(self) -> None:
        self._store.close()


def _write(
    outcomes_in: Connection,
    writer: Any,
    errors: _ErrorKeeper | None,
    pending: dict[int, Row],
    send: Any,
    finishing: threading.Event,
) -> None:
    while True:
        try:
            kind, payload = outcomes_in.recv()
        except EOFError:  # the parent stopped without finishing: leave no results file
            writer.discard()
            return
        try:
            if kind == "outcomes":
                wires: list[OutcomeWire] = payload
                outcomes = [outcome_from_wire(w, pending.pop(w[0])) for w in wires]
                if errors is not None:
                    errors.keep(outcomes)
                writer.add(outcomes)
            elif kind == "finish":
                finishing.set()
                writer.finish(payload)
                send(("written", peak_rss_mib()))
                return
        except OSError as exc:
            raise OutputError(
                f"Writing the results file {writer.path} failed: {exc.strerror or exc}."
            ) from exc


def _send_quietly(send: Any, message: tuple[str, Any]) -> None:
    with contextlib.suppress(OSError, EOFError):  # the parent is gone: no one to tell
        send(message)
