"""Which rows that need a person a request means: the errors grid's filters, the same
as query parameters of /api/errors/user-action/{id}, of the grid's links, of its
actions over every row that matches, and of the fix workbook's download.

    ?state=open&category=REQUIRES_USER_ACTION&status=409&message=exists&column=Email&q=acme
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query

from ..models import Category
from ..store.errortable import ErrorFilter
from ..store.records import STATES
from .problems import Problem


def _state(state: str) -> str | None:
    if state not in (*STATES, "all"):
        raise Problem(422, f"state {state!r}: use open, resolved, reprocessed or all.")
    return None if state == "all" else state


def _category(category: str | None) -> str | None:
    if not category:  # a form's "any"
        return None
    wanted = category.strip().upper().replace("-", "_")
    if wanted not in Category.__members__:
        raise Problem(422, f"category {category!r} is not one of {', '.join(Category)}.")
    return wanted


def error_filter(
    state: Annotated[str, Query(description="open, resolved, reprocessed or all.")] = "open",
    category: Annotated[str | None, Query(description="REQUIRES_USER_ACTION, ...")] = None,
    status: Annotated[
        str | None, Query(description="The API's HTTP status; none: no answer.")
    ] = None,
    message: Annotated[str | None, Query(description="The API's message contains it.")] = None,
    column: Annotated[str | None, Query(description="The API refused this column.")] = None,
    q: Annotated[str | None, Query(description="Any of the row's cells contains it.")] = None,
) -> ErrorFilter:
    """Which errors a request means: the errors grid's filters, also its links' query."""
    code = None
    if status:
        if not (status.isdigit() or status.lower() == "none"):
            raise Problem(422, f"status {status!r}: give an HTTP status such as 409, or none.")
        code = int(status) if status.isdigit() else 0
    return ErrorFilter(
        _state(state), _category(category), code, message or None, column or None, q or None
    )


def query_of(chosen: ErrorFilter, **more: str | int) -> str:
    """The filter as the query string that asks for it again (for links)."""
    status = None if chosen.status is None else (chosen.status or "none")
    given = {
        "state": chosen.state or "all",
        "category": chosen.category,
        "status": status,
        "message": chosen.message,
        "column": chosen.column,
        "q": chosen.search,
        **more,
    }
    return urlencode({k: v for k, v in given.items() if v is not None})
