"""The Typer application object and the one place exceptions become exit codes."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import typer

from .._version import __version__
from ..errors import ExcelfmtError, ExitCode
from .commands import LazyCommands

BUG_EXIT_CODE = 70  # EX_SOFTWARE: not a user's mistake, not a row's failure
CLOSED_PIPE_EXIT_CODE = 141  # 128 + SIGPIPE: what a shell shows for git or grep piped into head

app = typer.Typer(
    cls=LazyCommands,
    name="excelfmt",
    help="Send every row of an Excel workbook to an HTTP API, fast and politely, "
    "and account for every row.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"excelfmt {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Send every row of an Excel workbook to an HTTP API, and account for every row.

    Exit codes: 0 every row succeeded; 1 some rows failed (see the results file); 2 bad usage, settings or input file (nothing was sent); 3 stopped early; 130 interrupted; 70 a bug in excelfmt.
    """  # noqa: E501 - rich help keeps line breaks, so paragraphs are single lines


def log_folder() -> Path:
    from platformdirs import user_log_path

    return user_log_path("excelfmt", appauthor=False)


def _setup_logging() -> None:
    """Warnings and errors go to a log file, never to the terminal as tracebacks."""
    root = logging.getLogger("excelfmt")
    if any(getattr(h, "excelfmt_cli", False) for h in root.handlers):
        return  # a second command in the same process (tests) keeps the first handler
    if root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    try:
        folder = log_folder()
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(
            folder / "excelfmt.log", encoding="utf-8", delay=True
        )
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.excelfmt_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)


def _crash_report(exc: BaseException) -> Path | None:
    try:
        folder = log_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{datetime.now():%Y%m%d-%H%M%S}.log"
        text = "".join(traceback.format_exception(exc))
        path.write_text(f"excelfmt {__version__}\n{' '.join(sys.argv)}\n\n{text}", "utf-8")
    except OSError:
        return None
    return path


def fail(message: str, code: int) -> typer.Exit:
    """Print `message` as excelfmt's one line on stderr; return the Exit to raise."""
    typer.echo(f"excelfmt: {message}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Run a command body: errors become one sentence on stderr and an exit code."""
    _setup_logging()
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise  # the command line's own ways out (an exit code, "no" to a question)
    except ExcelfmtError as exc:
        raise fail(str(exc), int(exc.exit_code)) from None
    except KeyboardInterrupt:
        raise fail("interrupted.", int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        # The reader went away (`| head`, a pager quit): nothing is wrong, and no one is
        # left to tell. Point stdout at nothing, so that the flush at exit cannot fail too.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(CLOSED_PIPE_EXIT_CODE) from None
    except Exception as exc:
        logging.getLogger("excelfmt").exception("unexpected error")
        where = _crash_report(exc)
        detail = f"; details are in {where}" if where else ""
        raise fail(
            f"unexpected error ({type(exc).__name__}: {exc}). This is a bug in excelfmt{detail}.",
            BUG_EXIT_CODE,
        ) from None
