"""The web console's pages: server-rendered HTML over the same store and routes as the API.

    GET  /login, POST /login, POST /logout      (loginpages.py) the cookie, from a token
    GET  /                                     runs, newest first, paged, filtered
    GET  /runs/{id}                            a run: live over /api/sessions/{id}/events
    GET  /runs/{id}/errors                     (errorspage.py) the grid of rows that need a person
    GET  /runs/{id}/log                        its log
    GET  /new                                  start a run (an operator's)

Every page needs a login; an action on a page is a call to the JSON API from
static/console.js with the CSRF token the page carries, so the server checks the role
on the action itself, whatever the page shows. Pages are made for the CSP in CSP: no
inline script or style, nothing from another origin.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from ..store import runlog
from ..store import sessions as records
from ..store.folder import Store
from ..store.records import Session
from ..store.runfigures import run_figures
from ..store.timeseries import read_timeseries
from .access import (
    operator,
    viewer,
)
from .api_runs import options_of, store_of
from .pagerender import render
from .problems import Problem, found
from .runchart import rate_bars
from .tokens import Identity

router = APIRouter(include_in_schema=False)
RUN_STATES = ("running", "finished", "stopped", "interrupted", "crashed", "failed")
PAGE = 50
NONE = "-"
"""Shown for a figure a run does not have (yet)."""
EVERY = 1.0
"""Seconds between a running run's updates on its page."""


class LoginNeeded(Exception):
    def __init__(self, target: str) -> None:
        self.target = target


def page_viewer(request: Request) -> Identity:
    """The identity behind a page request; without one, a redirect to the login form."""
    try:
        return viewer(request)
    except Problem as exc:
        if exc.status != 401:
            raise
        raise LoginNeeded(str(request.url.path)) from None


def page_operator(request: Request) -> Identity:
    return operator(page_viewer(request))


async def login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginNeeded)
    return RedirectResponse(f"/login?next={exc.target}", status_code=303)


@router.get("/", dependencies=[Depends(page_viewer)])
def runs_page(request: Request, state: str = "", file: str = "", offset: int = 0) -> HTMLResponse:
    offset = max(0, offset)
    with store_of(request) as store:
        chosen = []
        for session in store.sessions():
            if file and file.lower() not in Path(session.input).name.lower():
                continue
            session = records.settled(store, session)
            if state and session.state != state:
                continue
            chosen.append(session)
    runs = [run_row(s) for s in chosen[offset : offset + PAGE]]

    def link(at: int) -> str:
        return f"/?state={state}&file={file}&offset={at}"

    more = offset + PAGE < len(chosen)
    return render(request, "runs.html", title="Runs", runs=runs, states=RUN_STATES,
                  state=state, file=file, total=f"{len(chosen):,}",
                  shown=f"{offset + 1:,} to {offset + len(runs):,}",
                  previous=link(max(0, offset - PAGE)) if offset else None,
                  following=link(offset + PAGE) if more else None)  # fmt: skip


def run_row(session: Any) -> dict[str, Any]:
    from ..metrics.digest import api_host

    figures = session.summary or session.progress
    return {
        "id": session.id,
        "started_at": session.started_at,
        "state": session.state,
        "file": Path(session.input).name,
        "sheet": session.sheet,
        "api": api_host(session.settings.get("url")),
        "ok": f"{int(figures.get('ok') or 0):,}",
        "failed": f"{int(figures.get('failed') or 0):,}",
        "rows_per_s": f"{float(figures.get('rows_per_s') or 0):,.1f}",
    }


@router.get("/runs/{session_id}", dependencies=[Depends(page_viewer)])
def run_page(request: Request, session_id: str) -> HTMLResponse:
    with store_of(request) as store:
        session = records.settled(store, found(lambda: store.session(session_id)))
        run = {**run_row(session), **live_figures(store, session)}
    return render(request, "run.html", title=run["file"], run=run)


def live_figures(store: Store, session: Session) -> dict[str, Any]:
    """What a run's page shows of it now (also each event of its live stream): its
    counts from run_figures, as `status --json` has them; its pace from its progress."""
    figures = run_figures(store, session)
    bars = rate_bars(read_timeseries(store.journal_folder(session.id)))
    progress, summary = session.progress, session.summary
    board = records.board_of(progress)
    recent = board[0].recent if board else None
    running = session.state == "running"
    done, ok = figures.rows, figures.ok
    estimated = progress.get("estimated_rows")
    rate = _number(progress.get("rows_per_s") or summary.get("rows_per_s"))
    left = (int(estimated) - done) if isinstance(estimated, int) else None
    eta = f"{left / rate:,.0f} s" if left and rate and running else NONE
    live = board[1] if board else None
    latency = NONE
    if recent and recent.ok_latency:
        failed = f"{recent.failed_latency[0] * 1000:,.0f} ms" if recent.failed_latency else NONE
        latency = f"{recent.ok_latency[0] * 1000:,.0f} ms / {failed}"
    in_flight = f"{progress.get('in_flight', 0)} / {progress.get('limit', NONE)}"
    if not running:  # nothing is in flight: the most the run had is what it ran at
        most = summary.get("concurrency_max")
        in_flight = f"{NONE} (ran at up to {most})" if most else NONE
    return {
        "id": session.id,
        "state": session.state,
        "done": done,
        "estimated": estimated if isinstance(estimated, int) else None,
        "progress_text": _progress_text(done, estimated),
        "ok": f"{ok:,}",
        "failed": f"{done - ok:,}",
        "open_errors": f"{figures.open_errors:,}",
        "reprocessed": f"{figures.reprocessed:,}",
        "sent_twice": figures.sent_twice_count,
        "sent_twice_rows": ", ".join(f"{n:,}" for n in figures.sent_twice[:50]),
        "rows_per_s": f"{rate:,.1f}",
        "eta": eta,
        "in_flight": in_flight,
        "breaker": str(progress.get("breaker", NONE)),
        "retries": f"{_number(summary.get('retries') or progress.get('retries')):,.0f}",
        "latency": latency,
        **_policies(live),
        "bars": bars.rates,
        "bar_caption": bars.caption,
        "bar_shapes": bars.shapes(),
        "statuses": list(figures.statuses.items()),
        "messages": figures.top_errors,
    }


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _policies(live: Any) -> dict[str, str]:
    """The rate cap (and the pace the API allows), pauses and the retry budget."""
    if live is None:
        return {"rate": NONE, "pauses": NONE, "retry_budget": NONE}
    rate = f"{live.rate:,.1f}/s" if live.rate else "none"
    if live.api_pace:
        rate += f" (the API allows {live.api_pace:,.1f}/s)"
    pauses = f"{live.pauses:,}" + (f", paused {live.paused_for:,.0f} s" if live.paused else "")
    used, allowed = live.retry_budget
    return {"rate": rate, "pauses": pauses, "retry_budget": f"{used:,} of {allowed:,}"}


def _progress_text(done: int, estimated: object) -> str:
    if isinstance(estimated, int):
        return f"{done:,} of about {estimated:,} rows"
    return f"{done:,} rows"


@router.get("/api/sessions/{session_id}/events", dependencies=[Depends(viewer)])
async def run_events(request: Request, session_id: str) -> StreamingResponse:
    """The run's figures as Server-Sent Events, every second until it ends."""

    def read() -> dict[str, Any]:
        with store_of(request) as store:
            session = records.settled(store, found(lambda: store.session(session_id)))
            return live_figures(store, session)

    first = await run_in_threadpool(read)  # an unknown id is a 404 before the stream starts

    async def events() -> AsyncIterator[bytes]:
        figures = first
        while True:
            sent = {k: v for k, v in figures.items() if k != "bar_shapes"}  # drawBars' own
            yield f"data: {json.dumps(sent)}\n\n".encode()
            if figures["state"] != "running" or await request.is_disconnected():
                return
            await asyncio.sleep(EVERY)
            figures = await run_in_threadpool(read)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.get("/runs/{session_id}/log", dependencies=[Depends(page_viewer)])
def log_page(request: Request, session_id: str, level: str = "INFO") -> HTMLResponse:
    if level.upper() not in runlog.LEVELS:
        level = "INFO"
    with store_of(request) as store:
        session = records.settled(store, found(lambda: store.session(session_id)))
        path = store.log_path(session.id)
    lines = []
    for line in runlog.read(path, level) if path.exists() else []:
        details = {k: v for k, v in line.items() if k not in ("time", "level", "event")}
        lines.append({**line, "details": ", ".join(f"{k}={v}" for k, v in details.items())})
    return render(request, "log.html", title="Log", run=run_row(session), lines=lines,
                  level=level.upper(), levels=runlog.LEVELS)  # fmt: skip


@router.get("/new", dependencies=[Depends(page_operator)])
def new_run_page(request: Request) -> HTMLResponse:
    return render(request, "new.html", title="New run", profiles=_profiles(request))


@router.get("/apis", dependencies=[Depends(page_viewer)])
def apis_page(request: Request) -> HTMLResponse:
    """Each API over the last 7 days (`metrics --since 7d`), and the performance test."""
    from ..engine.metricsdata import hosts_metrics

    with store_of(request) as store:
        data: Any = hosts_metrics(store, "7d")
    hosts = []
    for h in data["hosts"]:
        latency = h["latency_ms"]["all"]
        statuses = ", ".join(f"{code}: {n:,}" for code, n in h["statuses"].items())
        hosts.append(
            {
                "host": h["host"],
                "runs": f"{h['runs']:,}",
                "rows": f"{h['rows']:,}",
                "ok": f"{h['ok']:,}",
                "failed": f"{h['failed']:,}",
                "rows_per_s": f"{h['rows_per_s'] or 0:,.1f}",
                "p50": NONE if latency["p50"] is None else f"{latency['p50']:,.1f}",
                "p99": NONE if latency["p99"] is None else f"{latency['p99']:,.1f}",
                "statuses": statuses,
            }
        )
    return render(request, "apis.html", title="APIs", hosts=hosts, profiles=_profiles(request))


def _profiles(request: Request) -> list[dict[str, str]]:
    return [
        {"name": p.name, "url": p.settings.url, "method": p.settings.method}
        for p in options_of(request).profiles.values()
    ]


@router.get("/queue", dependencies=[Depends(page_viewer)])
def queue_page(request: Request) -> HTMLResponse:
    """The queue's workers, batches by state and runs (with serve --queue)."""
    queue = options_of(request).queue
    if not queue:
        return render(request, "queue.html", title="Queue", queue=None)
    from datetime import UTC, datetime

    from ..scaleout.status import queue_status

    status = queue_status(queue, lambda text: None)

    def when(value: object) -> str:
        return datetime.fromtimestamp(float(str(value or 0)), UTC).isoformat()

    workers = [{**w, "seen": when(w.get("seen"))} for w in status.workers]
    lost = [{**w, "lost_at": when(w.get("lost_at"))} for w in status.lost]
    return render(request, "queue.html", title="Queue", queue=queue, workers=workers,
                  lost=lost, batches=status.batches, runs=status.runs)  # fmt: skip
