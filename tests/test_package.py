"""package.py and ooxml.py read what openpyxl reads, on the corpus and over many values."""

from __future__ import annotations

import random
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.numbers import (
    BUILTIN_FORMATS,
    is_date_format,
    is_datetime,
    is_timedelta_format,
)
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601
from openpyxl.utils.escape import unescape
from openpyxl.xml.constants import SHARED_STRINGS

from excelfmt.sheets import ooxml
from excelfmt.sheets.package import read_package

from .conftest import CORPUS
from .test_sheetxml import openpyxl_formats

BOOKS = sorted(p for p in CORPUS.iterdir() if p.suffix in (".xlsx", ".xlsm"))


def _as_openpyxl_reads(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = ExcelReader(handle, read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        book = reader.wb
        sheets = {
            sheet.name: ((sheet.state or "visible") == "visible", rel.target)
            for sheet, rel in reader.parser.find_sheets()
            if "chartsheet" not in rel.Type and rel.target in reader.valid_files
        }
        shared = reader.package.find(SHARED_STRINGS)
        return {
            "sheets": list(sheets.items()),
            "epoch": book.epoch,
            "shared_strings": shared.PartName[1:] if shared else None,
            "formats": openpyxl_formats(book),
            "dates": frozenset(book._date_formats),  # type: ignore[attr-defined]
            "durations": frozenset(book._timedelta_formats),  # type: ignore[attr-defined]
        }


def _as_read(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        package = read_package(archive)
    return {
        "sheets": [(s.name, (s.visible, s.part)) for s in package.sheets],
        "epoch": package.epoch,
        "shared_strings": package.shared_strings,
        "formats": package.formats,
        "dates": package.dates,
        "durations": package.durations,
    }


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.name)
def test_a_package_reads_as_openpyxl_reads_it(path: Path) -> None:
    try:
        expected = _as_openpyxl_reads(path)
    except Exception:  # damaged on purpose, or encrypted: refused both ways
        with pytest.raises((KeyError, OSError, ValueError, zipfile.BadZipFile)):
            _as_read(path)
        return
    assert _as_read(path) == expected


def test_the_corpus_has_what_the_package_reader_must_get_right() -> None:
    read = [_as_read(p) for p in BOOKS if _opens(p)]
    assert len(read) >= 40
    assert any(book["epoch"] == MAC_EPOCH for book in read)  # a 1904 workbook
    assert any(not visible for book in read for _, (visible, _) in book["sheets"])
    assert any(book["durations"] for book in read)
    assert any(code not in BUILTIN_FORMATS.values() for b in read for code in b["formats"].values())


def _opens(path: Path) -> bool:
    try:
        _as_read(path)
    except Exception:
        return False
    return True


def test_serial_numbers_become_what_openpyxl_makes_of_them() -> None:
    rng = random.Random(5)
    values = [0, 0.5, 0.999999, 1, 1.5, 59, 59.99, 60, 60.5, 61, 2958465.99999, -0.5, -1.25]
    values += [rng.uniform(0, 100) for _ in range(300)]
    values += [rng.uniform(0, 80_000) for _ in range(1000)]
    values += [rng.randint(1, 80_000) for _ in range(300)]
    for value in values:
        for epoch in (WINDOWS_EPOCH, MAC_EPOCH):
            for duration in (False, True):
                try:
                    expected = from_excel(value, epoch, timedelta=duration)
                except (OverflowError, ValueError) as exc:
                    with pytest.raises(type(exc)):
                        ooxml.from_excel(value, epoch, duration=duration)
                    continue
                found = ooxml.from_excel(value, epoch, duration=duration)
                assert found == expected and type(found) is type(expected), (value, epoch)


def test_iso_8601_text_becomes_what_openpyxl_makes_of_it() -> None:
    texts = [
        "2024-02-03",
        "2024-02-03T04:05:06",
        "2024-02-03T04:05:06.5",
        "2024-02-03T04:05:06.123Z",
        "2024-02-03T04:05",
        "04:05:06",
        "04:05",
        "T04:05:06.25",
        "PT1H",
        "PT1H30M",
        "PT90M5.5S",
        "PT5S",
        "",
    ]
    for text in texts:
        expected = from_ISO8601(text)
        found = ooxml.from_iso8601(text)
        assert found == expected and type(found) is type(expected), text
    for broken in ("yesterday", "2024-13-01", "P1D"):
        with pytest.raises(ValueError, match=r"month|Invalid datetime"):
            from_ISO8601(broken)
        with pytest.raises(ValueError, match=r"month|Invalid datetime"):
            ooxml.from_iso8601(broken)


def test_number_formats_are_dates_and_durations_as_openpyxl_says() -> None:
    codes = list(BUILTIN_FORMATS.values())
    codes += [
        "yyyy-mm-dd",
        "dd/mm/yyyy hh:mm",
        "[h]:mm:ss",
        "[mm]:ss.00",
        "[ss].0",
        "[$-409]mmmm d, yyyy;@",
        '"Day "0',
        '0.00" days"',
        "[Red]0.00",
        "[Blue]#,##0;[Red]-#,##0",
        r"0\h",
        "_h0",
        "hh:mm AM/PM",
        "General;[Red]yyyy",
        "mmm",
        "s",
        "[$€-2] #,##0.00",
        "@",
    ]
    with zipfile.ZipFile(CORPUS / "date_quoted_format.xlsx") as archive:
        codes += list(read_package(archive).formats.values())
    for code in codes:
        assert ooxml.is_date_format(code) == is_date_format(code), code
        assert ooxml.is_timedelta_format(code) == is_timedelta_format(code), code
        assert ooxml.date_kind(code) == is_datetime(code), code
    assert not ooxml.is_date_format(None) and not ooxml.is_timedelta_format(None)


def test_escapes_and_column_names_read_as_openpyxl_reads_them() -> None:
    for text in ("plain", "a_x000D_b", "_x005F_x000D_", "_x00e9_", "_xZZZZ_", "_x41_", ""):
        assert ooxml.unescape(text) == unescape(text), text
    for index in range(1, 18279):
        letters = get_column_letter(index)
        assert ooxml.column_letters(index) == letters
        assert ooxml.column_index(letters) == column_index_from_string(letters) == index
        assert ooxml.column_index(letters.lower()) == index
    for wrong in ("", "AAAA", "A1", "Ä", "$A"):
        with pytest.raises(ValueError, match="not a valid column name"):
            column_index_from_string(wrong)
        with pytest.raises(ValueError, match="not a valid column name"):
            ooxml.column_index(wrong)
    for wrong_index in (0, 18279, -1):
        with pytest.raises(ValueError, match="Invalid column index"):
            ooxml.column_letters(wrong_index)


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = f"{_RELS}/worksheet"


def test_a_package_with_the_rarer_shapes_reads_as_openpyxl_reads_it(tmp_path: Path) -> None:
    """Written by hand: a workbook format under a built-in's id, styles of a style (not of
    cells), dates from 1904 said "true", a hidden sheet, a chart sheet, a sheet with no
    relationship, an absolute target, an external link."""
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.'
            'sheet.macroEnabled.main+xml"/></Types>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><workbookPr date1904="true"/>'
            '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/>'
            '<sheet name="Hidden" sheetId="2" state="hidden" r:id="rId2"/>'
            '<sheet name="Chart" sheetId="3" r:id="rId3"/><sheet name="Lost" sheetId="4"/>'
            "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_SHEET_TYPE}" Target="a/../worksheets/a.xml"/>'
            f'<Relationship Id="rId2" Type="{_SHEET_TYPE}" Target="/xl/worksheets/b.xml"/>'
            f'<Relationship Id="rId3" Type="{_RELS}/chartsheet" Target="chartsheets/c.xml"/>'
            f'<Relationship Id="rId4" Type="{_RELS}/hyperlink" Target="https://example.com" '
            'TargetMode="External"/></Relationships>'
        ),
        "xl/styles.xml": (
            f'<styleSheet xmlns="{_MAIN}"><numFmts count="2">'
            '<numFmt numFmtId="14" formatCode="0.00"/><numFmt numFmtId="170" '
            'formatCode="[$-409]d mmm yyyy;@"/></numFmts>'
            '<cellStyleXfs count="1"><xf numFmtId="22"/></cellStyleXfs><cellXfs count="5">'
            '<xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="170"/><xf numFmtId="46"/>'
            "<xf/></cellXfs></styleSheet>"
        ),
        "xl/worksheets/a.xml": f'<worksheet xmlns="{_MAIN}"><sheetData/></worksheet>',
        "xl/worksheets/b.xml": f'<worksheet xmlns="{_MAIN}"><sheetData/></worksheet>',
        "xl/chartsheets/c.xml": f'<chartsheet xmlns="{_MAIN}"/>',
    }
    path = tmp_path / "rare.xlsm"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    read = _as_read(path)
    assert read == _as_openpyxl_reads(path)
    assert read["sheets"] == [
        ("Data", (True, "xl/worksheets/a.xml")),
        ("Hidden", (False, "xl/worksheets/b.xml")),
    ]
    assert read["epoch"] == MAC_EPOCH
    assert read["formats"][1] == "0.00" and 1 not in read["dates"]  # the workbook's own 14
    assert read["dates"] == {2, 3} and read["durations"] == {3}
