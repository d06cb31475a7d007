"""Rows that need a person: which outcomes they are, and what is kept of each.

A row whose final outcome is REQUIRES_USER_ACTION, AUTH_ERROR or UNKNOWN_ERROR is kept
in the store with everything needed to understand and fix it: the row's cells, the
request that was sent (secrets masked), the API's message and the fields it refused.
Temporary failures are not kept here: a resume sends them again by itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

from ..calls.responses import field_errors
from ..calls.template import RowProblem, json_value
from ..models import Category, CellValue, Job, JSONValue, Outcome, Row
from ..redaction import Redactor
from .records import RowError, error_id, now

NEEDS_A_PERSON = frozenset(
    {Category.REQUIRES_USER_ACTION, Category.AUTH_ERROR, Category.UNKNOWN_ERROR}
)


def needs_a_person(category: Category | str | None) -> bool:
    return category is not None and Category(category) in NEEDS_A_PERSON


def cell_values(row: Row, columns: Sequence[str]) -> dict[str, JSONValue]:
    """The row's cells as JSON values; dates as ISO 8601, as the request carried them."""
    return {column: _stored(row.values.get(column)) for column in columns}


def as_cells(values: dict[str, JSONValue]) -> dict[str, CellValue]:
    """Stored cells back as cells (they were scalars; anything else becomes its JSON)."""
    return {
        column: value
        if value is None or isinstance(value, str | int | float | bool)
        else json.dumps(value, ensure_ascii=False)
        for column, value in values.items()
    }


def _stored(value: CellValue) -> JSONValue:
    if isinstance(value, Decimal):
        return format(value, "f")  # the digits as written; reprocess types it again
    try:
        return json_value(value, "")
    except RowProblem:  # an Excel error value (#N/A): kept as the text Excel shows
        return str(value)


def describe_request(job: Job | None, redact: Redactor) -> dict[str, JSONValue] | None:
    """The request as it may be stored and shown: secret headers masked."""
    if job is None or job.problem is not None or not job.method:
        return None
    body: JSONValue = None
    if job.body is not None:
        body = _body_shown(redact(job.body.decode("utf-8", "replace")))
    return {
        "method": job.method,
        "url": redact(job.url),
        "headers": [[name, redact.header(name, value)] for name, value in job.headers],
        "body": body,
    }


def _body_shown(text: str) -> JSONValue:
    """JSON as its value; NDJSON (a bulk request, a row's action and document lines) as
    the list of its lines' values; anything else as text."""
    try:
        value: JSONValue = json.loads(text)
        return value
    except json.JSONDecodeError:
        pass
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError:
        return text


def row_error(
    session_id: str,
    outcome: Outcome,
    columns: Sequence[str],
    job: Job | None,
    redact: Redactor,
) -> RowError:
    """The stored form of a row that needs a person (`outcome.row` carries the cells)."""
    assert outcome.category is not None
    return RowError(
        id=error_id(session_id, outcome.row.seq),
        session=session_id,
        seq=outcome.row.seq,
        row=outcome.row.number,
        category=outcome.category.value,
        http_status=outcome.http_status,
        message=outcome.message,
        fields=field_errors(outcome.response),
        values=cell_values(outcome.row, columns),
        request=describe_request(job, redact),
        created_at=now(),
        attempts=outcome.attempts,
    )


def matching_column(field: str, columns: Sequence[str]) -> str | None:
    """The sheet column an API's field name points at ("amount", "body.Amount", "/amount")."""
    by_name = {column.casefold(): column for column in columns}
    wanted = field.strip().strip("/").casefold()
    if wanted in by_name:
        return by_name[wanted]
    last = wanted.replace("/", ".").rsplit(".", 1)[-1]
    return by_name.get(last)
