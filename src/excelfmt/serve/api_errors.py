"""Rows that need a person, over HTTP: the old backend's /api/errors routes and more.

    GET    /api/errors/summary                          counts per category and state
    GET    /api/errors/user-action/{session}            a page of the session's errors
    DELETE /api/errors/user-action/{session}            clear them
    GET    /api/errors/{error}                          one error in full
    POST   /api/errors/user-action/{error}/resolve      {"status","resolution","action"}
    POST   /api/errors/user-action/{error}/reprocess    {"record": {corrected cells}}
    POST   /api/errors/user-action/{session}/fix        a corrected fix.xlsx, sent again
    POST   /api/errors/user-action/{session}/matching/reprocess|resolve   every open
           error the filter matches (errorquery.py), sent again unchanged or closed

A reprocess sends with the session's own recorded settings (the URL and credentials its
run had, from a profile or from the shell of the host): a request changes cells only.
Every change is written to the session's log with the token's name.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from ..models import JSONValue
from ..store import runlog
from ..store.errortable import ErrorFilter
from ..store.folder import Store
from ..store.records import STATES, RowError, error_json, now
from .access import operator, viewer
from .api_runs import options_of, store_of
from .children import read_json
from .errorquery import error_filter, query_of
from .jobs import safe_name
from .problems import Problem, found, usage_as
from .tokens import Identity

if TYPE_CHECKING:
    from ..engine.reprocess import Reprocessed

router = APIRouter(prefix="/api/errors")


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
    chosen: ErrorFilter = Depends(error_filter),
) -> dict[str, Any]:
    """A page of the session's rows that need a person, in sheet order."""
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
        page = store.error_page(session.id, offset, limit, matching=chosen)
        total = store.count_errors(session.id, matching=chosen)
    following = None
    if offset + limit < total:
        query = query_of(chosen, offset=offset + limit, limit=limit)
        following = f"/api/errors/user-action/{session.id}?{query}"
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
            result = reprocess(store, [error], {error.id: record}, by=identity.name)
        _logged(store, error.session, "row sent again over HTTP", identity, row=error.row)
    return _result(result.errors[0] if result.errors else error, result)


MATCHING_AT_ONCE = 100
"""Rows one call of /matching/reprocess sends: the page calls again for the next ones,
saying how far it got, rather than one request that lasts as long as the API takes."""


@router.post("/user-action/{session_id}/matching/reprocess")
def reprocess_matching(
    request: Request,
    session_id: str,
    chosen: ErrorFilter = Depends(error_filter),
    after: Annotated[
        int | None, Query(description="The answer's next_after: the rows after those sent.")
    ] = None,
    identity: Identity = Depends(operator),
) -> dict[str, Any]:
    """Send again, unchanged, the open errors the filter matches (the grid's "every row
    that matches"), a hundred at a time in sheet order: the answer's `next_after` asks
    for the next ones, `more` says whether there are."""
    from ..engine.reprocess import reprocess

    wanted = replace(chosen, state="open", after=after)
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
        batch = store.error_page(session.id, 0, MATCHING_AT_ONCE + 1, matching=wanted)
        more, batch = len(batch) > MATCHING_AT_ONCE, batch[:MATCHING_AT_ONCE]
        if not batch:
            return {"session": session.id, "sent": 0, "reprocessed": 0, "failed": 0,
                    "errors": [], "more": False, "next_after": after}  # fmt: skip
        with usage_as(422):
            result = reprocess(store, batch, by=identity.name)
        _logged(store, session.id, "rows that match sent again over HTTP", identity,
                rows=len(batch), filter=query_of(chosen))  # fmt: skip
    return {**_summary(session.id, result), "more": more, "next_after": batch[-1].seq}


@router.post("/user-action/{session_id}/matching/resolve")
def resolve_matching(
    request: Request,
    session_id: str,
    body: Annotated[dict[str, Any] | None, Body()] = None,
    chosen: ErrorFilter = Depends(error_filter),
    identity: Identity = Depends(operator),
) -> dict[str, Any]:
    """Close every open error the filter matches, without sending: {"resolution": why}."""
    note = str((body or {}).get("resolution") or "") or None
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
        closed = list(store.errors(session.id, matching=replace(chosen, state="open")))
        for error in closed:
            error.state, error.note, error.updated_at = "resolved", note, now()
            store.save_error(error)
        _logged(store, session.id, "rows that match resolved over HTTP", identity,
                rows=len(closed), filter=query_of(chosen))  # fmt: skip
    return {"session": session.id, "resolved": len(closed)}


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
            result = reprocess(store, sent, corrections, by=identity.name)
        _logged(store, session, "fix workbook sent again over HTTP", identity, rows=len(sent))
    return _summary(session, result)


def _summary(session: str, result: Reprocessed) -> dict[str, Any]:
    """What sending rows again did: how many, how many are ok now, how many still
    refused, and each row as it now stands (a still-refused row with its new message)."""
    return {
        "session": session,
        "sent": len(result.errors),
        "reprocessed": result.succeeded,
        "failed": result.failed,
        "unsent": len(result.unsent),
        "stopped": result.stopped,
        "errors": [_result(e, result) for e in result.errors],
    }


def _result(error: RowError, result: Reprocessed) -> dict[str, Any]:
    outcome = result.outcomes.get(error.id)
    return {
        **error_json(error),
        "result": outcome.status if outcome is not None else None,
        "stopped": result.stopped,
    }
