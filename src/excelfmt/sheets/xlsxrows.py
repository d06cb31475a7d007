"""A worksheet's rows, parsed by openpyxl and made into the values Excel shows.

openpyxl's WorkSheetParser (what its read-only sheets iterate) parses the part: row by
row, each cell's column, type, style and value. Given no date styles it leaves numbers
as numbers; the values are then made here, from each cell's own style (xlsxbook.Styles),
where openpyxl's differ from what Excel shows:
- a serial Excel shows as ##### (negative) or as 29 February 1900 (serial 60, a day that
  never was) refuses its row; in the 1904 system a serial under 1 is a moment of
  1 January 1904, not a time of day;
- `t="d"` cells keep their time, microseconds and offset as written (openpyxl cuts
  microseconds to milliseconds and drops offsets);
- text is decoded of its `_xHHHH_` escapes, once, shared strings and inline alike;
- a cell no reading makes a value of (a boolean `maybe`, a number `1E400` or `NaN`, a
  shared string that is not there) is a BadCell that refuses its row, where openpyxl
  raises and ends the sheet;
- cells go to their own column whatever their order, and a cell written twice refuses
  its row; rows come in file order, each with its own number, none dropped (openpyxl's
  read-only sheet drops a row written after a higher one).
The parse is linear in the part's size (expat, through ElementTree's iterparse).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from datetime import datetime, time, timedelta
from typing import IO, Any

from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel
from openpyxl.worksheet._reader import VALUE_TAG, WorkSheetParser

from ..models import CellError, CellValue
from .cells import BadCell, RawRow, decode_escapes
from .numfmt import displayed, general
from .xlsxbook import Styles

_BOOLEANS = {"1": True, "0": False, "true": True, "false": False}
_ONE_DAY = timedelta(days=1)


def sheet_rows(
    source: IO[bytes], shared_strings: Sequence[str], styles: Styles, number_formats: bool
) -> Iterator[RawRow]:
    """The part's rows that have a cell, in file order. `number_formats`: numbers keep
    the format they are shown in (numfmt.displayed), for text columns."""
    shown = styles.shown if number_formats else {}
    with warnings.catch_warnings():
        # openpyxl warns of what it leaves out of a sheet (extensions, a header it cannot
        # parse): nothing a value depends on, and no sentence for a person.
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        yield from _rows(_Parser(source, shared_strings).parse(), styles, shown)


def _rows(
    parsed: Iterator[tuple[int, list[dict[str, Any]]]], styles: Styles, shown: dict[int, str]
) -> Iterator[RawRow]:
    for number, cells in parsed:
        if not cells:
            continue
        values: list[CellValue] = [None] * max(cell["column"] for cell in cells)
        for cell in cells:
            value = _value(cell, styles, shown)
            at = cell["column"] - 1
            if values[at] is not None and value is not None:
                value = BadCell(str(value), "the cell is written twice in the file")
            values[at] = value
        yield number, tuple(values)


def _value(cell: dict[str, Any], styles: Styles, shown: dict[int, str]) -> CellValue:
    value = cell["value"]
    kind = type(value)
    if kind is str:
        if cell["data_type"] == "e":
            return CellError(value)
        if "_x" in value:
            value = decode_escapes(value)
        return value or None
    if kind is int or kind is float:
        style = cell["style_id"]
        if style in styles.dates:
            return _moment(value, style, styles)
        code = shown.get(style)
        return value if code is None else displayed(value, code)
    moment: CellValue = value
    midnight = isinstance(moment, datetime) and moment.time() == time(0)
    if midnight and cell["style_id"] in styles.days:
        return moment.date()  # type: ignore[union-attr]  # a t="d" moment shown as a date
    return moment


def _moment(serial: float, style: int, styles: Styles) -> CellValue:
    """The date, time or duration an Excel serial number is under a date format."""
    written = general(serial)
    if style in styles.durations:
        return from_excel(serial, styles.epoch, timedelta=True)  # type: ignore[no-any-return]
    if serial < 0:
        return BadCell(written, f"{written} is before the first date Excel has (it shows #####)")
    if styles.epoch == CALENDAR_WINDOWS_1900 and 60 <= serial < 61:
        return BadCell(
            written, "60 is 29 February 1900, a day that never was (Excel counts it by mistake)"
        )
    try:
        if styles.epoch == CALENDAR_MAC_1904 and serial < 1 and style not in styles.times:
            # openpyxl makes any serial under 1 a time of day: in 1904, it is 1 January.
            moment = from_excel(serial + 1, styles.epoch) - _ONE_DAY
        else:
            moment = from_excel(serial, styles.epoch)
    except (OverflowError, ValueError):
        return BadCell(written, f"{written} is after the last date Excel has (9999-12-31)")
    if style in styles.days and isinstance(moment, datetime) and moment.time() == time(0):
        return moment.date()
    return moment  # type: ignore[no-any-return]


class _Parser(WorkSheetParser):
    """openpyxl's sheet parser, kept from raising on one bad cell and from keeping what
    a stream of rows does not need."""

    def __init__(self, source: IO[bytes], shared_strings: Sequence[str]) -> None:
        super().__init__(source, shared_strings, data_only=True)

    def parse_row(self, row: Any) -> tuple[int, list[dict[str, Any]]]:
        before = self.row_counter
        try:
            number, cells = super().parse_row(row)
        except ValueError:  # r="x": a row number that is none; it follows the last one
            self.row_counter, self.col_counter = before + 1, 0
            number, cells = self.row_counter, [self.parse_cell(cell) for cell in row]
        self.row_dimensions.clear()  # openpyxl keeps each row's height: a stream keeps none
        return number, cells

    def parse_cell(self, element: Any) -> dict[str, Any]:
        kind = element.get("t")
        before = self.col_counter
        try:
            cell: dict[str, Any] = super().parse_cell(element)
        except (ValueError, IndexError, TypeError):
            self.col_counter = before
            return self._unread(element, kind)
        if kind == "d":
            cell["value"] = _written(kind, element.findtext(VALUE_TAG))
        elif type(cell["value"]) is float and not math.isfinite(cell["value"]):
            written = element.findtext(VALUE_TAG)
            cell["value"] = BadCell(written, f"{written!r} is not a number Excel has")
        return cell

    def _unread(self, element: Any, kind: str | None) -> dict[str, Any]:
        """The cell openpyxl could not read, in its place, as a BadCell saying why."""
        written = element.findtext(VALUE_TAG) or ""
        row, column = self.row_counter, self.col_counter + 1
        reference = element.get("r")
        value: CellValue
        try:
            if reference:
                row, column = coordinate_to_tuple(reference)
        except ValueError:
            value = BadCell(written, f"its reference {reference!r} names no cell")
        else:
            value = _written(kind, written) if kind in ("b", "d") else _why(kind, written)
        self.col_counter = column
        return {"row": row, "column": column, "value": value, "data_type": "n", "style_id": 0}


def _written(kind: str, text: str | None) -> CellValue:
    """A boolean or ISO 8601 cell's value from its text, as written."""
    if not text:
        return None
    if kind == "b":
        found = _BOOLEANS.get(text.strip().lower())
        return found if found is not None else BadCell(text, f"{text!r} is not TRUE or FALSE")
    for parse in (datetime.fromisoformat, time.fromisoformat):
        try:
            moment = parse(text.strip())
        except ValueError:
            continue
        # datetime.fromisoformat also reads a bare date: as written, it is a date.
        return moment.date() if isinstance(moment, datetime) and ":" not in text else moment
    return BadCell(text, f"{text!r} is not a date and time (ISO 8601)")


def _why(kind: str | None, written: str) -> BadCell:
    if kind == "s":
        return BadCell(written, f"it names shared string {written!r}, which the file does not have")
    if kind in (None, "n"):
        return BadCell(written, f"{written!r} is not a number")
    return BadCell(written, f"the file's XML for it cannot be read (type {kind!r})")
