"""A worksheet part's rows: the values openpyxl's parser finds, faster.

openpyxl's sheet parser builds an ElementTree element for every row and cell and looks
up each cell's parts with find(): about 25 µs a cell, a third of the workbook process's
time in a run (docs/performance.md). This reads the same XML with expat's callbacks, and
the plain rows that make up nearly every sheet with two regular expressions (half
expat's time again), and gives each cell openpyxl's meaning (number or integer, dates by
the cell's style, shared and inline strings, booleans, errors, cached formula values);
a test compares the two on every workbook of the corpus and on rows of every shape.
Like defusedxml, it refuses any DTD.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO

from .cellvalue import CellStyles, RawRow
from .expatrows import ExpatRows
from .plainrows import PlainRows

CHUNK_BYTES = 1 << 16
"""Bytes of XML parsed at a time: rows are handed on after each chunk."""


def sheet_rows(
    source: IO[bytes],
    shared_strings: Sequence[str],
    epoch: datetime,
    date_styles: frozenset[int],
    duration_styles: frozenset[int],
    day_styles: frozenset[int],
    number_formats: Mapping[int, str] | None = None,
) -> Iterator[RawRow]:
    """Rows that have at least one cell element, in file order, read CHUNK_BYTES at a time.

    `date_styles`: style ids whose number format is a date or time (their numbers become
    datetimes); `duration_styles`: those showing elapsed time (timedeltas); `day_styles`:
    dates without a time of day (a datetime at midnight becomes a date);
    `number_formats`: style ids whose numbers keep their format (numfmt.displayed).

    Plain rows (PlainRows) are read by regular expressions; everything else in the
    part goes through expat, which sees the whole part but those rows: it still checks
    the rest is well-formed and refuses a DTD.
    """
    styles = CellStyles(epoch, date_styles, duration_styles, day_styles, number_formats or {})
    ready: list[RawRow] = []
    at = {"row": 0, "column": 0}  # the row being read and its last cell's column
    expat = ExpatRows(shared_strings, styles, ready, at)
    head, sheet_data = _up_to_sheet_data(source)
    if sheet_data is None or sheet_data.group(1) or not _utf8(head):
        expat.feed(head)  # no rows, or not a part this reads plainly: expat throughout
    else:
        expat.feed(head[: sheet_data.end()])
        rest = head[sheet_data.end() :]
        if expat.in_sheet_data:  # the tag was not in a comment, nor in another namespace
            plain = PlainRows(shared_strings, styles, ready, at)
            while not plain.done:
                rest = plain.read(rest, expat)
                yield from ready
                ready.clear()
                if not plain.done:
                    chunk = source.read(CHUNK_BYTES)
                    if not chunk:
                        break  # the part is cut short: expat says how
                    rest += chunk
        expat.feed(rest)
    yield from ready
    ready.clear()
    while chunk := source.read(CHUNK_BYTES):
        expat.feed(chunk)
        yield from ready
        ready.clear()
    expat.finish()
    yield from ready


def _up_to_sheet_data(source: IO[bytes]) -> tuple[bytes, re.Match[bytes] | None]:
    """The part's first chunks, as far as its <sheetData> tag, and the tag."""
    head = b""
    while chunk := source.read(CHUNK_BYTES):
        head += chunk
        found = _SHEET_DATA.search(head)
        if found is not None or len(head) >= _HEAD_LIMIT:
            return head, found
    return head, None


_HEAD_LIMIT = 1 << 20
"""Bytes to look through for <sheetData> before leaving the whole part to expat."""
_SHEET_DATA = re.compile(rb"<sheetData(?:\s[^<>]*)?(/?)>")
_DECLARED_ENCODING = re.compile(rb"^<\?xml[^>]*\sencoding\s*=\s*[\"']([^\"']*)[\"']")


def _utf8(head: bytes) -> bool:
    """Whether the part is UTF-8 (as Excel writes it), so its bytes can be matched as is."""
    declared = _DECLARED_ENCODING.match(head.removeprefix(b"\xef\xbb\xbf"))
    return declared is None or declared.group(1).lower() in (b"utf-8", b"utf8")
