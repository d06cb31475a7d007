"""The expat row parser gives what openpyxl's own sheet parser gives, on every corpus sheet."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.escape import unescape
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from excelfmt.models import CellError
from excelfmt.sheets import sheetxml
from excelfmt.sheets.sheetxml import sheet_rows
from excelfmt.sheets.sniff import Format, sniff
from excelfmt.sheets.xlsxparts import date_only_styles, shared_strings, style_formats

from .conftest import CORPUS


def _openpyxl_rows(parser: WorkSheetParser, source: Any, days: frozenset[int]) -> Iterator[Any]:
    """What excelfmt read through openpyxl's parser before the expat one: the reference."""
    row_tag = f"{{{SHEET_MAIN_NS}}}row"
    for _, element in iterparse(source, events=("end",)):
        if element.tag != row_tag:
            continue
        number, cells = parser.parse_row(element)
        element.clear()
        if not cells:
            continue
        values: list[Any] = [None] * max(cell["column"] for cell in cells)
        for cell in cells:
            values[cell["column"] - 1] = _openpyxl_value(cell, days)
        yield number, tuple(values)


def _openpyxl_value(cell: dict[str, Any], days: frozenset[int]) -> Any:
    value = cell["value"]
    if value is None:
        return None
    if isinstance(value, str):
        if cell["data_type"] == "e":
            return CellError(value)
        return (unescape(value) if "_x" in value else value) or None
    if isinstance(value, datetime) and cell["style_id"] in days and value.time() == time(0):
        return value.date()
    return value


def _sheets(path: Path) -> Iterator[tuple[str, list[Any], list[Any]]]:
    """(sheet part, rows by openpyxl, rows by excelfmt) for every worksheet of the book."""
    with path.open("rb") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = ExcelReader(handle, read_only=True, data_only=True)
        reader.read_manifest()
        reader.shared_strings = shared_strings(reader)
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        book = reader.wb
        dates = frozenset(book._date_formats)  # type: ignore[attr-defined]
        durations = frozenset(book._timedelta_formats)  # type: ignore[attr-defined]
        days = date_only_styles(style_formats(book))
        for _, rel in reader.parser.find_sheets():
            if "chartsheet" in rel.Type or rel.target not in reader.valid_files:
                continue
            with reader.archive.open(rel.target) as source:
                parser = WorkSheetParser(
                    source,
                    reader.shared_strings,
                    data_only=True,
                    epoch=book.epoch,
                    date_formats=dates,
                    timedelta_formats=durations,
                )
                expected = list(_openpyxl_rows(parser, source, days))
            with reader.archive.open(rel.target) as source:
                found = list(
                    sheet_rows(
                        source,
                        reader.shared_strings,
                        book.epoch,
                        dates,
                        durations,
                        days,
                    )
                )
            yield rel.target, expected, found


def _openable(path: Path) -> bool:
    try:
        if sniff(path) is not Format.XLSX:
            return False
        list(_sheets(path))
    except Exception:
        return False  # damaged on purpose: the reader's own tests cover how it is refused
    return True


BOOKS = sorted(p for p in CORPUS.iterdir() if p.suffix in (".xlsx", ".xlsm") and _openable(p))


def test_the_corpus_gives_the_comparison_something_to_bite_on() -> None:
    assert len(BOOKS) >= 30


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.name)
def test_rows_are_the_ones_openpyxl_reads(path: Path) -> None:
    for part, expected, found in _sheets(path):
        assert len(found) == len(expected), part
        for want, got in zip(expected, found, strict=True):
            assert got == want, part
            # Equal is not enough: 1 == 1.0 == True, a date is not a datetime.
            assert [type(v) for v in got[1]] == [type(v) for v in want[1]], (part, got[0])


def test_rows_are_handed_on_while_the_sheet_is_still_being_read(monkeypatch) -> None:
    cells = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 2001))
    xml = f'<worksheet xmlns="{SHEET_MAIN_NS}"><sheetData>{cells}</sheetData></worksheet>'
    source = io.BytesIO(xml.encode())
    monkeypatch.setattr(sheetxml, "CHUNK_BYTES", 1024)
    rows = sheet_rows(source, [], datetime(1899, 12, 30), frozenset(), frozenset(), frozenset())
    assert next(rows) == (1, (1,))
    assert source.tell() < len(xml) // 10  # memory stays flat however long the sheet is


def test_cells_of_every_kind() -> None:
    strings = ["shared", "a_x000D_b"]
    xml = f"""<worksheet xmlns="{SHEET_MAIN_NS}"><sheetData>
      <row r="3"><c r="B3" t="s"><v>0</v></c><c r="D3" t="s"><v>1</v></c></row>
      <row><c t="n"><v>12</v></c><c><v>1.5</v></c><c s="1"><v>45000</v></c>
           <c s="2"><v>45000.5</v></c><c t="b"><v>1</v></c><c t="e"><v>#N/A</v></c>
           <c t="str"><f>A1</f><v>text</v></c><c t="inlineStr"><is><r><t>in</t></r>
           <r><t>line</t></r><rPh><t>ignored</t></rPh></is></c><c t="d"><v>2024-01-02</v></c>
           <c><v></v></c><c s="1"><v>99999999</v></c></row>
      <row r="9"/>
    </sheetData></worksheet>"""
    rows = list(
        sheet_rows(
            io.BytesIO(xml.encode()),
            strings,
            datetime(1899, 12, 30),
            frozenset({1, 2}),
            frozenset(),
            frozenset({1}),
        )
    )
    assert rows == [
        (3, (None, "shared", None, "a\rb")),
        (
            4,
            (
                12,
                1.5,
                date(2023, 3, 15),
                datetime(2023, 3, 15, 12, 0),
                True,
                CellError("#N/A"),
                "text",
                "inline",
                date(2024, 1, 2),
                None,
                CellError("#VALUE!"),
            ),
        ),
    ]
    assert isinstance(rows[1][1][5], CellError) and isinstance(rows[1][1][10], CellError)


def test_a_worksheet_with_a_dtd_is_refused() -> None:
    xml = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet><sheetData/></worksheet>'
    with pytest.raises(ValueError, match="DTD"):
        list(sheet_rows(io.BytesIO(xml), [], datetime(1899, 12, 30), *(frozenset(),) * 3))
