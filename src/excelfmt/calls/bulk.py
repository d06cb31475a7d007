"""Bulk styles: how a batch of rows is wrapped into one request, and how the answer maps
back to each row. Pure functions over bytes and JSON; the sending is sending/bulk.py's.

A style is a table of a few fields (settings.bulking's presets, or a `[bulk.NAME]` table
of excelfmt.toml, checked there):

    format       "json": the items in a JSON envelope; "ndjson": a line (or an action
                 line and a document line) per row, each ending in a newline
    envelope     JSON with the string "{_items}" where the array of items goes
    results      dotted path in the answer to the list of per-item results ("": the answer)
    match        "position": results[i] is row i's; "trace": the rows are named by a trace
                 id each input carries (`trace`), failures listed under `errors`
    success      path in a result to true/false
    status       path in a result to its own HTTP status
    message      path in a result to its message (else the common error shapes)
    action       ndjson: the action line before each row's document (a {Column} template)
    max_batch    the most rows the API takes in one request (refused beyond it)

A path segment `*` is the only value of a one-key object (Elasticsearch's
{"index": {...}} around each item).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from ..jsontext import compact
from ..models import Job, JSONValue, Row
from ..settings.bulking import DEFAULT_BATCH, ITEMS, STYLE_KEYS, preset_or_table
from ..settings.value import Settings
from .responses import error_message, shorten, value_at

IDEMPOTENCY_HEADER = "idempotency-key"


@dataclass(frozen=True)
class ItemAnswer:
    """What the answer says of one row of a batch."""

    status: int | None
    """The item's own status (Elasticsearch's items[i].status), when it has one."""
    failed: bool
    """The style says it failed (success false, or named among the errors)."""
    message: str | None
    body: JSONValue
    """The item's result: what the row keeps as its response, what --capture reads."""


@dataclass(frozen=True)
class BulkStyle:
    """How a batch is wrapped and its answer read (module docstring); from `style_for`."""

    name: str
    format: str = "json"
    envelope: JSONValue = None
    results: str = ""
    match: str = "position"
    success: str | None = None
    status: str | None = None
    message: str | None = None
    trace: str | None = None
    id: str | None = None
    errors: str | None = None
    error_id: str | None = None
    action: JSONValue = None
    max_batch: int | None = None

    @property
    def content_type(self) -> str:
        return "application/x-ndjson" if self.format == "ndjson" else "application/json"

    @property
    def default_batch(self) -> int:
        return self.max_batch or DEFAULT_BATCH

    def wrap(self, jobs: Sequence[Job]) -> Job:
        """One request carrying every job's item: the first job's method, URL and headers,
        the style's content type, and an Idempotency-Key made of the rows' own keys (the
        same batch sent again carries the same key)."""
        first = jobs[0]
        items = [job.body if job.body is not None else b"null" for job in jobs]
        if self.format == "ndjson":
            body = b"".join(item + b"\n" for item in items)
        else:
            before, after = self._envelope_ends
            body = before + b"[" + b",".join(items) + b"]" + after
        headers = []
        keys: list[str] = []
        for job in jobs:
            keys.extend(value for name, value in job.headers if name.lower() == IDEMPOTENCY_HEADER)
        for name, value in first.headers:
            lowered = name.lower()
            if lowered == "content-type":
                continue
            if lowered == IDEMPOTENCY_HEADER:
                value = _batch_key(keys)
            headers.append((name, value))
        headers.append(("Content-Type", self.content_type))
        return Job(first.row, first.method, first.url, tuple(headers), body)

    @cached_property
    def _envelope_ends(self) -> tuple[bytes, bytes]:
        """The envelope's text before and after its items, made once."""
        text = compact(self.envelope).encode()
        marker = compact(ITEMS).encode()
        before, _, after = text.partition(marker)
        return before, after

    def read(self, answer: JSONValue, count: int, traces: Sequence[str]) -> list[ItemAnswer] | str:
        """Each row's answer, in the batch's order; or the sentence that says why the
        answer cannot be mapped to its `count` rows (then none of them is taken as done)."""
        if self.match == "trace":
            return self._by_trace(answer, traces)
        results = value_at(answer, self.results)
        if not isinstance(results, list):
            where = f" at {self.results!r}" if self.results else ""
            return (
                f"The API's answer has no list of results{where} for the batch of "
                f"{count} rows, so no row's outcome is known"
            )
        if len(results) != count:
            return (
                f"The API's answer had {len(results)} items for the {count} rows of the "
                "batch, so no row's outcome is known"
            )
        return [self._item(result, failed=None) for result in results]

    def _item(self, result: JSONValue, failed: bool | None) -> ItemAnswer:
        status = value_at(result, self.status) if self.status else None
        if not isinstance(status, int) or isinstance(status, bool):
            status = None
        if failed is None:
            success = value_at(result, self.success) if self.success else True
            failed = success is not True and success != "true"
        message = value_at(result, self.message) if self.message else None
        text: str | None = None
        if failed or (status is not None and not 200 <= status < 300):
            text = shorten(message) if isinstance(message, str) and message else None
            text = text or error_message(result) or "The API refused this row in its batch"
        return ItemAnswer(status, failed, text, result)

    def _by_trace(self, answer: JSONValue, traces: Sequence[str]) -> list[ItemAnswer] | str:
        errors = value_at(answer, self.errors or "")
        results = value_at(answer, self.results)
        if not isinstance(results, list) and not isinstance(errors, list):
            return (
                f"The API's answer has neither results at {self.results!r} nor errors at "
                f"{self.errors!r} for the batch of {len(traces)} rows, so no row's outcome "
                "is known"
            )
        found: dict[str, ItemAnswer] = {}
        for result in results if isinstance(results, list) and self.id else []:
            for trace in _ids(value_at(result, self.id or "")):
                found[trace] = self._item(result, failed=False)
        for error in errors if isinstance(errors, list) else []:
            for trace in _ids(value_at(error, self.error_id or "")):
                found[trace] = self._item(error, failed=True)
        unknown = set(found) - set(traces)
        if unknown:
            return (
                f"The API's answer names {len(unknown)} input(s) that were not in the batch "
                f"of {len(traces)} rows, so no row's outcome is known"
            )
        # An input named nowhere was not refused: HubSpot lists only the failures by id.
        done = ItemAnswer(None, False, None, None)
        return [found.get(trace, done) for trace in traces]


def batch_key(job: Job) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """What the rows of one request share: method, URL and headers (but the row's own
    Idempotency-Key, which the batch's replaces)."""
    headers = tuple(h for h in job.headers if h[0].lower() != IDEMPOTENCY_HEADER)
    return job.method, job.url, headers


def first_batch(jobs: Sequence[Job], settings: Settings) -> list[Job]:
    """The rows that go in the first request, as the pool would gather them from `jobs`
    (planned rows in order): what a dry run and a check show."""
    sendable = [job for job in jobs if job.problem is None]
    if not sendable:
        return []
    taken = [sendable[0]]
    size = len(sendable[0].body or b"")
    for job in sendable[1 : settings.batch]:
        size += len(job.body or b"") + 1
        if batch_key(job) != batch_key(taken[0]) or size > settings.batch_bytes:
            break
        taken.append(job)
    return taken


def trace_id(row: Row) -> str:
    """The id a row's input carries in a `match = "trace"` style: its sheet row number,
    unique in a batch and the same when the row is sent again."""
    return str(row.number)


def _ids(value: JSONValue) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value if item is not None]
    return [] if value is None else [str(value)]


def _batch_key(keys: Sequence[str]) -> str:
    digest = hashlib.sha256("\n".join(keys).encode(), usedforsecurity=False).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def style_of(table: Mapping[str, JSONValue]) -> BulkStyle:
    """The style a run's `bulk` setting holds: a table settings.bulking checked."""
    fields = {key: table[key] for key in STYLE_KEYS if key in table}
    return BulkStyle(name=str(table.get("name", "custom")), **fields)  # type: ignore[arg-type]


def style_for(settings: Settings) -> BulkStyle:
    """The style a run's settings name or hold (array when only --batch is given)."""
    return style_of(preset_or_table(settings.bulk))
