"""Row -> Job: the HTTP request for one row, from the settings' templates. Pure functions.

Templates are checked against the sheet's columns when the Planner is built, so a typo in
a column name stops the run before anything is sent. Per-row problems (an empty value the
URL needs, an Excel error in a cell) become a Job with `problem` set, which is never sent.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from urllib.parse import quote

from .._version import __version__
from ..jsontext import compact
from ..models import Job, JSONValue, Row
from ..settings.config import Settings
from ..settings.options import parse_header
from .bulk import style_for, trace_id
from .template import (
    BodyRenderer,
    RowProblem,
    Template,
    compile_body,
    lookup,
    parse,
    row_object,
    text_value,
)

# Methods that carry no body unless a body template asks for one.
BODILESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# Methods a server may apply twice if a request is repeated: they get an Idempotency-Key.
NON_IDEMPOTENT_METHODS = frozenset({"POST", "PATCH"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_NAMESPACE = uuid.UUID("6f1d8a52-4c1b-5d8e-9a57-0f3c2e7b9d41").bytes
_METHOD = re.compile(r"^[A-Z][A-Z0-9_-]*$")


def _url_component(text: str) -> str:
    return quote(text, safe="")


def encode_json(value: JSONValue) -> bytes:
    """Compact UTF-8 JSON; a decimal column's numbers with exactly their digits (12.30)."""
    try:
        text = compact(value)
    except TypeError:
        # json cannot write a Decimal as a number; simplejson can, at half json's speed,
        # so only rows that hold one take this way.
        import simplejson

        text = simplejson.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def idempotency_key(row: Row, method: str, url: str, body: bytes | None) -> str:
    """A key stable for the same row and request content, new when the content changes.

    The row number is part of it: two identical rows in one sheet are two requests,
    and the API must not fold the second into the first.
    """
    name = f"{row.number}\n{method} {url}\n".encode() + (body or b"")
    # uuid.uuid5(namespace, name) by hand (_KEY_NAMESPACE holds the namespace's bytes):
    # the same key (a resumed run must send what the interrupted one sent), without a
    # UUID object per row: 12 -> 5 µs.
    name = name.decode("utf-8", "replace").encode("utf-8")
    digest = bytearray(hashlib.sha1(_KEY_NAMESPACE + name, usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    hex = digest[:16].hex()
    return f"{hex[:8]}-{hex[8:12]}-{hex[12:16]}-{hex[16:20]}-{hex[20:]}"


def _path_names(url: Template) -> tuple[str, ...]:
    """The columns a URL template puts in its path (before any ? or #)."""
    names = []
    for literal, name in zip(url.literals, url.names, strict=False):
        if "?" in literal or "#" in literal:
            break
        names.append(name)
    return tuple(names)


class Planner:
    """Turns rows into Jobs for one sheet's columns and one set of settings."""

    def __init__(self, settings: Settings, columns: Sequence[str]) -> None:
        self._url = parse(settings.url, "The URL", columns)
        self._path_names = _path_names(self._url)
        self._method = parse(settings.method, "The method", columns)
        self._headers = [
            (name, parse(value, f"Header {name}", columns))
            for name, value in map(parse_header, settings.header)
        ]
        self._body: BodyRenderer | None = (
            compile_body(settings.body, columns) if settings.body is not None else None
        )
        self._item = _Item(settings, columns) if settings.batch > 1 else None
        self._credentials = settings.credentials
        self._base_headers = {
            "accept": ("Accept", "application/json"),
            "user-agent": ("User-Agent", f"excelfmt/{__version__}"),
        }

    def plan(self, row: Row) -> Job:
        """The request for `row`, or a Job carrying the reason it cannot be sent."""
        try:
            if row.problem is not None:
                raise RowProblem(row.problem)
            return self._plan(row)
        except RowProblem as problem:
            return Job(row, "", "", (), None, problem=f"Row {row.number}: {problem}.")

    def problem(self, row: Row) -> str | None:
        """Why `row` could not be sent, or None: every check of `plan`, without encoding
        the body or keying the request (a check reads a sheet at near its reading speed)."""
        try:
            if row.problem is not None:
                raise RowProblem(row.problem)
            method = self._method_of(row)
            self._url_of(row)
            if self._item is not None:
                self._item.value(row, self._body)
            elif self._body is not None:
                self._body(row)
            elif method not in BODILESS_METHODS:
                row_object(row)
            self._headers_of(row)
        except RowProblem as problem:
            return f"Row {row.number}: {problem}."
        return None

    def _method_of(self, row: Row) -> str:
        method = self._method.render(row).strip().upper()
        if not _METHOD.match(method):
            raise RowProblem(f"the method template gives {method!r}, not an HTTP method")
        return method

    def _url_of(self, row: Row) -> str:
        for name in self._url.names:
            if lookup(row, name) is None:
                raise RowProblem(f"column {name} is empty, but the URL needs it")
        for name in self._path_names:
            # A value is one path segment, slashes and all encoded; but "." and ".." are
            # dot segments, which every client and server resolves: PUT /orders/{Id} with
            # ".." would be PUT / on the same host, with the same credentials.
            text = text_value(lookup(row, name), name)
            if text in (".", ".."):
                raise RowProblem(
                    f"column {name} is {text!r}, which in the URL's path would point at "
                    "another resource; fix the cell"
                )
        return self._url.render(row, encode=_url_component)

    def _headers_of(self, row: Row) -> list[tuple[str, str]]:
        rendered = []
        for name, template in self._headers:
            value = template.render(row)
            if "\r" in value or "\n" in value:
                raise RowProblem(f"header {name} would contain a line break")
            rendered.append((name, value))
        return rendered

    def _plan(self, row: Row) -> Job:
        method = self._method_of(row)
        url = self._url_of(row)

        body: bytes | None = None
        if self._item is not None:
            body = self._item.encode(row, self._body)
        elif self._body is not None:
            body = encode_json(self._body(row))
        elif method not in BODILESS_METHODS:
            body = encode_json(row_object(row))

        headers = dict(self._base_headers)
        if body is not None:
            headers["content-type"] = ("Content-Type", "application/json")
        for name, value in self._headers_of(row):
            headers[name.lower()] = (name, value)
        for name, secret in self._credentials:
            headers[name.lower()] = (name, secret)
        if method in NON_IDEMPOTENT_METHODS and IDEMPOTENCY_HEADER.lower() not in headers:
            key = idempotency_key(row, method, url, body)
            headers[IDEMPOTENCY_HEADER.lower()] = (IDEMPOTENCY_HEADER, key)
        return Job(row, method, url, tuple(headers.values()), body)


class _Item:
    """A row as one item of a batch (--batch): its JSON value, with the trace id a
    `match = "trace"` style needs in it, after its action line in an ndjson style. The
    batch's envelope is put round the items when it is sent (calls.bulk)."""

    def __init__(self, settings: Settings, columns: Sequence[str]) -> None:
        style = style_for(settings)
        self._trace = style.trace
        self._style = style.name
        action = settings.bulk_action if settings.bulk_action is not None else style.action
        self._action: BodyRenderer | None = None
        if style.format == "ndjson" and action:
            self._action = compile_body(action, columns)

    def value(self, row: Row, body: BodyRenderer | None) -> JSONValue:
        value = body(row) if body is not None else row_object(row)
        if self._trace is not None:
            if not isinstance(value, dict):
                raise RowProblem(
                    f"the {self._style} style's inputs are JSON objects (they carry "
                    f"{self._trace}), and the body template gives {type(value).__name__}"
                )
            value = {**value, self._trace: trace_id(row)}
        return value

    def encode(self, row: Row, body: BodyRenderer | None) -> bytes:
        item = encode_json(self.value(row, body))
        if self._action is None:
            return item
        return encode_json(self._action(row)) + b"\n" + item
