"""The Excel side of a run — reading, planning, writing results — in a process of its own.

    parent (HTTP side)                              child (Excel side)
    SheetProcess.start() ─────────────────────────▶ open sheet, build Planner and writer
               ◀──────────────── ("ready", info) or ("error", ExcelfmtError)
    jobs()  ◀────────────── ("jobs", [Job...]) ...  reader thread: rows -> jobs, in chunks
    add()   ─── ("outcomes", [(seq, ...)]) ───────▶ reorder, write rows as they complete
    finish() ── ("finish", RunSummary) ───────────▶ write the rest and the Summary sheet
               ◀──────────────── ("written", peak RSS) or ("error", ...)

Parsing a workbook and writing one are CPU work that, in the same process, would share
the interpreter lock with the event loop and cost it a fifth of its time per row (see
docs/performance.md). In a second process they run beside it. Jobs and outcomes travel
as plain tuples (wire.py), without the row's values, which only the Excel side needs.
The child ignores Ctrl-C and SIGTERM (the parent decides how to stop) and exits when
the parent's end of the pipe closes, so it never outlives a killed run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import ExcelfmtError, OutputError, UsageError
from .models import Job, Outcome, Row
from .retry import RETRYABLE
from .summary import RunSummary
from .wire import (
    JobWire,
    OutcomeWire,
    job_from_wire,
    job_to_wire,
    outcome_from_wire,
    outcome_to_wire,
)

if TYPE_CHECKING:
    from .jobs import Planner
    from .store import Journal

CHUNK_ROWS = 256
"""Jobs per message: large enough to amortise pickling, small enough to keep memory flat."""
READY_TIMEOUT = 600.0
"""Seconds to wait for the child to open the workbook (a huge shared-strings table)."""


def _context() -> Any:
    """fork when it is safe (one thread, Linux): instant; else a fork server or spawn."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # The fork server imports these once; each child then starts warm.
        context.set_forkserver_preload(
            [__name__, "excelfmt.reader", "excelfmt.jobs", "excelfmt.writer", "xlsxwriter"]
        )
        return context
    return multiprocessing.get_context("spawn")


class SheetInfo:
    """What the child found in the workbook: what the run is about to read."""

    def __init__(self, sheet: str, columns: tuple[str, ...], estimated_rows: int | None):
        self.sheet, self.columns, self.estimated_rows = sheet, columns, estimated_rows


class SheetProcess:
    """The parent's handle on the Excel side; a context manager that always reaps it."""

    def __init__(
        self,
        settings: Settings,
        input_path: Path,
        output: Path,
        replay: Path | None = None,
        errors_to: tuple[Path, str] | None = None,
    ) -> None:
        """`replay`: the journal of the run being resumed; its settled rows are not sent.
        `errors_to`: the store's folder and the session id under which rows that need a
        person are kept (the Excel side has their cells)."""
        context = _context()
        self._jobs_in, jobs_out = context.Pipe(duplex=False)
        outcomes_in, self._outcomes_out = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve,
            args=(
                jobs_out,
                outcomes_in,
                (self._jobs_in, self._outcomes_out),
                settings,
                input_path,
                output,
                replay,
                errors_to,
            ),
            name="excelfmt-sheet",
            daemon=True,
        )
        self._child_ends = (jobs_out, outcomes_in)
        self._finished = False
        self.info: SheetInfo | None = None
        self.peak_rss_mib: float | None = None

    def __enter__(self) -> SheetProcess:
        self._process.start()
        for end in self._child_ends:
            end.close()  # so that the child's exit shows here as end-of-file
        return self

    def wait_ready(self) -> SheetInfo:
        """Wait until the child has opened the workbook; raise what it found wrong."""
        kind, payload = self._receive(self._jobs_in, READY_TIMEOUT)
        if kind != "ready":
            raise _unexpected(kind)
        info: SheetInfo = payload
        self.info = info
        return info

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._finished:
            # The results file is left as it was: closing the pipe tells the child so.
            self._outcomes_out.close()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._jobs_in.close()

    def jobs(self) -> Iterator[Job]:
        """The planned jobs, in order. Blocking: run it in a worker thread."""
        while True:
            kind, payload = self._receive(self._jobs_in)
            if kind == "jobs":
                yield from map(job_from_wire, payload)
            elif kind == "end":
                return
            else:
                raise _unexpected(kind)

    def add(self, outcomes: Sequence[Outcome]) -> None:
        """Hand finished rows to the writer. Blocking: run it in a worker thread."""
        self._send(("outcomes", list(map(outcome_to_wire, outcomes))))

    def finish(self, summary: RunSummary) -> None:
        """Write the rest of the results and the summary; raise what the child raised."""
        self._send(("finish", summary))
        self._finished = True
        kind, payload = self._receive(self._jobs_in, READY_TIMEOUT, skip=("jobs", "end"))
        if kind != "written":
            raise _unexpected(kind)
        self.peak_rss_mib = payload

    def _send(self, message: tuple[str, Any]) -> None:
        try:
            self._outcomes_out.send(message)
        except OSError:  # the child is gone; what it said last explains why
            self._receive(self._jobs_in, 1.0, skip=("jobs", "end", "ready", "written"))
            raise self._stopped() from None

    def _stopped(self) -> ExcelfmtError:
        self._process.join(2)
        code = self._process.exitcode
        how = f"killed by signal {-code}" if code and code < 0 else f"exit code {code}"
        return ExcelfmtError(
            f"The workbook process stopped unexpectedly ({how}; out of memory?); "
            "the rows not yet recorded were not written to the results file."
        )

    def _receive(
        self, conn: Connection, timeout: float | None = None, skip: tuple[str, ...] = ()
    ) -> tuple[str, Any]:
        while True:
            if timeout is not None and not conn.poll(timeout):
                raise ExcelfmtError("The workbook process did not answer in time.")
            try:
                kind, payload = conn.recv()
            except EOFError:
                raise self._stopped() from None
            if kind == "error":
                raise payload
            if kind == "crash":
                raise RuntimeError(f"in the workbook process:\n{payload}")
            if kind not in skip:
                return kind, payload


def _unexpected(kind: str) -> RuntimeError:
    return RuntimeError(f"unexpected message from the workbook process: {kind!r}")


def peak_rss_mib() -> float | None:
    """This process's peak resident memory, where the platform tells."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the child ------------------------------------------------------------------------


def _serve(
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
    from .jobs import Planner
    from .reader import OpenSheet
    from .store import Journal, Store
    from .writer import open_results

    send_lock = threading.Lock()
    finishing = threading.Event()

    def send(message: tuple[str, Any]) -> None:
        with send_lock:
            jobs_out.send(message)

    try:
        with OpenSheet(input_path, settings.sheet, settings.header_row) as sheet:
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
        from .rowerrors import needs_a_person, row_error

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
