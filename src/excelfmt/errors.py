"""The program's errors: each one a sentence for a person and an exit code for cron.

A failed *row* never raises: it becomes an `Outcome`. These exceptions are for the run
as a whole, and become exit codes in exactly one place (`excelfmt.cli`)::

    ExcelfmtError                 exit 1, never raised directly
    ├── UsageError                exit 2: a wrong flag, setting or config file
    │   └── TemplateError         a template names a column the sheet does not have
    ├── InputError                exit 2: the workbook cannot be read as asked
    ├── OutputError               exit 1: the results file could not be written
    ├── RunStopped                exit 3: the run stopped early and can be resumed
    └── Interrupted               exit 130: Ctrl-C or SIGTERM
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes a cron job can rely on (see ARCHITECTURE.md)."""

    OK = 0
    ROWS_FAILED = 1
    BAD_INPUT = 2
    STOPPED = 3
    INTERRUPTED = 130


class ExcelfmtError(Exception):
    """Root of every error excelfmt raises on purpose; `str()` is the sentence to show."""

    exit_code: ExitCode = ExitCode.ROWS_FAILED


class UsageError(ExcelfmtError):
    """A flag, setting or config file is wrong; nothing was sent."""

    exit_code = ExitCode.BAD_INPUT


class TemplateError(UsageError):
    """A URL, header or body template does not fit the sheet; nothing was sent."""


class InputError(ExcelfmtError):
    """The workbook is missing, unreadable, or has no usable header."""

    exit_code = ExitCode.BAD_INPUT


class OutputError(ExcelfmtError):
    """The results file could not be written (disk full, folder removed, ...)."""


class RunStopped(ExcelfmtError):
    """The run stopped before the end on purpose; what finished is recorded."""

    exit_code = ExitCode.STOPPED


class Interrupted(ExcelfmtError):
    """The user (or the system) asked the run to stop."""

    exit_code = ExitCode.INTERRUPTED


@contextmanager
def plain_errors() -> Iterator[None]:
    """Task groups wrap errors in groups; the caller gets the ExcelfmtError itself, so a
    stop or a refusal inside a run's or a worker's tasks still reads as its sentence."""
    try:
        yield
    except BaseExceptionGroup as group:
        errors = [e for e in _leaves(group) if isinstance(e, Exception)]
        if errors and all(isinstance(e, ExcelfmtError) for e in errors):
            raise errors[0] from group
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return found
