"""The fix workbook: a session's open errors as rows to correct in Excel, and back.

`write` lays out one row per error: its id, the row's cells, then the API's message and
the fields it refused, with the refused cells highlighted. `read` takes the corrected
cells back, by error id; the extra columns are ignored, so people may add notes.

    python -m excelfmt.sheets.fixbook FILE    # read's answer as JSON on stdout

is how `excelfmt serve` reads an uploaded fix workbook: in a process of its own, which
it can bound and stop, never in its own.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ExcelfmtError, UsageError
from ..models import JSONValue
from ..store.records import RowError
from ..store.rowerrors import cell_values, matching_column
from .reader import OpenSheet

SHEET = "Errors"
ID_COLUMN = "error id"
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
REFUSED = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}
"""How a cell the API refused stands out."""
# The store keeps a date cell as the ISO text the request carried. Written back as a date
# in these formats, it reads back as exactly that text (a date-only format gives a date,
# not a datetime), and Excel shows a date a person can sort, filter and retype.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_DATE_FORMATS = {_DATE: "yyyy-mm-dd", _DATETIME: "yyyy-mm-dd hh:mm:ss"}


def _as_date(value: str) -> tuple[datetime, str] | None:
    """A stored ISO date or date and time, as a datetime and the format that shows it."""
    for pattern, shown in _DATE_FORMATS.items():
        if pattern.fullmatch(value):
            try:
                return datetime.fromisoformat(value), shown
            except ValueError:  # 2024-02-30: text that only looks like a date
                return None
    return None


def _extra_columns(columns: Sequence[str]) -> tuple[str, str, str]:
    """The fix workbook's own columns, renamed when the sheet already uses the names."""
    names = [ID_COLUMN, "error", "field errors"]
    taken = {c.casefold() for c in columns}
    return tuple(  # type: ignore[return-value]
        f"{name} (excelfmt)" if name.casefold() in taken else name for name in names
    )


def write(errors: Sequence[RowError], path: Path) -> int:
    """Write the fix workbook for `errors` (of one session) to `path`; return the rows."""
    import xlsxwriter

    columns = list(errors[0].values) if errors else []
    id_name, error_name, fields_name = _extra_columns(columns)
    header = [id_name, *columns, error_name, fields_name]
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
        dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
    )
    handle.close()
    try:
        book = xlsxwriter.Workbook(
            handle.name,
            {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
        )
        sheet = book.add_worksheet(SHEET)
        bold = book.add_format(
            {"bold": True, "font_color": "#FFFFFF", "bg_color": "#305496", "bottom": 1}
        )
        refused = book.add_format(REFUSED)
        message = book.add_format({"font_color": "#9C0006", "text_wrap": False})
        quoted = book.add_format({"quote_prefix": True})
        quoted_refused = book.add_format({"quote_prefix": True, **REFUSED})
        dates = {
            (shown, bad): book.add_format({"num_format": shown, **(REFUSED if bad else {})})
            for shown in _DATE_FORMATS.values()
            for bad in (False, True)
        }
        widths = [len(name) + 2 for name in header]
        sheet.write_row(0, 0, header, bold)
        for index, error in enumerate(errors, start=1):
            bad = {matching_column(field, columns) for field, _ in error.fields} - {None}
            cells: list[Any] = [
                error.short_id,
                *(error.values.get(c) for c in columns),
                error.message or "",
                "; ".join(f"{field}: {text}" for field, text in error.fields),
            ]
            for column, value in enumerate(cells):
                is_bad = 0 < column <= len(columns) and columns[column - 1] in bad
                if isinstance(value, str) and value.startswith(_FORMULA_TRIGGERS):
                    sheet.write_string(index, column, value, quoted_refused if is_bad else quoted)
                elif column > len(columns):
                    sheet.write_string(index, column, str(value), message)
                elif isinstance(value, str) and (when := _as_date(value)):
                    sheet.write_datetime(index, column, when[0], dates[when[1], is_bad])
                elif isinstance(value, str):
                    sheet.write_string(index, column, value, refused if is_bad else None)
                elif value is None:
                    sheet.write_blank(index, column, None, refused if is_bad else None)
                else:
                    sheet.write(index, column, value, refused if is_bad else None)
                widths[column] = max(widths[column], min(len(str(value or "")), 60))
        for column, width in enumerate(widths):
            sheet.set_column(column, column, width + 1)
        sheet.freeze_panes(1, 1)
        sheet.autofilter(0, 0, len(errors), len(header) - 1)
        book.close()
        os.replace(handle.name, path)
    except OSError as exc:
        Path(handle.name).unlink(missing_ok=True)
        raise UsageError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    return len(errors)


def read(path: Path) -> dict[str, dict[str, JSONValue]]:
    """The cells of each row of a fix workbook, by the (short) error id in its first column.

    Every column but the first is returned; the caller takes those the session's sheet has.
    """
    with OpenSheet(path, None, 1) as sheet:
        id_name = sheet.columns[0]
        if not id_name.startswith(ID_COLUMN):
            raise UsageError(
                f"{path} does not start with an '{ID_COLUMN}' column; give the file "
                "`excelfmt errors export` wrote (its rows may be edited, not its header)."
            )
        corrected: dict[str, dict[str, JSONValue]] = {}
        for row in sheet.rows():
            error_id = str(row.values.get(id_name) or "").strip().lower()
            if error_id:
                corrected[error_id] = cell_values(row, sheet.columns[1:])
        return corrected


def main(arguments: Sequence[str]) -> int:
    """`read` of the file named, as JSON on stdout; a refusal's sentence on stderr and
    its exit code (2 for a file that is not a fix workbook)."""
    try:
        rows = read(Path(arguments[0]))
    except ExcelfmtError as exc:
        print(f"excelfmt: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    json.dump(rows, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
