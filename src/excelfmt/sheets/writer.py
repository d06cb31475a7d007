"""Outcomes -> the results file, streamed in input order: .xlsx for people, .jsonl for pipelines.

Both write to a temporary file beside the target and rename it at the end, so a results
file is never half-written and a failed run never clobbers the previous one. Text that
came from outside (the sheet, the API) is never written as a formula.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

from ..calls.jobs import encode_json
from ..calls.template import json_value
from ..jsontext import readable
from ..metrics.summary import RunSummary
from ..models import JSONValue, Outcome
from .reorder import Reorder

RESULT_COLUMNS = ("status", "http_status", "message")
CELL_LIMIT = 32_767  # Excel's maximum characters in a cell
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is given Excel's quote prefix: it stays text."""
WIDTH_SAMPLE = 1000  # rows looked at to size the columns
_SECTION = object()  # marks a title row in the Summary sheet
_MOMENTS = (datetime, date, time, timedelta)


class ResultsWriter(Protocol):
    path: Path

    def add(self, outcomes: Sequence[Outcome]) -> None:
        """Take outcomes in any order; they are written in input order."""

    def finish(self, summary: RunSummary) -> None:
        """Write what is left and put the file in place."""

    def discard(self) -> None:
        """Remove the temporary file; the target is left as it was."""


def open_results(path: Path, columns: Sequence[str], capture: Sequence[str]) -> ResultsWriter:
    """A writer for `path`, chosen by its suffix. Fails early if the folder is not writable."""
    if path.suffix.lower() == ".jsonl":
        return JsonlResults(path)
    return XlsxResults(path, columns, capture)


def _temporary_beside(path: Path, mode: str) -> IO[Any]:
    """A new file in the target's folder, so the final rename is atomic."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by the writer's finish/discard
        mode,
        dir=path.parent,
        prefix=f".{path.name}.",
        suffix=".part",
        delete=False,
        encoding=None if "b" in mode else "utf-8",
    )
    # tempfile makes it private (0600); the results file gets the usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(handle.name, 0o666 & ~umask)
    return handle


def _response_text(value: JSONValue) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else readable(value)
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"


class JsonlResults:
    """One JSON object per row: row number, status, HTTP status, message, response, input."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._order = Reorder()
        self._file = _temporary_beside(path, "w")

    def add(self, outcomes: Sequence[Outcome]) -> None:
        self._write(self._order.push(outcomes))

    def _write(self, outcomes: Sequence[Outcome]) -> None:
        for o in outcomes:
            record: dict[str, JSONValue] = {
                "row": o.row.number,
                "status": o.status,
                "http_status": o.http_status,
                "message": o.message,
                "response": o.response,
                "input": {
                    k: json_value(v, k) if not isinstance(v, str) else v
                    for k, v in o.row.values.items()
                },
            }
            self._file.write(encode_json(record).decode("utf-8") + "\n")

    def finish(self, summary: RunSummary) -> None:
        self._write(self._order.drain())
        self._file.close()
        os.replace(self._file.name, self.path)

    def discard(self) -> None:
        self._file.close()
        Path(self._file.name).unlink(missing_ok=True)


class XlsxResults:
    """The input columns plus status, HTTP status, message and response, formatted.

    XlsxWriter makes the workbook in constant-memory mode (about three times faster than
    openpyxl's write-only mode, docs/performance.md): each row is written as it comes, in
    input order, through its public write_* calls, one format per kind of cell.
    """

    def __init__(self, path: Path, columns: Sequence[str], capture: Sequence[str]) -> None:
        import xlsxwriter

        self.path = path
        self._inputs = list(columns)
        self._capture = list(capture)
        response_columns = [f"response.{p}" for p in capture] if capture else ["response"]
        self._header = [*columns, *RESULT_COLUMNS, *response_columns]
        width = len(self._header)
        status = len(columns)
        self._roles = {
            False: tuple("" if c != status else "status_ok" for c in range(width)),
            True: tuple("bad" if c != status else "status_bad" for c in range(width)),
        }
        self._widths = [len(name) + 2 for name in self._header]
        self._order = Reorder()
        self._rows = 0
        self._closed = False
        self._tmp = _temporary_beside(path, "wb")
        self._tmp.close()
        self._book = xlsxwriter.Workbook(
            self._tmp.name,
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "default_date_format": "yyyy-mm-dd hh:mm:ss",
            },
        )
        self._formats = _Formats(self._book)
        self._sheet = self._book.add_worksheet("Results")
        self._sheet.freeze_panes(1, 0)
        header = self._formats.get("header")
        for column, name in enumerate(self._header):
            self._sheet.write_string(0, column, name, header)

    def add(self, outcomes: Sequence[Outcome]) -> None:
        self._write(self._order.push(outcomes))

    def _write(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            self._rows += 1
            values: list[Any] = [outcome.row.values.get(c) for c in self._inputs]
            values += [outcome.status, outcome.http_status, outcome.message]
            if self._capture:
                # A failed row's response is the API's error, not the captured fields.
                response = outcome.response if outcome.ok else None
                captured = response if isinstance(response, dict) else {}
                values += [_captured_value(captured.get(path)) for path in self._capture]
            else:
                values.append(_response_text(outcome.response))
            roles = self._roles[not outcome.ok]
            for column, value in enumerate(values):
                self._cell(self._rows, column, value, roles[column])
            if self._rows <= WIDTH_SAMPLE:
                for column, value in enumerate(values):
                    if value is not None:
                        width = _display_width(value)
                        self._widths[column] = max(self._widths[column], width)

    def _cell(self, row: int, column: int, value: Any, role: str) -> None:
        sheet, formats = self._sheet, self._formats
        if isinstance(value, str):
            if len(value) > CELL_LIMIT:
                value = value[: CELL_LIMIT - 1] + "…"
            # Never a formula, and marked so it stays text when edited in Excel.
            quote = value.startswith(FORMULA_TRIGGERS)
            sheet.write_string(row, column, value, formats.get(role, quote=quote))
        elif value is None:
            if role:  # a failed row is coloured across, its empty cells too
                sheet.write_blank(row, column, None, formats.get(role))
        elif isinstance(value, bool):
            sheet.write_boolean(row, column, value, formats.get(role))
        elif isinstance(value, int | float):
            if math.isfinite(value):
                sheet.write_number(row, column, value, formats.get(role))
            else:  # no such number in Excel: its text
                sheet.write_string(row, column, str(value), formats.get(role))
        elif isinstance(value, datetime | date | time | timedelta) and not _has_offset(value):
            kind = type(value).__name__ if type(value) in _MOMENTS else "datetime"
            sheet.write_datetime(row, column, value, formats.get(role, kind=kind))
        else:  # a Decimal keeps its digits, a moment with an offset its offset: as text
            text = value.isoformat() if isinstance(value, datetime | time) else str(value)
            self._cell(row, column, text, role)

    def finish(self, summary: RunSummary) -> None:
        self._write(self._order.drain())
        for column, width in enumerate(self._widths):
            self._sheet.set_column(column, column, min(max(width + 1, 8), 60))
        last = len(self._header) - 1
        self._sheet.autofilter(0, 0, self._rows, last)
        self._write_summary(summary)
        try:
            self._close_book()
            os.replace(self._tmp.name, self.path)
        finally:
            Path(self._tmp.name).unlink(missing_ok=True)

    def discard(self) -> None:
        # XlsxWriter has no abort: closing is what lets go of its temporary row files.
        with contextlib.suppress(Exception):
            self._close_book()
        Path(self._tmp.name).unlink(missing_ok=True)

    def _close_book(self) -> None:
        if not self._closed:
            self._closed = True
            self._book.close()

    def _write_summary(self, summary: RunSummary) -> None:
        sheet = self._book.add_worksheet("Summary")
        sheet.set_column(0, 0, 24)
        sheet.set_column(1, 1, 70)
        data = summary.to_json()
        latency = data.pop("latency_ms")
        categories = data.pop("categories")
        data.pop("exit_code")
        data.pop("peak_rss_mib")  # measured after this sheet is written
        rows: list[tuple[str, Any]] = [
            ("Run", _SECTION),
            *data.items(),
            ("Outcomes", _SECTION),
            ("ok", summary.metrics.ok),
        ]
        rows += list((categories or {}).items())  # type: ignore[union-attr]
        rows += [("Latency (ms)", _SECTION), *(latency or {}).items()]  # type: ignore[union-attr]
        rows += [("Settings", _SECTION), *summary.settings.items()]
        header = self._formats.get("header")
        for index, (key, value) in enumerate(rows):
            if value is _SECTION:
                sheet.write_string(index, 0, key, header)
                sheet.write_blank(index, 1, None, header)
                continue
            sheet.write_string(index, 0, key)
            shown = _summary_value(value)
            if isinstance(shown, str):
                sheet.write_string(
                    index,
                    1,
                    shown,
                    self._formats.get("", quote=shown.startswith(FORMULA_TRIGGERS)),
                )
            elif shown is not None:
                sheet.write(index, 1, shown)


class _Formats:
    """Excel's own good/bad colours, so the sheet looks like one a person made.

    XlsxWriter needs one format object per combination; they are made once and reused.
    """

    _ROLES: ClassVar[dict[str, dict[str, object]]] = {
        "": {},
        "header": {
            "bold": True,
            "font_color": "#FFFFFF",
            "bg_color": "#305496",
            "bottom": 1,
            "bottom_color": "#1F3864",
        },
        "bad": {"bg_color": "#FFC7CE"},
        "status_bad": {"bg_color": "#FFC7CE", "font_color": "#9C0006", "bold": True},
        "status_ok": {"bg_color": "#C6EFCE", "font_color": "#006100"},
    }
    _KINDS: ClassVar[dict[str, str]] = {
        "datetime": "yyyy-mm-dd hh:mm:ss",
        "date": "yyyy-mm-dd",
        "time": "hh:mm:ss",
        "timedelta": "[h]:mm:ss",
    }

    def __init__(self, book: Any) -> None:
        self._book = book
        self._made: dict[tuple[str, str, bool], Any] = {}

    def get(self, role: str, *, kind: str = "", quote: bool = False) -> Any:
        key = (role, kind, quote)
        made = self._made.get(key)
        if made is None and (role or kind or quote):
            properties = dict(self._ROLES[role])
            if kind:
                properties["num_format"] = self._KINDS[kind]
            if quote:
                properties["quote_prefix"] = True
            made = self._made[key] = self._book.add_format(properties)
        return made


def _has_offset(value: datetime | date | time | timedelta) -> bool:
    """A moment with a UTC offset, which an Excel date cannot hold."""
    return isinstance(value, datetime | time) and value.utcoffset() is not None


def _captured_value(value: JSONValue) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _summary_value(value: JSONValue) -> Any:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return value[:CELL_LIMIT]
    return value


def _display_width(value: Any) -> int:
    if isinstance(value, datetime):
        return 19
    if isinstance(value, date | time | timedelta):
        return 10
    if isinstance(value, float):
        return len(f"{value:g}")
    if isinstance(value, int):
        return len(str(value))
    return max((len(line) for line in str(value).splitlines()), default=0)
