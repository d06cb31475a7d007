"""Workbook -> header + a stream of Rows.

.xlsx/.xlsm are read with openpyxl (xlsxbook: the package; xlsxrows: one sheet's rows,
values not formulas, streamed), its output corrected where Excel shows otherwise, so
memory does not grow with the sheet. CSV and TSV are streamed by delimited (the csv
module). Formats openpyxl cannot open (.xls, .xlsb, .ods, Strict OOXML) go through
python-calamine, which loads one sheet whole; those files are small in practice. The
format is the content's, never the name's.
Every problem with the file becomes an InputError naming file, sheet and cell; a cell
that cannot be read refuses its row (Row.problem), not the file.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any
from xml.etree.ElementTree import ParseError

from ..errors import ExcelfmtError, InputError
from ..models import CellValue, Row
from . import delimited
from .cells import BadCell, RawRow
from .coltypes import ColumnTypes
from .opc import MAX_RATIO
from .sniff import Format, sniff

if TYPE_CHECKING:
    from ..settings.config import Settings

_SUFFIXES = {
    Format.XLS: (".xls",),
    Format.XLSB: (".xlsb",),
    Format.ODS: (".ods",),
    Format.XLSX_NONSTANDARD: (".xlsx", ".xlsm"),
}
"""The names calamine expects each format under; by its path it also tells an encrypted
legacy .xls, which it cannot recognise from the bytes alone."""


@dataclass(frozen=True)
class Sheet:
    """The header of one sheet and a way to stream its data rows."""

    path: Path
    name: str
    columns: tuple[str, ...]
    header_row: int
    estimated_rows: int | None
    """Data rows below the header as the file declares them; None when it does not say."""
    _raw_rows: Iterator[RawRow]
    _types: ColumnTypes | None = None
    sheets: tuple[str, ...] = ()
    """Every worksheet of the file (a CSV's one, named after it): for a person to pick."""

    def rows(self, limit: int | None = None) -> Iterator[Row]:
        """Yield the data rows in order, skipping fully empty rows, with the column types
        applied. Single use."""
        width = len(self.columns)
        seq = 0
        try:
            for number, cells in self._raw_rows:
                if number <= self.header_row:
                    continue  # written after the rows below it: above the header all the same
                if not any(_has_value(value) for value in cells[:width]):
                    continue
                padded = cells[:width] + (None,) * (width - len(cells))
                values = dict(zip(self.columns, padded, strict=True))
                problem = _unread_cells(values) if BadCell in map(type, padded) else None
                row = Row(seq, number, values, problem)
                yield row if self._types is None else self._types.apply(row)
                seq += 1
                if limit is not None and seq >= limit:
                    return
        except InputError:
            raise
        except Exception as exc:
            raise InputError(
                f"{self.path}: reading sheet '{self.name}' failed after {seq} data rows: "
                f"{_reason(exc)}."
            ) from exc


def open_sheet(path: Path, settings: Settings) -> OpenSheet:
    """The sheet a run with these settings reads."""
    return OpenSheet(
        path,
        settings.sheet,
        settings.header_row,
        delimiter=settings.delimiter,
        encoding=settings.encoding,
        types=settings.type,
        decimal_comma=settings.decimal_comma,
        max_inflation=settings.max_inflation,
    )


class OpenSheet(AbstractContextManager["Sheet"]):
    """Open a sheet for reading: `with OpenSheet(path) as sheet: for row in sheet.rows()`."""

    def __init__(
        self,
        path: Path,
        sheet: str | None = None,
        header_row: int = 1,
        *,
        delimiter: str | None = None,
        encoding: str | None = None,
        types: Sequence[tuple[str, str]] = (),
        decimal_comma: bool = False,
        max_inflation: int = MAX_RATIO,
    ) -> None:
        """`delimiter` and `encoding` settle what is otherwise worked out for CSV/TSV;
        `types` (column, type) and `decimal_comma` say what cells are (coltypes);
        `max_inflation` is the most a workbook part may inflate (opc.Archive)."""
        self._path, self._sheet, self._header_row = path, sheet, header_row
        self._delimiter, self._encoding = delimiter, encoding
        self._types, self._decimal_comma = types, decimal_comma
        self._max_inflation = max_inflation
        # Numbers keep their cell's number format only for a text column to show.
        self._number_formats = any(kind == "text" for _, kind in types)
        self._close: list[Any] = []
        self._names: list[str] = []

    def __enter__(self) -> Sheet:
        fmt = sniff(self._path)
        try:
            if fmt is Format.XLSX:
                name, estimated, raw = self._open_xlsx()
            elif fmt is Format.CSV:
                name, estimated, raw = self._open_delimited()
            else:
                name, estimated, raw = self._open_calamine(fmt)
            columns = _read_header(self._path, name, self._header_row, raw)
            types = ColumnTypes(self._types, columns, self._decimal_comma) if self._types else None
        except BaseException as exc:
            self.__exit__(None, None, None)
            if isinstance(exc, ExcelfmtError) or not isinstance(exc, Exception):
                raise
            raise InputError(f"{self._path} cannot be opened: {_reason(exc)}.") from exc
        if estimated is not None:
            estimated = max(0, estimated - self._header_row)
        found = tuple(self._names)
        return Sheet(self._path, name, columns, self._header_row, estimated, raw, types, found)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for closable in reversed(self._close):
            closable.close()
        self._close.clear()

    def _choose(self, names: list[str], visible: list[str]) -> str:
        self._names = names
        if self._sheet is None:
            if not visible:
                raise InputError(f"{self._path} has no visible worksheet to read.")
            return visible[0]
        if self._sheet in names:
            return self._sheet
        for name in names:  # Excel itself treats sheet names case-insensitively
            if name.casefold() == self._sheet.casefold():
                return name
        listed = ", ".join(f"'{name}'" for name in names) or "none"
        raise InputError(f"{self._path} has no sheet '{self._sheet}'; its sheets are: {listed}.")

    def _open_xlsx(self) -> tuple[str, int | None, Iterator[RawRow]]:
        # Imported here: a CSV run, and every command that reads no workbook, loads no
        # openpyxl.
        import warnings

        from .xlsxbook import Book
        from .xlsxrows import sheet_rows

        handle = self._path.open("rb")
        self._close.append(handle)
        with warnings.catch_warnings():
            # openpyxl warns of what it leaves out (extensions, a sheet without an id, a
            # missing default style); none of it changes a value.
            warnings.simplefilter("ignore")
            book = Book(handle, str(self._path), self._max_inflation)
        self._close.append(book)
        sheets = {sheet.name: sheet for sheet in book.sheets}
        if not sheets:
            raise InputError(f"{self._path} contains no worksheets.")
        visible = [sheet.name for sheet in book.sheets if sheet.visible]
        name = self._choose(list(sheets), visible)
        part = sheets[name].part
        estimated = _declared_last_row(book.open_part(part))
        source = book.open_part(part)
        self._close.append(source)
        rows = sheet_rows(source, book.shared_strings, book.styles, self._number_formats)
        return name, estimated, rows

    def _open_delimited(self) -> tuple[str, int | None, Iterator[RawRow]]:
        dialect = delimited.detect(self._path, self._delimiter, self._encoding)
        # One sheet, named after the file, as Excel names it when it opens a CSV.
        name = self._choose([self._path.stem], [self._path.stem])
        handle, rows = delimited.open_rows(self._path, dialect)
        self._close.append(handle)
        return name, dialect.estimated_rows, rows

    def _open_calamine(self, fmt: Format) -> tuple[str, int | None, Iterator[RawRow]]:
        import python_calamine

        try:
            if self._path.suffix.lower() in _SUFFIXES[fmt]:
                book = python_calamine.CalamineWorkbook.from_path(str(self._path))
            else:
                # calamine picks its parser by the suffix, and an .xls saved under an
                # .xlsx name is still an .xls: then it works from the bytes.
                handle = self._path.open("rb")
                self._close.append(handle)
                book = python_calamine.CalamineWorkbook.from_filelike(handle)
        except python_calamine.PasswordError:
            raise InputError(
                f"{self._path} is password-protected; open it in Excel, remove the password "
                "and save it again."
            ) from None
        self._close.append(book)
        sheets = [
            m for m in book.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet
        ]
        names = [m.name for m in sheets]
        if not names:
            raise InputError(f"{self._path} contains no worksheets.")
        visible = [m.name for m in sheets if m.visible == python_calamine.SheetVisibleEnum.Visible]
        sheet = book.get_sheet_by_name(self._choose(names, visible))
        first_row = sheet.start[0] + 1 if sheet.start else 1
        first_col = sheet.start[1] if sheet.start else 0
        rows = (
            (first_row + offset, (None,) * first_col + tuple(_calamine_value(v) for v in values))
            for offset, values in enumerate(sheet.iter_rows())
        )
        return sheet.name, first_row + sheet.height - 1, rows


def _calamine_value(value: Any) -> CellValue:
    if value == "":
        return None
    # Legacy formats store every number as a float; 15.0 was typed as 15.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value  # type: ignore[no-any-return]


def _unread_cells(values: dict[str, CellValue]) -> str | None:
    """Why the row's unreadable cells (BadCell) cannot be sent; each is then kept as the
    text written, for a person to fix."""
    bad = {column: cell for column, cell in values.items() if isinstance(cell, BadCell)}
    values.update((column, str(cell)) for column, cell in bad.items())
    return "; ".join(f"{column}: {cell.reason}" for column, cell in bad.items()) or None


def _has_value(value: CellValue) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _header_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _read_header(path: Path, sheet: str, header_row: int, raw: Iterator[RawRow]) -> tuple[str, ...]:
    where = f"{path}, sheet '{sheet}'"
    found = next(islice(((n, cells) for n, cells in raw if n >= header_row), 1), None)
    if found is None or found[0] != header_row or not any(map(_has_value, found[1])):
        raise InputError(
            f"{where}: row {header_row} is empty, so it cannot hold the column names; "
            "use --header-row to say which row does."
        )
    names = [_header_text(value) for value in found[1]]
    while names and not names[-1]:
        names.pop()

    def cell(index: int) -> str:
        return f"{column_letters(index + 1)}{header_row}"

    empty = [cell(i) for i, name in enumerate(names) if not name]
    if empty:
        cells, verb = ("cells", "are") if len(empty) > 1 else ("cell", "is")
        raise InputError(
            f"{where}: header {cells} {', '.join(empty)} {verb} empty; every column needs a "
            "name (or use --header-row to pick another row)."
        )
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise InputError(
                f"{where}: the column name '{name}' appears twice, in {cell(seen[name])} and "
                f"{cell(index)}; column names must be unique."
            )
        seen[name] = index
    return tuple(names)


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]*\d*:?[A-Z]*(\d+)"')


def _declared_last_row(part: IO[bytes]) -> int | None:
    """The last row the sheet's <dimension> declares, for progress only: its head is
    read, and a dimension of one cell (what writers leave who do not know) is none."""
    with part:
        found = _DIMENSION.search(part.read(8192))
    last = int(found.group(1)) if found else None
    return last if last is not None and last > 1 else None


def column_letters(index: int) -> str:
    """A column's letters from its number: 1 is A, 28 is AB."""
    letters = ""
    while index > 0:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _reason(exc: BaseException) -> str:
    """A short, human reason for a parser failure."""
    if isinstance(exc, ParseError) and "amplification" in str(exc):
        return (
            "its XML declares entities that expand without end (an entity bomb), which "
            "excelfmt does not read"
        )
    if isinstance(exc, OSError) and not exc.errno and "workbook part" in str(exc):
        return "it has no workbook part: it is not a workbook Excel wrote"
    if isinstance(exc, zipfile.BadZipFile):
        return f"the file is damaged or truncated ({exc})"
    if isinstance(exc, KeyError):
        return f"a part of the workbook is missing ({exc.args[0] if exc.args else exc})"
    if isinstance(exc, ParseError):
        return f"its XML is broken ({exc})"
    text = str(exc).strip().rstrip(".")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
