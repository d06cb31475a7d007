"""The command line: a thin shell over excelfmt's library. The only package importing typer.

Each command group lives in its own module; exceptions become exit codes in one place,
`app.reported_errors`, which every command body runs inside.
"""

from __future__ import annotations

from .app import app
from .bench import bench_command
from .check import check_command
from .errors import errors_app, export_command, resolve_command
from .metrics import metrics_command, report_command
from .queue import queue_app
from .reprocess import reprocess_command
from .run import run_command
from .sessions import logs_command, sessions_app, status_command
from .worker import worker_command

app.command("run", no_args_is_help=True)(run_command)
app.command("check", no_args_is_help=True)(check_command)
app.command("status")(status_command)
app.command("logs")(logs_command)
app.command("export", no_args_is_help=True)(export_command)
app.command("reprocess", no_args_is_help=True)(reprocess_command)
app.command("resolve", no_args_is_help=True)(resolve_command)
app.command("worker")(worker_command)
app.command("bench", no_args_is_help=True)(bench_command)
app.command("metrics")(metrics_command)
app.command("report")(report_command)
app.add_typer(sessions_app, name="sessions")
app.add_typer(errors_app, name="errors")
app.add_typer(queue_app, name="queue")


def main() -> None:
    """Entry point of the `excelfmt` script and `python -m excelfmt`."""
    app(prog_name="excelfmt")


__all__ = ["app", "main"]
