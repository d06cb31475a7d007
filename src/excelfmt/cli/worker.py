"""`excelfmt worker`: take batches from the queue and send their rows, on any host."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from .app import reported_errors
from .flags import SCALE, ConfigFile, LockDuration, Queue, setting_option
from .queue import queue_settings

METRICS = "Metrics"
EVERY_OFF_A_TERMINAL = 60.0
"""Seconds between a worker's progress lines in a log (journald, a container's output)."""


def worker_command(
    queue: Queue = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            metavar="N",
            show_default=False,
            rich_help_panel=SCALE,
            help="Requests in flight on this worker, for every run it serves "
            "(default: each run's own --concurrency).",
        ),
    ] = None,
    min_concurrency: Annotated[
        int | None,
        typer.Option(
            "--min-concurrency",
            metavar="N",
            show_default=False,
            rich_help_panel=SCALE,
            help="The least the adaptive limit goes down to on this worker.",
        ),
    ] = None,
    lock_duration: LockDuration = None,
    max_outage: Annotated[
        str | None,
        setting_option(
            "max_outage",
            SCALE,
            "Exit (3) when the queue's Redis stays unreachable this long; batches wait in "
            "Redis meanwhile, no row fails for it.",
            metavar="DURATION",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            metavar="PORT",
            show_default=False,
            rich_help_panel=METRICS,
            help="Serve Prometheus's metrics at http://HOST:PORT/metrics: rows by outcome, "
            "requests by status class, latency, in flight, the concurrency limit, batches "
            "taken, Redis connections lost.",
        ),
    ] = None,
    metrics_host: Annotated[
        str,
        typer.Option(
            "--metrics-host",
            metavar="HOST",
            rich_help_panel=METRICS,
            help="The address --metrics-port listens on; 0.0.0.0 for every interface.",
        ),
    ] = "127.0.0.1",
    config: ConfigFile = None,
) -> None:
    """Take batches of rows from the queue and send them, until stopped.

    Start one on each host that should send: `excelfmt worker --queue redis://host:6379/0`. Runs started with the same --queue hand their rows to every worker. Secrets are read from this host's environment (the variables each run names, such as its --auth-env); a worker that lacks one refuses the run's batches and the run says so.

    SIGTERM or Ctrl-C: no new batches; the rows in flight finish; the rest go back to the queue; exit 0.
    """  # noqa: E501 - rich help keeps line breaks, so paragraphs are single lines
    given = dict(locals())
    with reported_errors():
        from ..errors import UsageError
        from ..scaleout.service import serve
        from ..scaleout.worker import WorkerOptions
        from ..ui.worker import worker_reporter

        values = queue_settings(given, config)
        url = str(values["queue"])
        for name, value in (("--concurrency", concurrency), ("--min-concurrency", min_concurrency)):
            if value is not None and not 1 <= value <= 10_000:
                raise UsageError(f"{name} must be between 1 and 10000, got {value}.")
        if metrics_port is not None and not 1 <= metrics_port <= 65535:
            raise UsageError(f"--metrics-port must be between 1 and 65535, got {metrics_port}.")
        if concurrency and min_concurrency and min_concurrency > concurrency:
            raise UsageError(f"--min-concurrency ({min_concurrency}) is more than --concurrency.")
        options = WorkerOptions(
            concurrency=concurrency,
            min_concurrency=min_concurrency,
            lock_duration=float(values["lock_duration"]),  # type: ignore[arg-type]
            max_outage=float(values["max_outage"]),  # type: ignore[arg-type]
        )
        console = Console(stderr=True, highlight=False)
        report = worker_reporter(console, sys.stderr)
        every = 0.25 if console.is_terminal else EVERY_OFF_A_TERMINAL
        metrics = (metrics_host, metrics_port) if metrics_port is not None else None
        serve(url, options, report, every, metrics)
