"""The Results rows excelfmt writes itself are the XML XlsxWriter writes for the same cells.

rowxml.RowWriter takes XlsxWriter's place for the data rows of the Results sheet, for a
tenth of the CPU. Its output is held to XlsxWriter's own, cell by cell, over every kind
of value a row can carry; a file Excel opens is then a file Excel opens.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from openpyxl import load_workbook

from excelfmt.sheets.rowxml import RowWriter, splice
from excelfmt.sheets.writer import CELL_LIMIT, FORMULA_TRIGGERS, _Formats

VALUES: list[Any] = [
    "PO-0000001",
    "",
    " leading",
    "trailing\t",
    "a & b < c > d",
    'quotes " stay',
    "bell\x07 and nul\x00 and esc\x1b",
    "literal _x0041_ escape",
    "not \ufffe or \uffff",
    "=SUM(A1:A2)",
    "-5",
    "+31 20 555",
    "@handle",
    "línea\nnueva ✓ 😀",
    "x" * (CELL_LIMIT + 10),
    0,
    -17,
    79.19,
    0.1 + 0.2,
    1e20,
    -0.0,
    12345678901234567890,
    True,
    False,
    None,
    date(2024, 1, 2),
    date(1900, 2, 28),
    datetime(2024, 5, 6, 7, 8, 9, 123456),
    time(13, 45, 30),
    timedelta(hours=30, minutes=5),
    Decimal("12.30"),
]
ROLES = ["", "bad", "status_ok", "status_bad"]


def as_xlsxwriter_writes(book: Any, formats: _Formats, rows: list[tuple[list[Any], str]]) -> None:
    """The cells through XlsxWriter's own API, as the results writer wrote them before."""
    sheet = book.add_worksheet("Results")
    for number, (values, role) in enumerate(rows, start=1):
        for column, value in enumerate(values):
            if value is None:
                if role:
                    sheet.write_blank(number, column, None, formats.get(role))
                continue
            if isinstance(value, str):
                if len(value) > CELL_LIMIT:
                    value = value[: CELL_LIMIT - 1] + "…"
                quote = value.startswith(FORMULA_TRIGGERS)
                sheet.write_string(number, column, value, formats.get(role, quote=quote))
            elif isinstance(value, bool):
                sheet.write_boolean(number, column, value, formats.get(role))
            elif isinstance(value, int | float):
                sheet.write_number(number, column, value, formats.get(role))
            elif isinstance(value, datetime | date | time | timedelta):
                kind = type(value).__name__
                sheet.write_datetime(number, column, value, formats.get(role, kind=kind))
            else:
                sheet.write_string(number, column, str(value)[:CELL_LIMIT], formats.get(role))


def new_book(path: Path) -> tuple[Any, _Formats]:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    formats = _Formats(book)
    # Every style numbered up front, in one order: both files then number them alike.
    for role in ROLES:
        for kind in ("", "date", "datetime", "time", "timedelta"):
            for quote in (False, True):
                formats.number(role, kind, quote)
    return book, formats


def sheet_data(path: Path) -> str:
    with zipfile.ZipFile(path) as package:
        xml = package.read("xl/worksheets/sheet1.xml").decode()
    found = re.search("<sheetData>(.*)</sheetData>", xml, re.S)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("role", ROLES)
def test_each_kind_of_cell_is_written_as_xlsxwriter_writes_it(tmp_path: Path, role: str):
    blank = [None] * (len(VALUES) - 1)
    rows = [([value, *blank], role) for value in VALUES] + [(VALUES, role)]

    book, formats = new_book(tmp_path / "theirs.xlsx")
    as_xlsxwriter_writes(book, formats, rows)
    book.close()

    book, formats = new_book(tmp_path / "frame.xlsx")
    book.add_worksheet("Results")
    book.close()
    data = io.BytesIO()
    writer = RowWriter(data, len(VALUES), formats.number)
    roles = tuple(role for _ in VALUES)
    writer.write([(n + 1, values, roles) for n, (values, _) in enumerate(rows, start=1)])
    (tmp_path / "rows.xml").write_bytes(data.getvalue())
    splice(
        tmp_path / "frame.xlsx",
        "xl/worksheets/sheet1.xml",
        tmp_path / "rows.xml",
        f"A2:AE{len(rows) + 1}",
        tmp_path / "ours.xlsx",
    )

    theirs, ours = sheet_data(tmp_path / "theirs.xlsx"), sheet_data(tmp_path / "ours.xlsx")
    for their_row, our_row in zip(theirs.split("</row>"), ours.split("</row>"), strict=True):
        assert our_row == their_row


def test_a_number_excel_has_no_form_for_is_written_as_its_text(tmp_path: Path):
    data = io.BytesIO()
    RowWriter(data, 3, lambda role, kind, quote: None).write(
        [(2, [float("nan"), float("inf"), 1.5], ("", "", ""))]
    )
    assert data.getvalue().decode() == (
        '<row r="2"><c r="A2" t="inlineStr"><is><t>nan</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t>inf</t></is></c><c r="C2"><v>1.5</v></c></row>'
    )


def test_the_spliced_package_reads_back_with_its_rows_and_dimension(tmp_path: Path):
    book, formats = new_book(tmp_path / "frame.xlsx")
    sheet = book.add_worksheet("Results")
    sheet.write_string(0, 0, "Order", formats.get("header"))
    sheet.write_string(0, 1, "When", formats.get("header"))
    book.close()
    data = io.BytesIO()
    writer = RowWriter(data, 2, formats.number)
    writer.write([(n + 1, [f"PO-{n}", date(2024, 1, n)], ("", "")) for n in range(1, 4)])
    (tmp_path / "rows.xml").write_bytes(data.getvalue())
    splice(
        tmp_path / "frame.xlsx",
        "xl/worksheets/sheet1.xml",
        tmp_path / "rows.xml",
        "A1:B4",
        tmp_path / "out.xlsx",
    )
    read = load_workbook(tmp_path / "out.xlsx")
    try:
        results = read["Results"]
        assert results.dimensions == "A1:B4"
        assert [[c.value for c in row] for row in results.iter_rows()] == [
            ["Order", "When"],
            ["PO-1", datetime(2024, 1, 1)],
            ["PO-2", datetime(2024, 1, 2)],
            ["PO-3", datetime(2024, 1, 3)],
        ]
        assert results["B2"].number_format == "yyyy-mm-dd"
    finally:
        read.close()
