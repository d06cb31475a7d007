"""An .xlsx/.xlsm package opened by openpyxl: its worksheets, date system, cell styles and
shared strings, each as Excel reads them.

openpyxl's ExcelReader is what `load_workbook(read_only=True, data_only=True,
keep_links=False)` runs; its steps read the content types, the workbook, its
relationships and the styles, and are kept. Where a step differs from Excel, or does work
that reading one sheet's values does not need, `_Reader` answers it otherwise:
- its archive is opc.Archive: parts found by relationship and case-insensitively, each
  checked for inflation before it is read;
- the shared strings are kept as written (openpyxl removes every `x005F_`, which makes
  a literal `_x0020_` and an escaped space the same text; xlsxrows decodes each escape
  once);
- worksheets are listed, not opened: openpyxl's read-only sheet, when made, reads a sheet
  that declares no <dimension> end to end, every sheet of the file;
- document properties, the theme and defined names are not read (Book runs the other
  steps itself): nothing here uses them, and a flaw in one would refuse the file.

openpyxl 3.1's names used besides load_workbook's: ExcelReader's step methods and its
`package`, `parser` (WorkbookParser.find_sheets, .rels) and `wb` (`_cell_styles`,
`_number_formats`, `epoch`). pyproject.toml pins the 3.1 line; tests/test_xlsx.py
reads through all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from openpyxl.packaging.relationship import get_dependents, get_rels_path
from openpyxl.reader.excel import ExcelReader, _find_workbook_part  # type: ignore[attr-defined]
from openpyxl.styles.numbers import (
    BUILTIN_FORMATS,
    BUILTIN_FORMATS_MAX_SIZE,
    is_date_format,
    is_datetime,
    is_timedelta_format,
)
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.xml.constants import ARC_STYLE, SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from ..errors import InputError
from .opc import Archive

_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_STRING_ITEM, _TEXT, _RUN_TEXT = (
    f"{{{SHEET_MAIN_NS}}}si",
    f"{{{SHEET_MAIN_NS}}}t",
    (f"{{{SHEET_MAIN_NS}}}r/{{{SHEET_MAIN_NS}}}t"),
)

EAST_ASIAN_FORMATS = {
    **dict.fromkeys((27, 28, 29, 30, 31, 34, 35, 36), "yyyy-mm-dd"),
    32: "h:mm",
    33: "h:mm:ss",
    **dict.fromkeys(range(50, 59), "yyyy-mm-dd"),
}
"""The built-in formats ECMA-376 leaves to the locale (18.8.30), which openpyxl reads as
General: Excel shows each as a date (a time for 32 and 33) in every East Asian locale,
e.g. 27 as ge.m.d in Japanese, yyyy"年"m"月" for 34 in Chinese. What a cell shows is
what goes out, so these are dates."""


@dataclass(frozen=True, slots=True)
class Styles:
    """What each cell style (an index into cellXfs) makes of a number."""

    epoch: datetime
    dates: frozenset[int]
    """Styles whose format shows a date or a time: their numbers are moments."""
    durations: frozenset[int]
    """Styles showing elapsed time ([h]:mm): timedeltas."""
    days: frozenset[int]
    """Date formats without a time of day: a moment at midnight is a date."""
    times: frozenset[int]
    """Time formats without a date: a moment under a day is a time of day."""
    shown: dict[int, str]
    """The other styles with a format other than General, by style: for a text column."""


@dataclass(frozen=True, slots=True)
class SheetEntry:
    name: str
    visible: bool
    part: str
    """The worksheet's part in the archive, e.g. xl/worksheets/sheet1.xml."""


class Book:
    """An opened package: its worksheets (not chartsheets), styles and shared strings."""

    def __init__(self, handle: IO[bytes], shown_as: str, max_ratio: int) -> None:
        reader = _Reader(handle, shown_as, max_ratio)
        # ExcelReader.read()'s steps, but for the document properties, the theme and the
        # defined names: nothing here uses them, and a flaw in one would refuse the file.
        steps: list[tuple[str, Callable[[], object]]] = [
            ("content types ([Content_Types].xml)", reader.read_manifest),
            ("shared strings", reader.read_strings),
            ("workbook", reader.read_workbook),
            ("styles", lambda: apply_stylesheet(reader.archive, reader.wb)),
            ("list of sheets", reader.read_worksheets),
        ]
        for part, step in steps:
            try:
                step()
            except (TypeError, ValueError) as exc:
                raise InputError(
                    f"{shown_as} cannot be opened: its {part} cannot be read, as a value in "
                    "it is not one the format allows there; open it in Excel and save it again."
                ) from exc
        self.archive: Archive = reader.opc
        self.sheets: tuple[SheetEntry, ...] = tuple(reader.sheets)
        self.shared_strings: list[str] = reader.shared_strings
        self.styles = _styles(reader.wb)

    def open_part(self, part: str) -> IO[bytes]:
        return self.archive.open(part)

    def close(self) -> None:
        self.archive.close()


class _Reader(ExcelReader):
    def __init__(self, handle: IO[bytes], shown_as: str, max_ratio: int) -> None:
        super().__init__(handle, read_only=True, data_only=True, keep_links=False)
        self.archive.close()  # the handle stays open: the archive below reads it again
        self.opc = Archive(handle, shown_as, max_ratio)
        self.archive = self.opc
        self.valid_files = self.opc.part_names
        self.sheets: list[SheetEntry] = []
        self._shown_as = shown_as
        self._strings_part: str | None = None

    def read_manifest(self) -> None:
        super().read_manifest()
        # Excel finds the styles and the shared strings by the workbook's relationships.
        workbook = _find_workbook_part(self.package).PartName[1:]
        relations = get_rels_path(workbook)  # type: ignore[no-untyped-call]
        if relations not in self.valid_files:
            return
        for relation in get_dependents(self.archive, relations):
            kind = relation.Type.rpartition("/")[2]
            if kind == "styles" and relation.target != ARC_STYLE:
                self.opc.alias(ARC_STYLE, relation.target)
            elif kind == "sharedStrings":
                self._strings_part = relation.target

    def read_strings(self) -> None:
        part = self._strings_part
        if part is None:  # not related: where the content types declare it, as openpyxl
            declared = self.package.find(SHARED_STRINGS)  # type: ignore[no-untyped-call]
            part = declared.PartName[1:] if declared is not None else None
        if part is None:
            return
        if part not in self.valid_files:
            raise InputError(
                f"{self._shown_as}: its shared strings ({part}) are missing from the file, so "
                "its text cannot be read; open it in Excel and save it again."
            )
        with self.archive.open(part) as source:
            self.shared_strings = list(_string_table(source))

    def read_worksheets(self) -> None:
        for sheet, relation in self.parser.find_sheets():
            if relation.target in self.valid_files and "chartsheet" not in relation.Type:
                visible = (sheet.state or "visible") == "visible"
                self.sheets.append(SheetEntry(sheet.name, visible, relation.target))


def _string_table(source: IO[bytes]) -> Iterator[str]:
    """Each shared string as written: its text, or its runs' text; not phonetic runs."""
    events = iterparse(source, events=("start", "end"))
    _, root = next(events)
    for event, element in events:
        if event == "end" and element.tag == _STRING_ITEM:
            plain = element.findtext(_TEXT) or ""
            yield plain + "".join(run.text or "" for run in element.iterfind(_RUN_TEXT))
            root.clear()  # the table is kept as strings, not as elements


def _styles(wb: Any) -> Styles:
    dates: set[int] = set()
    durations: set[int] = set()
    days: set[int] = set()
    times: set[int] = set()
    shown: dict[int, str] = {}
    for style, array in enumerate(wb._cell_styles):
        number_format = array.numFmtId
        if number_format >= BUILTIN_FORMATS_MAX_SIZE:
            code = wb._number_formats[number_format - BUILTIN_FORMATS_MAX_SIZE]
        else:
            code = BUILTIN_FORMATS.get(number_format) or EAST_ASIAN_FORMATS.get(number_format)
        if not code:
            continue
        if is_date_format(code):
            dates.add(style)
            kind = is_datetime(code)
            if is_timedelta_format(code):
                durations.add(style)
            elif kind == "date":
                days.add(style)
            elif kind == "time":
                times.add(style)
        elif code.strip().lower() not in ("general", "@"):
            shown[style] = code
    return Styles(
        wb.epoch, frozenset(dates), frozenset(durations), frozenset(days), frozenset(times), shown
    )
