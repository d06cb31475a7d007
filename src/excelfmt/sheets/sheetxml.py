"""A worksheet part's rows, parsed with expat: the values openpyxl's parser finds, faster.

openpyxl's sheet parser builds an ElementTree element for every row and cell and looks
up each cell's parts with find(): about 25 µs a cell, a third of the workbook process's
time in a run (docs/performance.md). This reads the same XML with expat's callbacks and
gives each cell openpyxl's meaning (number or integer, dates by the cell's style, shared
and inline strings, booleans, errors, cached formula values); a test compares the two on
every workbook of the corpus. Like defusedxml, it refuses any DTD.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import IO, Any

from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.utils.escape import unescape
from openpyxl.xml.constants import SHEET_MAIN_NS

from ..models import CellError, CellValue
from .numfmt import displayed

CHUNK_BYTES = 1 << 16
"""Bytes of XML parsed at a time: rows are handed on after each chunk."""
_DIGITS = "0123456789"

RawRow = tuple[int, tuple[CellValue, ...]]
"""A sheet row number and its cell values, before the header is applied."""


@dataclass(frozen=True, slots=True)
class _Styles:
    """The style ids that make a number a date, a duration, or a date without a time,
    and the number formats to keep with numbers (for `text` columns)."""

    epoch: datetime
    dates: frozenset[int]
    durations: frozenset[int]
    days: frozenset[int]
    number_formats: Mapping[int, str]


class _Cell:
    """The cell element being read: its type, style, <v> text and inline-string text."""

    __slots__ = ("inline", "kind", "style", "value")

    def __init__(self) -> None:
        self.kind, self.style = "n", 0
        self.value: str | None = None
        self.inline: list[str] | None = None


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
    """
    styles = _Styles(epoch, date_styles, duration_styles, day_styles, number_formats or {})
    row_tag, cell_tag, value_tag, inline_tag, text_tag, phonetic_tag = (
        f"{SHEET_MAIN_NS}}}{tag}" for tag in ("row", "c", "v", "is", "t", "rPh")
    )
    ready: list[RawRow] = []
    cells: dict[int, CellValue] = {}
    text: list[str] = []
    at = {"row": 0, "column": 0}  # the row being read and its last cell's column
    cell = _Cell()
    state = {"collect": False, "inline": False, "phonetic": 0}

    def start(name: str, attributes: dict[str, str]) -> None:
        if name == cell_tag:
            reference = attributes.get("r")
            if reference:
                at["column"] = column_index_from_string(reference.rstrip(_DIGITS).upper())
            else:
                at["column"] += 1
            cell.kind = attributes.get("t", "n")
            cell.style = int(attributes.get("s") or 0)
            cell.value = cell.inline = None
        elif name == value_tag:
            state["collect"] = True
            text.clear()
        elif name == inline_tag:
            state["inline"] = True
            cell.inline = []
        elif name == text_tag:
            state["collect"] = state["inline"] and not state["phonetic"]
            text.clear()
        elif name == phonetic_tag:
            state["phonetic"] += 1
        elif name == row_tag:
            number = attributes.get("r")
            at["row"] = at["row"] + 1 if number is None else _row_number(number)
            at["column"] = 0
            cells.clear()

    def end(name: str) -> None:
        if name == value_tag:
            state["collect"] = False
            cell.value = "".join(text)
        elif name == text_tag:
            if state["collect"] and cell.inline is not None:
                cell.inline.append("".join(text))
            state["collect"] = False
        elif name == phonetic_tag:
            state["phonetic"] -= 1
        elif name == inline_tag:
            state["inline"] = False
        elif name == cell_tag:
            cells[at["column"]] = _value(cell, shared_strings, styles)
        elif name == row_tag and cells:
            values: list[CellValue] = [None] * max(cells)
            for column, value in cells.items():
                values[column - 1] = value
            ready.append((at["row"], tuple(values)))

    def characters(data: str) -> None:
        if state["collect"]:
            text.append(data)

    parser = guarded_parser("the worksheet declares", start, end, characters)
    while chunk := source.read(CHUNK_BYTES):
        parser.Parse(chunk, False)
        yield from ready
        ready.clear()
    parser.Parse(b"", True)
    yield from ready


def guarded_parser(
    what: str,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    characters: Callable[[str], None],
) -> Any:
    """An expat parser with these handlers, namespaces joined as "{uri}}tag", that refuses
    any DTD (no entity bombs), like defusedxml. `what` starts the refusal's sentence."""
    from xml.parsers import expat

    def refuse(*_: object) -> None:
        raise ValueError(f"{what} a DTD, which is not allowed")

    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    return parser


def _row_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        number = float(text)  # some writers say r="2.0"
        if not number.is_integer():
            raise ValueError(f"{text} is not a valid row number") from None
        return int(number)


def _value(cell: _Cell, shared_strings: Sequence[str], styles: _Styles) -> CellValue:
    """The cell's value as openpyxl reads it (data only), then as excelfmt keeps it."""
    kind, raw = cell.kind, cell.value or None
    value: CellValue
    if kind == "inlineStr":
        value = None if cell.inline is None else "".join(cell.inline)
    elif raw is None:
        return None
    elif kind == "n":
        number = float(raw) if "." in raw or "E" in raw or "e" in raw else int(raw)
        if cell.style not in styles.dates:
            shown_as = styles.number_formats.get(cell.style)
            return number if shown_as is None else displayed(number, shown_as)
        try:
            moment = from_excel(number, styles.epoch, timedelta=cell.style in styles.durations)
        except (OverflowError, ValueError):
            return CellError("#VALUE!")  # a date outside the calendar
        return _day_or_moment(moment, cell, styles)
    elif kind == "s":
        value = shared_strings[int(raw)]
    elif kind == "b":
        return bool(int(raw))
    elif kind == "d":
        return _day_or_moment(from_ISO8601(raw), cell, styles)  # type: ignore[no-untyped-call]
    elif kind == "e":
        return CellError(raw)
    else:  # "str" (a formula's text) and anything unknown: the text as written
        value = raw
    if not isinstance(value, str):
        return None
    if "_x" in value:  # Excel's escape for control characters, e.g. _x000D_ for CR
        value = unescape(value)
    return value or None


def _day_or_moment(value: CellValue, cell: _Cell, styles: _Styles) -> CellValue:
    """A datetime at midnight in a cell formatted as a date without a time is a date."""
    if isinstance(value, datetime) and cell.style in styles.days and value.time() == time(0):
        return value.date()
    return value
