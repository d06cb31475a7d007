"""The Results sheet's rows as SpreadsheetML, written here and spliced into XlsxWriter's file.

XlsxWriter takes about 80 µs of CPU for a row of nine cells (a Python call, a cell
object and an escape pass per cell), the largest share of a run's CPU after aiohttp
itself. The rows of the Results sheet are plain: text, numbers, booleans, dates and
blanks with one of a handful of styles. So `RowWriter` writes each row's XML as
XlsxWriter's constant-memory mode writes it, byte for byte (a test compares the two),
into a file of its own, in about a tenth of the time; XlsxWriter still makes everything
else: the header row, styles, panes, column widths, the filter, the Summary sheet. At
the end `splice` copies XlsxWriter's package and puts the rows inside its Results sheet.

Two XlsxWriter internals are used, both where XlsxWriter itself uses them for each cell:
`Format._get_xf_index` (a format's number in styles.xml) and the date conversion.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

from xlsxwriter.utility import _datetime_to_excel_datetime, xl_col_to_name

from .writer import CELL_LIMIT, FORMULA_TRIGGERS

Style = Callable[[str, str, bool], int | None]
"""(role, kind of date, quote prefix) -> the cell's style number, None for none."""

_SPECIAL = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
"""What a string needs escaping for; most cells need none."""
_ESCAPED_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile("([\x00-\x08\x0b-\x1f])")
_INFINITY = float("inf")


class RowWriter:
    """Writes rows of cells to `out`, each cell with its role's style."""

    def __init__(self, out: IO[Any], columns: int, style: Style) -> None:
        self._out = out
        self._letters = [xl_col_to_name(column) for column in range(columns)]
        self._style = style
        self._styles: dict[tuple[str, str, bool], str] = {}
        self._plain: dict[tuple[str, ...], list[str]] = {}

    def write(self, rows: Sequence[tuple[int, Sequence[Any], tuple[str, ...]]]) -> None:
        """Each (row number from 1, values, role of each value) as a <row> element."""
        parts: list[str] = []
        append = parts.append
        for number, values, roles in rows:
            start = len(parts)
            append(f'<row r="{number}">')
            plain = self._plain.get(roles) or self._plain_styles(roles)
            for letter, value, role, style in zip(self._letters, values, roles, plain, strict=True):
                kind = type(value)
                # The common cells first, by exact type: a bool is not an int here.
                if kind is str:
                    append(self._text(f"{letter}{number}", value, role, style))
                elif kind is int or kind is float:
                    append(self._number(f"{letter}{number}", value, role, style))
                elif value is None:
                    if role:  # a failed row is coloured across, its empty cells too
                        append(f'<c r="{letter}{number}"{style}/>')
                else:
                    append(self._other(f"{letter}{number}", value, role, style))
            if len(parts) == start + 1:
                del parts[start]  # no cell: no row, as XlsxWriter does
            else:
                append("</row>")
        self._out.write("".join(parts).encode())

    def _plain_styles(self, roles: tuple[str, ...]) -> list[str]:
        found = self._plain[roles] = [self._s(role, "", False) for role in roles]
        return found

    def _text(self, ref: str, value: str, role: str, style: str) -> str:
        if len(value) > CELL_LIMIT:
            value = value[: CELL_LIMIT - 1] + "…"
        if value.startswith(FORMULA_TRIGGERS):
            # Never a formula, and marked so it stays text when edited in Excel.
            style = self._s(role, "", True)
        return _text(ref, style, value)

    def _number(self, ref: str, value: float, role: str, style: str) -> str:
        if value != value or value in (_INFINITY, -_INFINITY):
            return _text(ref, style, str(value))  # no such number in Excel: its text
        return f'<c r="{ref}"{style}><v>{value:.16G}</v></c>'

    def _other(self, ref: str, value: Any, role: str, style: str) -> str:
        if isinstance(value, bool):
            return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | float):  # a subclass: Decimal is not one, IntEnum is
            return self._number(ref, float(value), role, style)
        if isinstance(value, datetime | date | time | timedelta):
            serial = _datetime_to_excel_datetime(value, False, False)
            style = self._s(role, type(value).__name__, False)
            return f'<c r="{ref}"{style}><v>{serial:.16G}</v></c>'
        return self._text(ref, str(value), role, style)

    def _s(self, role: str, kind: str, quote: bool) -> str:
        key = (role, kind, quote)
        found = self._styles.get(key)
        if found is None:
            number = self._style(role, kind, quote)
            found = self._styles[key] = "" if number is None else f' s="{number}"'
        return found


def _text(ref: str, style: str, value: str) -> str:
    """An inline string, escaped as XlsxWriter escapes it."""
    if _SPECIAL.search(value):
        value = _ESCAPED_ESCAPE.sub(r"_x005F\1", value)
        value = _CONTROL.sub(lambda found: f"_x{ord(found.group(1)):04X}_", value)
        value = value.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    preserve = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{preserve}>{value}</t></is></c>'


_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
ROWS_COMPRESSION = 3
"""zlib's level for the Results rows, most of the file: 10,000 rows deflate in 44 ms
at 3 and 104 ms at zlib's default 6, for a file 10% larger (docs/performance.md)."""


def splice(frame: Path, sheet: str, rows: Path, dimension: str, target: Path) -> None:
    """Copy the package `frame` to `target` with `rows` (XML <row> elements) appended to
    the sheet data of its part `sheet` (e.g. xl/worksheets/sheet1.xml), whose dimension
    becomes `dimension` (e.g. A1:M10001)."""
    with (
        zipfile.ZipFile(frame) as source,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=ROWS_COMPRESSION) as made,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename != sheet:
                made.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            data = _DIMENSION.sub(f'<dimension ref="{dimension}"/>'.encode(), data, count=1)
            head, found, tail = data.partition(b"</sheetData>")
            opening = b""
            if not found:  # a sheet with no row yet: <sheetData/>
                head, found, tail = data.partition(b"<sheetData/>")
                opening = b"<sheetData>"
            if not found:
                raise RuntimeError(f"no sheet data in {sheet} to add the rows to")
            # Zip64 when the part may pass 2 GiB (a million rows of long responses).
            large = rows.stat().st_size + len(data) > (1 << 31) - (1 << 20)
            with (
                # By name: the archive's compresslevel applies (the other parts keep
                # zlib's default, as XlsxWriter wrote them).
                made.open(info.filename, "w", force_zip64=large) as part,
                rows.open("rb") as streamed,
            ):
                part.write(head + opening)
                shutil.copyfileobj(streamed, part, 1 << 20)
                part.write(b"</sheetData>" + tail)
