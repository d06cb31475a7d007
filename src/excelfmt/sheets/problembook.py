"""The problems file of `excelfmt check`: one row per problem, the row's cells beside it.

Streamed with XlsxWriter as the check goes, so a sheet of a million bad rows is no
harder than one; written beside the target and renamed into place at the end. Text from
the sheet is always written as text, never as a formula.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import TracebackType

from ..errors import UsageError
from ..models import CellValue

CELL_LIMIT = 32_767


class ProblemBook:
    """`with ProblemBook(path) as book: book.add(row, message, values)`; the sheet's
    columns are those of the first row added."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        if path.suffix.lower() != ".xlsx":
            raise UsageError(f"--output must end in .xlsx, got {path.name!r}.")
        self._path = path
        self._columns: tuple[str, ...] | None = None
        self._part = path.with_name(f".{path.name}.part")
        try:
            self._book = xlsxwriter.Workbook(
                str(self._part), {"constant_memory": True, "strings_to_formulas": False}
            )
        except OSError as exc:
            raise UsageError(f"Cannot write {path}: {exc.strerror or exc}.") from None
        self._sheet = self._book.add_worksheet("Problems")
        self._sheet.freeze_panes(1, 2)
        self._sheet.set_column(1, 1, 60)
        self._next = 1

    def _header(self, columns: Sequence[str]) -> None:
        self._columns = tuple(columns)
        bold = self._book.add_format({"bold": True})
        for index, title in enumerate(("row", "problem", *self._columns)):
            self._sheet.write_string(0, index, title, bold)

    def add(self, row: int, message: str, values: Mapping[str, CellValue]) -> None:
        if self._columns is None:
            self._header(list(values))
        assert self._columns is not None
        sheet, line = self._sheet, self._next
        sheet.write_number(line, 0, row)
        sheet.write_string(line, 1, message[:CELL_LIMIT])
        for index, column in enumerate(self._columns, start=2):
            value = values.get(column)
            if isinstance(value, bool):
                sheet.write_boolean(line, index, value)
            elif isinstance(value, int | float):
                sheet.write_number(line, index, value)
            elif isinstance(value, datetime | date | time):
                sheet.write_string(line, index, value.isoformat())
            elif isinstance(value, timedelta):
                sheet.write_string(line, index, str(value))
            elif value is not None:
                sheet.write_string(line, index, str(value)[:CELL_LIMIT])
        self._next += 1

    def __enter__(self) -> ProblemBook:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._columns is None:
            self._header(())  # nothing to report: the file says so by being empty
        elif self._next > 1:
            self._sheet.autofilter(0, 0, self._next - 1, len(self._columns) + 1)
        try:
            self._book.close()
            if exc_type is None:
                os.replace(self._part, self._path)
        except OSError as err:
            raise UsageError(f"Cannot write {self._path}: {err.strerror or err}.") from None
        finally:
            self._part.unlink(missing_ok=True)
