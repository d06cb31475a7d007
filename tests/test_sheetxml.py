"""The expat row parser gives what openpyxl's own sheet parser gives, on every corpus sheet."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

import pytest
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE, is_datetime
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.escape import unescape
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from excelfmt.models import CellError
from excelfmt.sheets import sheetxml
from excelfmt.sheets.package import read_package
from excelfmt.sheets.sheetxml import sheet_rows
from excelfmt.sheets.sniff import Format, sniff
from excelfmt.sheets.xlsxparts import date_only_styles, shared_strings

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
    """(sheet part, rows by openpyxl, rows by excelfmt) for every worksheet of the book:
    openpyxl's package reader and sheet parser against package.py, xlsxparts and
    sheet_rows, each side on its own."""
    with path.open("rb") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = ExcelReader(handle, read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        book = reader.wb
        dates = frozenset(book._date_formats)  # type: ignore[attr-defined]
        durations = frozenset(book._timedelta_formats)  # type: ignore[attr-defined]
        days = frozenset(
            style for style, code in openpyxl_formats(book).items() if is_datetime(code) == "date"
        )
        package = read_package(reader.archive)
        strings = shared_strings(reader.archive, package.shared_strings)
        parts = {sheet.part for sheet in package.sheets}
        for _, rel in reader.parser.find_sheets():
            if "chartsheet" in rel.Type or rel.target not in reader.valid_files:
                continue
            assert rel.target in parts
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
                        strings,
                        package.epoch,
                        package.dates,
                        package.durations,
                        date_only_styles(package.formats),
                    )
                )
            yield rel.target, expected, found


def openpyxl_formats(book: Any) -> dict[int, str]:
    """Each cell style's number format code by style id, from openpyxl's workbook."""
    codes = {}
    for style_id, style in enumerate(book._cell_styles):
        number_format = style.numFmtId
        if number_format < BUILTIN_FORMATS_MAX_SIZE:
            codes[style_id] = BUILTIN_FORMATS.get(number_format, "General")
        else:
            codes[style_id] = book._number_formats[number_format - BUILTIN_FORMATS_MAX_SIZE]
    return codes


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


# Most rows are read by regular expressions and the rest by expat (sheetxml._PlainRows);
# these sheets mix the two, row by row, and must read as openpyxl reads them whatever
# the chunk size cuts through.
_EPOCH = datetime(1899, 12, 30)
_STRINGS = ["zero", "one_x000D_two", ""]
_MIXED_ROWS = [
    '<row r="1" spans="1:3" x14ac:dyDescent="0.25"><c r="A1" t="s"><v>0</v></c>'
    '<c r="B1" s="1"><v>45000</v></c><c r="C1"><v>1.5E3</v></c></row>',
    '<row r="2"><c r="A2" t="str"><v>a &amp; b</v></c><c r="B2"><v>7</v></c></row>',
    '<row r="4"><c r="A4" t="s"><v>1</v></c><c r="B4" cm="1"><f>A1</f><v>3</v></c></row>',
    '<row r="5"><c r="C5"><f t="shared" ref="C5:C6" si="0">A5+1</f><v>2</v></c>'
    '<c r="A5" t="b"><v>1</v></c><c r="A5" t="e"><v>#N/A</v></c></row>',
    "<row r='6'><c r='A6'><v>6</v></c></row>",
    '<row r="7"/>',
    '<row r="8">\n  <c r="A8" t="s">\n    <v>2</v>\n  </c>\n  <c><v>8</v></c>\n'
    '  <c s="1"/>\n</row>',
    '<row r="9" xmlns="urn:other"><c r="A9"><v>9</v></c></row>',
    '<row><c><v>10</v></c><c t="d"><v>2024-02-03T04:05:06</v></c><c t="str"><v>ünï</v></c></row>',
    '<row r="11"><c r="B11" t="inlineStr"/><c r="D11" t="str"><v></v></c></row>',
]
"""Rows read plainly and rows that are not, in turn (row 9 is in another namespace: not
a row here, so the next one, unnumbered, is 9)."""
_PLAIN_ROW_99 = '<row r="99"><c r="A99"><v>99</v></c></row>'
_TAILS = {
    "cdata": '<row r="12"><c r="A12" t="inlineStr"><is><t><![CDATA[</row> '
    + _PLAIN_ROW_99
    + "]]></t></is></c></row>",
    "comment": f"<row r='12' /><!-- </row> {_PLAIN_ROW_99} -->",
    "instruction": f"<row r='12' /><?pi </row> {_PLAIN_ROW_99} ?>",
    "nested": '<row r="12"><x:ext xmlns:x="urn:x"><row r="98"><c r="A98"><v>98</v></c></row>'
    + _PLAIN_ROW_99
    + "</x:ext></row>",
}
"""Endings that hide a "</row>" from a search for it; the row after must still be 13."""
_LAST_ROW = '<row r="13"><c r="A13" t="s"><v>0</v></c></row>'


_X14AC = 'xmlns:x14ac="urn:x14ac"'


def _worksheet(rows: list[str], root: str = "", encoding: str = "UTF-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}" standalone="yes"?>\n'
        f'<worksheet xmlns="{SHEET_MAIN_NS}" {root}><dimension ref="A1:D12"/><sheetData>'
        + "".join(rows)
        + '</sheetData><mergeCells count="0"/></worksheet>'
    )


def _as_openpyxl_reads(xml: bytes) -> list[Any]:
    source = io.BytesIO(xml)
    parser = WorkSheetParser(
        source, _STRINGS, data_only=True, epoch=_EPOCH, date_formats={1}, timedelta_formats=set()
    )
    return list(_openpyxl_rows(parser, source, frozenset({1})))


def _as_read(xml: bytes) -> list[Any]:
    days = frozenset({1})
    return list(sheet_rows(io.BytesIO(xml), _STRINGS, _EPOCH, days, frozenset(), days))


@pytest.mark.parametrize("chunk", [7, 64, 333, 1 << 16])
@pytest.mark.parametrize("tail", [*_TAILS, "none"])
def test_plain_and_other_rows_mixed_read_as_openpyxl_reads_them(monkeypatch, chunk, tail) -> None:
    xml = _worksheet([*_MIXED_ROWS, _TAILS.get(tail, ""), _LAST_ROW], _X14AC).encode()
    monkeypatch.setattr(sheetxml, "CHUNK_BYTES", chunk)
    found = _as_read(xml)
    # The same rows expat alone reads (nothing in a Latin-1 part is read plainly)...
    assert found == _as_read(xml.decode().replace("UTF-8", "ISO-8859-1").encode("latin-1"))
    numbers = [number for number, _ in found]
    assert numbers[:8] == [1, 2, 4, 5, 6, 8, 9, 11] and numbers[-1] == 13
    if tail != "nested":  # ...and, for rows as every writer writes them, openpyxl's
        assert 99 not in numbers
        assert found == _as_openpyxl_reads(xml)
        for (_, got), (_, want) in zip(found, _as_openpyxl_reads(xml), strict=True):
            assert [type(v) for v in got] == [type(v) for v in want]
    if tail == "cdata":
        assert (12, (f"</row> {_PLAIN_ROW_99}",)) in found


@pytest.mark.parametrize("chunk", [7, 1 << 16])
def test_a_sheet_in_another_encoding_or_prefix_reads_as_openpyxl_reads_it(
    monkeypatch, chunk
) -> None:
    monkeypatch.setattr(sheetxml, "CHUNK_BYTES", chunk)
    latin = _worksheet(_MIXED_ROWS, _X14AC, "ISO-8859-1").encode("latin-1")
    assert _as_read(latin) == _as_openpyxl_reads(latin)
    assert (9, (10, datetime(2024, 2, 3, 4, 5, 6), "ünï")) in _as_read(latin)
    prefixed = _worksheet(_MIXED_ROWS, _X14AC).replace("<", "<x:")
    prefixed = prefixed.replace("<x:/", "</x:").replace("<x:?", "<?").replace("<x:!", "<!")
    prefixed = prefixed.replace(f'xmlns="{SHEET_MAIN_NS}"', f'xmlns:x="{SHEET_MAIN_NS}"')
    rows = _as_read(prefixed.encode())
    assert rows == _as_openpyxl_reads(prefixed.encode())
    assert rows[0] == (1, ("zero", datetime(2023, 3, 15).date(), 1500.0))


def test_a_sheet_data_tag_in_a_comment_is_not_where_rows_start() -> None:
    xml = _worksheet(_MIXED_ROWS, _X14AC).replace(
        "<dimension", f"<!-- <sheetData>{_PLAIN_ROW_99} --><dimension"
    )
    assert _as_read(xml.encode()) == _as_openpyxl_reads(xml.encode())
    assert 99 not in [number for number, _ in _as_read(xml.encode())]


def test_a_worksheet_cut_short_is_refused_as_broken_xml() -> None:
    xml = _worksheet(_MIXED_ROWS, _X14AC).encode()
    for cut in (xml.index(b'<row r="8"'), xml.index(b"<v>7</v>") + 3, len(xml) - 30):
        with pytest.raises(ExpatError):
            _as_read(xml[:cut])


def test_a_plain_looking_row_that_is_not_well_formed_is_refused() -> None:
    for row in ('<row r="1"><c r="A1"><v>1</v></c></rowx>', '<row r="1"><c r="A1"><v>1</c></row>'):
        with pytest.raises(ExpatError):
            _as_read(_worksheet([row, '<row r="2"><c r="A2"><v>2</v></c></row>']).encode())
