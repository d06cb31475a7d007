"""The grid of rows that need a person: found by filters, corrected in place, sent again.

    GET /runs/{id}/errors?state=&category=&status=&message=&column=&q=&offset=

The filters are errorquery.py's, in the page's address (a link a colleague can open)
and in its actions' calls: Send again, Resolve and Download fix.xlsx act on the rows
ticked, or on every row that matches. A page is read from the store a page at a time,
whatever the number of rows. A refusal that names no cell gets a hint for its status.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse

from ..models import Category
from ..store.errortable import ErrorFilter
from ..store.records import RowError
from ..store.rowerrors import matching_column
from .api_runs import store_of
from .errorquery import error_filter, query_of
from .pagerender import render
from .pages import PAGE, page_viewer, run_row
from .problems import found

router = APIRouter(include_in_schema=False)
HINTS = {
    400: "The API refused the request as a whole and named no cell: compare the row's "
    "values with what the API accepts (codes, currencies, formats), then send it again.",
    404: "The API has no record at this address: check the cells its URL is made of, "
    "or resolve the row if the record is gone for good.",
    409: "The record exists already: change its key to make a new one, or resolve the row "
    "if it is the same record.",
    410: "The API says the record is gone: resolve the row, or change its key.",
    413: "The row is too large for the API: shorten its longest cells.",
    422: "The API named no cell: its message says what to change.",
}
"""What to do about a refusal that names no cell, by the API's status."""
WIDEST = 40
"""Characters a cell's box shows before it scrolls (it shows all when focused)."""


def hint(error: RowError, marked: dict[str, str]) -> str | None:
    if marked or error.state != "open":
        return None
    return HINTS.get(error.http_status or 0)


def grid_row(error: RowError, columns: list[str]) -> dict[str, Any]:
    marked: dict[str, str] = {}  # column -> what the API said of it; none once it went through
    for field, said in error.fields if error.state == "open" else ():
        column = matching_column(field, columns)
        if column is not None:
            marked[column] = "; ".join(filter(None, (marked.get(column), said)))
    return {
        "id": error.id,
        "row": error.row,
        "state": error.state,
        "message": error.message or "",
        "status": error.http_status,
        "tried_at": error.updated_at if error.state == "open" and error.attempts else None,
        "refused": marked,
        "hint": hint(error, marked),
        "cells": {k: "" if v is None else v for k, v in error.values.items()},
    }


@router.get("/runs/{session_id}/errors", dependencies=[Depends(page_viewer)])
def errors_page(
    request: Request,
    session_id: str,
    offset: int = 0,
    chosen: ErrorFilter = Depends(error_filter),
) -> HTMLResponse:
    offset = max(0, offset)
    with store_of(request) as store:
        session = found(lambda: store.session(session_id))
        page = store.error_page(session.id, offset, PAGE, matching=chosen)
        total = store.count_errors(session.id, matching=chosen)
        categories = sorted({category for category, _ in store.error_counts(session.id)})
        first = page[0] if page else next(iter(store.error_page(session.id, 0, 1)), None)
    columns = list(first.values) if first else []
    rows = [grid_row(e, columns) for e in page]
    widths = {
        c: min(WIDEST, max(8, len(c), *(len(str(r["cells"][c])) for r in rows))) for c in columns
    }

    def link(at: int) -> str:
        return f"/runs/{session.id}/errors?{query_of(chosen, offset=at)}"

    return render(request, "errors.html", title="Rows that need a person",
                  run=run_row(session), errors=rows, columns=columns, widths=widths,
                  chosen=chosen, state=chosen.state or "all", query=query_of(chosen),
                  categories=[c for c in Category if c.value in categories],
                  filtered=chosen != ErrorFilter(chosen.state), total=total,
                  shown_total=f"{total:,}", first=f"{offset + 1:,}",
                  last=f"{offset + len(page):,}",
                  previous=link(max(0, offset - PAGE)) if offset else None,
                  following=link(offset + PAGE) if offset + PAGE < total else None)  # fmt: skip
