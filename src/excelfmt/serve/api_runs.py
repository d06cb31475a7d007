"""Runs over HTTP: sessions, jobs (start, status, stop), logs and a session's files.

POST /api/jobs (or /api/sessions)  multipart: file, profile, per-file settings -> 202
GET  /api/jobs/{id}                what `status --json` says, with rows/s and ETA
POST /api/jobs/{id}/stop           as Ctrl-C: the requests in flight finish
GET  /api/sessions[/{id}]          the record of runs, paged
GET  /api/logs/{id}                the run's log lines
GET  /api/sessions/{id}/results|report|fix   its results workbook, HTML report, fix.xlsx
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, HTMLResponse

from ..store import runlog
from ..store import sessions as records
from ..store.errortable import ErrorFilter
from ..store.folder import Store
from ..store.records import Session
from ..store.runfigures import run_figures
from .access import operator, viewer
from .errorquery import error_filter
from .jobs import per_file_flags, save_upload, start_run, stop_run
from .options import PER_FILE, ServeOptions
from .problems import Problem, found, usage_as
from .tokens import Identity

router = APIRouter(prefix="/api")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def options_of(request: Request) -> ServeOptions:
    options: ServeOptions = request.app.state.options
    return options


_opened = threading.local()


def store_of(request: Request) -> contextlib.nullcontext[Store]:
    """The store, as this thread keeps it open: opening it takes 6 ms, a third of what a
    status request may take while a run goes. Each of the server's threads has its own
    (the store's connections are used by one thread at a time)."""
    folder = options_of(request).store
    store: Store | None = getattr(_opened, "store", None)
    if store is None or store.folder != folder:
        store = _opened.store = Store(folder)
    return contextlib.nullcontext(store)


def file_names(shown: dict[str, Any]) -> dict[str, Any]:
    """A record with its input and results shown by file name: where the server keeps
    files is none of the client's business (an upload lives in the store)."""
    named = dict(shown)
    for key in ("input", "output"):
        if isinstance(named.get(key), str) and named[key]:
            named[key] = Path(named[key]).name
    if named.get("store"):  # a run's settings: the store is this server's own
        named["store"] = "(this server's store)"
    return named


def session_json(store: Store, session: Session) -> dict[str, Any]:
    shown: dict[str, Any] = file_names(asdict(session))
    shown["summary"] = file_names(shown.get("summary") or {})
    shown["settings"] = file_names(shown.get("settings") or {})
    shown["state"] = records.shown_state(store, session)
    shown["progress"] = {k: v for k, v in session.progress.items() if k != "board"}
    shown["links"] = {
        "self": f"/api/sessions/{session.id}",
        "status": f"/api/jobs/{session.id}",
        "log": f"/api/logs/{session.id}",
        "errors": f"/api/errors/user-action/{session.id}",
        "results": f"/api/sessions/{session.id}/results",
        "report": f"/api/sessions/{session.id}/report",
        "fix": f"/api/sessions/{session.id}/fix",
    }
    return shown


@router.get("/sessions", dependencies=[Depends(viewer)])
def list_sessions(
    request: Request,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    state: str | None = None,
    file: Annotated[str | None, Query(description="Only inputs whose name has this.")] = None,
) -> dict[str, Any]:
    """Every recorded run, newest first, a page at a time."""
    with store_of(request) as store:
        chosen = []
        for session in store.sessions():
            if file and file.lower() not in Path(session.input).name.lower():
                continue
            if state and records.shown_state(store, session) != state:
                continue
            chosen.append(session)
        page = [session_json(store, s) for s in chosen[offset : offset + limit]]
    more = offset + limit < len(chosen)
    following = f"/api/sessions?offset={offset + limit}&limit={limit}" if more else None
    return {"sessions": page, "total": len(chosen), "offset": offset, "next": following}


@router.get("/sessions/{session_id}", dependencies=[Depends(viewer)])
def one_session(request: Request, session_id: str) -> dict[str, Any]:
    with store_of(request) as store:
        return session_json(store, found(lambda: store.session(session_id)))


async def _upload(
    request: Request, file: UploadFile, profile: str, types: list[str] | None
) -> tuple[ServeOptions, Path, list[str]]:
    """The profile checked, the per-file form fields made flags (anything else refused
    before a byte is written), then the upload saved: (options, its path, the flags)."""
    options = options_of(request)
    if profile not in options.profiles:
        offered = ", ".join(sorted(options.profiles)) or "none"
        raise Problem(404, f"No profile named {profile!r} (this server offers: {offered}).")
    form = await request.form()
    given = {k: str(v) for k, v in form.items() if k not in ("file", "profile", "type")}
    flags = per_file_flags(given, types or [])
    upload = await run_in_threadpool(save_upload, options.store, file.filename or "", file.file)
    return options, upload, flags


Upload = Annotated[UploadFile, File(description="The workbook or CSV to send.")]
ProfileName = Annotated[str, Form(description="The profile: where and how rows are sent.")]
TypesField = Annotated[
    list[str] | None, Form(alias="type", description="Column types, COLUMN=TYPE; repeatable.")
]
_PER_FILE_DOC = f"Per-file settings may come as form fields too: {', '.join(PER_FILE)}."


async def submit_job(
    request: Request,
    file: Upload,
    profile: ProfileName,
    types: TypesField = None,
    identity: Identity = Depends(operator),
) -> dict[str, Any]:
    """Start a run of the uploaded file with a profile, as `excelfmt run` would (a
    session is a run: POST /api/sessions is the same)."""
    options, upload, flags = await _upload(request, file, profile, types)
    session = await start_run(request, options, profile, upload, flags)
    with Store(options.store) as store:
        log = store.log_path(session)
    with runlog.recording(log):
        runlog.event(logging.INFO, "run started over HTTP", by=identity.name, profile=profile)
    return {"session": session, "profile": profile, "links": {
        "status": f"/api/jobs/{session}", "self": f"/api/sessions/{session}",
        "log": f"/api/logs/{session}", "stop": f"/api/jobs/{session}/stop"}}  # fmt: skip


for _path in ("/jobs", "/sessions"):
    router.add_api_route(
        _path, submit_job, methods=["POST"], status_code=202, description=_PER_FILE_DOC
    )


@router.post("/preview", description=_PER_FILE_DOC)
async def preview_job(
    request: Request,
    file: Upload,
    profile: ProfileName,
    types: TypesField = None,
    identity: Identity = Depends(operator),
) -> dict[str, Any]:
    """What a run of the file would send, and send nothing: the sheet read, the first
    planned requests (as --dry-run shows them) and check's problems. Nothing is kept."""
    from .jobs import preview

    options, upload, flags = await _upload(request, file, profile, types)
    try:
        return await preview(request, options, profile, upload, flags)
    finally:
        shutil.rmtree(upload.parent, ignore_errors=True)


@router.get("/jobs/{session_id}", dependencies=[Depends(viewer)])
def job_status(request: Request, session_id: str) -> dict[str, Any]:
    """What `excelfmt status ID --json` says: state, counts, rows/s and ETA."""
    with store_of(request) as store:
        session = records.settled(store, found(lambda: store.session(session_id)))
        progress = {k: v for k, v in session.progress.items() if k != "board"}
        done, estimated, rate = (progress.get(k) for k in ("done", "estimated_rows", "rows_per_s"))
        eta = None
        if isinstance(done, int) and isinstance(estimated, int) and rate:
            eta = round(max(0, estimated - done) / float(rate), 1)  # type: ignore[arg-type]
        return {
            "id": session.id,
            "state": session.state,
            "pid": session.pid,
            "input": Path(session.input).name,
            "sheet": session.sheet,
            "started_at": session.started_at,
            "finished_at": session.finished_at,
            "progress": progress,
            "rows_per_s": rate,
            "eta_s": eta,
            "figures": run_figures(store, session).to_json(),
            "summary": file_names(session.summary),
            "unknown_outcome": records.unknown_outcomes(store, session),
        }


@router.post("/jobs/{session_id}/stop", status_code=202)
def stop_job(
    request: Request, session_id: str, identity: Identity = Depends(operator)
) -> dict[str, Any]:
    """Stop a run as Ctrl-C does: it takes no new row; the requests in flight finish."""
    options = options_of(request)
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
        log = store.log_path(session.id)
    stop_run(options.store, session.id)
    with runlog.recording(log):
        runlog.event(logging.WARNING, "stop asked over HTTP", by=identity.name)
    return {"session": session.id, "stopping": True}


@router.get("/logs/{session_id}", dependencies=[Depends(viewer)])
def session_log(
    request: Request, session_id: str, level: str = "INFO", row: int | None = None
) -> dict[str, Any]:
    """The run's log lines (`excelfmt logs ID --json`), at `level` and above."""
    if level.upper() not in runlog.LEVELS:
        raise Problem(422, f"level {level!r}: use one of {', '.join(runlog.LEVELS)}.")
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
        path = store.log_path(session.id)
    lines = list(runlog.read(path, level, row)) if path.exists() else []
    return {"session": session.id, "lines": lines}


@router.get("/sessions/{session_id}/results", dependencies=[Depends(viewer)])
def results_file(request: Request, session_id: str) -> FileResponse:
    """The run's results workbook."""
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
    path = Path(session.output or "")
    if not session.output or not path.is_file():
        raise Problem(404, f"Session {session.id} has no results workbook (yet).")
    return FileResponse(path, media_type=XLSX, filename=path.name)


REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)
"""The report is one page of inline style and SVG, with no script: it may load nothing,
run nothing, and be framed by the console's run page alone, so that an escaping slip in
a report would show text, never run it."""


@router.get("/sessions/{session_id}/report", dependencies=[Depends(viewer)])
def report(request: Request, session_id: str) -> HTMLResponse:
    """The run's HTML report, as `excelfmt report` writes it."""
    from ..ui.reportfile import report_page

    options = options_of(request)
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
    with usage_as(404):
        page = report_page(options.store, session.id)
    return HTMLResponse(page, headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/sessions/{session_id}/fix", dependencies=[Depends(viewer)])
def fix_file(
    request: Request, session_id: str, matching: ErrorFilter = Depends(error_filter)
) -> FileResponse:
    """The session's open errors as a workbook to correct (`errors export`); those the
    grid's filters match, when given."""
    from ..sheets import fixbook

    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
        chosen = list(store.errors(session.id, matching=replace(matching, state="open")))
    if not chosen:
        raise Problem(404, f"Session {session.id} has no open errors that match.")
    scratch = Path(tempfile.mkdtemp())
    path = scratch / f"fix-{session.id[:8]}.xlsx"
    fixbook.write(chosen, path)
    cleanup = BackgroundTask(shutil.rmtree, scratch, ignore_errors=True)
    return FileResponse(path, media_type=XLSX, filename=path.name, background=cleanup)
