"""`excelfmt metrics [ID]`, `excelfmt metrics --since 7d` and `excelfmt report`: how runs
went, from the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from ..metrics.digest import api_host, hosts_json, session_json
from ..models import JSONValue
from ..settings.converters import as_duration
from ..settings.environment import store_folder
from ..store import sessions
from ..store.folder import Store
from ..store.records import Session
from ..store.timeseries import read_timeseries
from ..ui import metricsview
from ..ui.console import stdout_console
from ..ui.report import render_report
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
            data = _hosts(opened, since)
            show = metricsview.print_hosts
        else:
            data = session_metrics(opened, session_id)
            show = metricsview.print_session
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        show(stdout_console(), data)


def session_metrics(store: Store, session_id: str | None) -> dict[str, JSONValue]:
    """One session's metrics (the latest session's without an id)."""
    session = store.session_or_latest(session_id)
    return session_json(_about(store, session), read_timeseries(store.journal_folder(session.id)))


def _about(store: Store, session: Session) -> dict[str, JSONValue]:
    return {
        "session": session.id,
        "input": session.input,
        "sheet": session.sheet,
        "api_host": api_host(session.settings.get("url")),
        "state": sessions.shown_state(store, session),
        "started_at": session.started_at,
        "finished_at": session.finished_at,
        "settings": session.settings,  # recorded with secrets masked
    }


def _hosts(store: Store, since: str) -> dict[str, JSONValue]:
    try:
        seconds = as_duration(0, allow_minimum=False)(since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}.") from None
    cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
    chosen = [s for s in store.sessions() if datetime.fromisoformat(s.started_at) >= cutoff]
    return hosts_json(
        since,
        (
            (api_host(s.settings.get("url")), read_timeseries(store.journal_folder(s.id)))
            for s in chosen
        ),
    )


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


def write_report(store: Path, session_id: str | None, output: Path) -> None:
    """Write the HTML report of a session (the latest without an id) to `output`."""
    with Store(store) as opened:
        data = session_metrics(opened, session_id)
        messages = sessions.top_messages(opened.session(str(data["session"])).progress)
    page = render_report(data, messages)
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot write the report to {output}: {exc.strerror}.") from None
