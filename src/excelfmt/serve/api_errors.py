"""Rows that need a person, over HTTP: the old backend's /api/errors routes and more.

    GET    /api/errors/summary                          counts per category and state
    GET    /api/errors/user-action/{session}            a page of the session's errors
    DELETE /api/errors/user-action/{session}            clear them
    GET    /api/errors/{error}                          one error in full
    POST   /api/errors/user-action/{error}/resolve      {"status","resolution","action"}
    POST   /api/errors/user-action/{error}/reprocess    {"record": {corrected cells}}
    POST   /api/errors/user-action/{session}/fix        a corrected fix.xlsx, sent again

A reprocess sends with the session's own recorded settings (the URL and credentials its
run had, from a profile or from the shell of the host): a request changes cells only.
Every change is written to the session's log with the token's name.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from ..models import Category, JSONValue
from ..store import runlog
from ..store.folder import Store
from ..store.records import STATES, RowError, error_json, now
from .access import operator, viewer
from .api_runs import options_of, store_of
from .children import read_json
from .jobs import safe_name
from .problems import Problem, found, usage_as
from .tokens import Identity

router = APIRouter(prefix="/api/errors")


def _state(state: str) -> str | None:
    if state not in (*STATES, "all"):
        raise Problem(422, f"state {state!r}: use open, resolved, reprocessed or all.")
    return None if state == "all" else state


def _category(category: str | None) -> str | None:
    if category is None:
        return None
    wanted = category.strip().upper().replace("-", "_")
    if wanted not in Category.__members__:
        raise Problem(422, f"category {category!r} is not one of {', '.join(Category)}.")
    return wanted


def _logged(store: Store, session: str, text: str, identity: Identity, **fields: JSONValue) -> None:
    with runlog.recording(store.log_path(session)):
        runlog.event(logging.INFO, text, by=identity.name, **fields)


@router.get("/summary", dependencies=[Depends(viewer)])
def summary(request: Request, session: str | None = None) -> dict[str, Any]:
    """How many errors there are, per category and state (of one session, or all)."""
    with store_of(request) as store:
        session_id = found(lambda: store.session(session)).id if session else None
        table: dict[str, dict[str, int]] = defaultdict(dict)
        totals: Counter[str] = Counter()
        for (category, state), count in store.error_counts(session_id).items():
            table[category][state] = count
            totals[state] += count
    return {"categories": table, **{state: totals[state] for state in STATES}}


@router.get("/user-action/{session_id}", dependencies=[Depends(viewer)])
def session_errors(
    request: Request,
    session_id: str,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    state: str = "open",
    category: str | None = None,
) -> dict[str, Any]:
    """A page of the session's rows that need a person, in sheet order."""
    chosen = {"state": _state(state), "category": _category(category)}
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
        page = store.error_page(session.id, offset, limit, **chosen)
        total = store.count_errors(session.id, **chosen)
    following = None
    if offset + limit < total:
        following = f"/api/errors/user-action/{session.id}?offset={offset + limit}&limit={limit}"
    return {
        "session": session.id,
        "errors": [error_json(e) for e in page],
        "total": total,
        "offset": offset,
        "next": following,
    }


@router.delete("/user-action/{session_id}")
def clear(
    request: Request, session_id: str, identity: Identity = Depends(operator)
) -> dict[str, Any]:
    """Delete every recorded error of the session (open or not)."""
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
        ids = [e.id for e in store.errors(session.id)]
        store.delete_errors(ids)
        _logged(store, session.id, "errors cleared over HTTP", identity, errors=len(ids))
    return {"session": session.id, "deleted": len(ids)}


@router.get("/{error_id}", dependencies=[Depends(viewer)])
def one_error(request: Request, error_id: str) -> dict[str, Any]:
    """One error in full: the row's cells, the request sent, the API's answer."""
    with store_of(request) as store:
        return error_json(found(lambda: store.error(error_id)))


@router.post("/user-action/{error_id}/resolve")
def resolve(
    request: Request,
    error_id: str,
    body: Annotated[dict[str, Any] | None, Body()] = None,
    identity: Identity = Depends(operator),
) -> dict[str, Any]:
    """Close an error without sending its row again: {"resolution": "why", "action": ...}."""
    given = body or {}
    status = given.get("status", "resolved")
    if status != "resolved":
        raise Problem(422, f"status {status!r}: an error can only be marked resolved here.")
    note = " — ".join(str(given[k]) for k in ("resolution", "action") if given.get(k))
    with store_of(request) as store:
        error = found(lambda: store.error(error_id))
        if error.state != "open":
            raise Problem(409, f"Error {error.short_id} is already {error.state}.")
        error.state, error.note, error.updated_at = "resolved", note or None, now()
        store.save_error(error)
        _logged(store, error.session, "error resolved over HTTP", identity, row=error.row)
    return error_json(error)


@router.post("/user-action/{error_id}/reprocess")
def reprocess_one(
    request: Request,
    error_id: str,
    body: Annotated[dict[str, Any], Body(examples=[{"record": {"Amount": 50}}])],
    identity: Identity = Depends(operator),
) -> dict[str, Any]:
    """Send the row again with the corrected cells in "record" (by column name); cells it
    does not name keep their stored values. The answer is the row's new outcome."""
    record = body.get("record", {})
    if set(body) - {"record"} or not isinstance(record, dict):
        raise Problem(422, 'The body is {"record": {"Column": value}}, and nothing else.')
    from ..engine.reprocess import reprocess

    with store_of(request) as store:
        error = found(lambda: store.error(error_id))
        with usage_as(409 if error.state != "open" else 422):
            result = reprocess(store, [error], {error.id: record})
        _logged(store, error.session, "row sent again over HTTP", identity, row=error.row)
    return _result(result.errors[0] if result.errors else error, result)


@router.post("/user-action/{session_id}/fix")
async def reprocess_fix_file(
    request: Request,
    session_id: str,
    file: Annotated[UploadFile, File(description="The fix workbook, corrected.")],
    identity: Identity = Depends(operator),
) -> dict[str, Any]:
    """Send again the rows of a corrected fix workbook (`errors export`, /fix). The
    workbook is read in a process of its own (children.py), never in the server's."""
    chosen = await run_in_threadpool(_open_errors, request, session_id)
    scratch = Path(tempfile.mkdtemp())
    path = scratch / safe_name(file.filename or "fix.xlsx")
    try:
        with path.open("wb") as target:
            await run_in_threadpool(shutil.copyfileobj, file.file, target, 1 << 20)
        arguments = ["excelfmt.sheets.fixbook", str(path)]
        limit = options_of(request).read_limit
        rows = await read_json(request, arguments, path, limit, "fix")
        return await run_in_threadpool(_send_fix_file, request, chosen, rows, path.name, identity)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _open_errors(request: Request, session_id: str) -> list[RowError]:
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
        chosen = list(store.errors(session.id, state="open"))
    if not chosen:
        raise Problem(409, f"Session {session.id} has no open errors to send again.")
    return chosen


def _send_fix_file(
    request: Request,
    chosen: list[RowError],
    rows: dict[str, dict[str, JSONValue]],
    name: str,
    identity: Identity,
) -> dict[str, Any]:
    from ..engine.reprocess import fix_corrections, reprocess

    session = chosen[0].session
    with store_of(request) as store:
        with usage_as(422):
            corrections = fix_corrections(chosen, rows, name)
            sent = [e for e in chosen if e.id in corrections]
            result = reprocess(store, sent, corrections)
        _logged(store, session, "fix workbook sent again over HTTP", identity, rows=len(sent))
    return {
        "session": session,
        "sent": len(result.errors),
        "reprocessed": result.succeeded,
        "failed": result.failed,
        "errors": [_result(e, result) for e in result.errors],
    }


def _result(error: RowError, result: Any) -> dict[str, Any]:
    outcome = result.outcomes.get(error.id)
    return {
        **error_json(error),
        "result": outcome.status if outcome is not None else None,
        "stopped": result.stopped,
    }
