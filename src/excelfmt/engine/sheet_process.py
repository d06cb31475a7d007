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

import multiprocessing
import sys
import threading
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import ExcelfmtError
from ..metrics.summary import RunSummary
from ..models import Job, Outcome
from ..settings.config import Settings
from .sheet_child import SheetInfo, serve
from .wire import (
    job_from_wire,
    outcome_to_wire,
)

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
            [
                "excelfmt.engine.sheet_child",
                "excelfmt.sheets.reader",
                "excelfmt.sheets.xlsxrows",  # and openpyxl
                "excelfmt.calls.jobs",
                "excelfmt.sheets.writer",
                "xlsxwriter",
            ]
        )
        return context
    return multiprocessing.get_context("spawn")


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
            target=serve,
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
