"""`excelfmt metrics [ID]`, `excelfmt metrics --since 7d` and `excelfmt report`: how runs
went, from the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..engine.metricsdata import hosts_metrics, session_metrics
from ..errors import UsageError
from ..settings.environment import store_folder
from ..store.folder import Store
from ..ui import metricsview
from ..ui.console import stdout_console
from ..ui.reportfile import write_report
from .app import reported_errors
from .arguments import JsonOption, LatestSession, StoreOption


def metrics_command(
    session_id: LatestSession = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DURATION",
            show_default=False,
            help="Instead: the runs of this long ago until now (7d, 12h), per API host.",
        ),
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """How a run went second by second (rows/s, latency, status codes, concurrency,
    pauses), or every API's runs over a period."""
    with reported_errors(), Store(store_folder(store)) as opened:
        if since is not None:
            if session_id is not None:
                raise UsageError("Give a session id or --since, not both.")
            data = hosts_metrics(opened, since)
            show = metricsview.print_hosts
        else:
            data = session_metrics(opened, session_id)
            show = metricsview.print_session
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        show(stdout_console(), data)


def report_command(
    session_id: LatestSession = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Where to write the page.", dir_okay=False
        ),
    ] = Path("report.html"),
    store: StoreOption = None,
) -> None:
    """One self-contained HTML page of how a run went: throughput, latency, concurrency,
    pauses and breaker periods over time, outcomes, top errors and settings."""
    with reported_errors():
        write_report(store_folder(store), session_id, output)
        print(f"Report written to {output}.")
