"""The reader against real workbooks (tests/corpus, see its MANIFEST) and generated ones."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from excelfmt.errors import InputError
from excelfmt.models import CellError
from excelfmt.sheets.reader import OpenSheet
from excelfmt.sheets.sniff import Format, sniff

from .conftest import CORPUS


def read(path: Path, **kwargs: object) -> tuple[tuple[str, ...], list[dict[str, object]]]:
    with OpenSheet(path, **kwargs) as sheet:  # type: ignore[arg-type]
        return sheet.columns, [dict(row.values) for row in sheet.rows()]


def manifest() -> list[dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _calamine_rows(path: Path) -> list[list[Any]]:
    """The first visible sheet as python-calamine sees it, from A1: an independent oracle."""
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    visible = [
        m.name
        for m in book.sheets_metadata
        if m.visible == python_calamine.SheetVisibleEnum.Visible
    ]
    return book.get_sheet_by_name(visible[0]).to_python(skip_empty_area=False)


def _filled(values: list[object]) -> bool:
    return any(str(v).strip() for v in values)


def _first_filled_row(path: Path) -> int:
    """The row the MANIFEST calls the header: the first with a non-empty cell."""
    for offset, values in enumerate(_calamine_rows(path)):
        if _filled(values):
            return offset + 1
    return 1


def _data_rows(path: Path, header_row: int, width: int) -> int:
    """Rows below the header with a value under a named column."""
    return sum(_filled(values[:width]) for values in _calamine_rows(path)[header_row:])


# Where the two readers disagree and excelfmt follows Excel (see the corpus README).
DIFFERENT_FROM_CALAMINE = {
    "errors.xlsx": "calamine reads error cells as empty; excelfmt keeps them to flag the row",
    "encoded_entities.xlsx": "openpyxl sees one more non-empty row than calamine",
}


def _expected_header(text: str) -> list[str]:
    cells = [
        c.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r") for c in text.split("|")
    ]
    # Excel shows _x000D_ as a carriage return; integral floats are whole numbers.
    cells = [re.sub(r"^(-?\d+)\.0$", r"\1", c.replace("_x000D_", "\r").strip()) for c in cells]
    # A date-formatted header cell at midnight is a date: 2021-01-01, not a datetime.
    cells = [re.sub(r"^(\d{4}-\d\d-\d\d) 00:00:00$", r"\1", c) for c in cells]
    cells = [re.sub(r"^(\d{4}-\d\d-\d\d) (\d\d:)", r"\1T\2", c) for c in cells]  # ISO 8601
    while cells and not cells[-1]:
        cells.pop()
    return cells


READABLE = [
    e
    for e in manifest()
    if re.match(r"rows=\d+", e["expect"]) or re.match(r"rows=\d+", e["calamine_sees"])
]
TEXT = {"too_small.xls"}
"""Refused by the projects they come from as broken workbooks; text to excelfmt, which
reads any text file as CSV, whatever its name (web apps export "report.xls" as TSV)."""
REFUSED = [e for e in manifest() if e not in READABLE and e["file"] not in TEXT]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("entry", READABLE, ids=lambda e: e["file"])
def test_corpus_workbook_reads_as_its_manifest_says(entry: dict[str, str]) -> None:
    path = CORPUS / entry["file"]
    seen = entry["expect"] if entry["expect"].startswith("rows=") else entry["calamine_sees"]
    header = _expected_header(seen.partition("header=")[2])
    header_row = _first_filled_row(path)

    if not header or "" in header or len(set(header)) != len(header):
        # Workbooks whose header row has gaps or repeats (or is missing) are refused,
        # naming the cells or the row.
        with pytest.raises(InputError, match=r"header cells? [A-Z]+\d+|appears twice|is empty"):
            read(path, header_row=header_row)
        return
    columns, rows = read(path, header_row=header_row)
    # The MANIFEST cuts long lines, so compare what it kept.
    assert "|".join(columns).startswith("|".join(header)) and len(columns) >= len(header)
    if entry["file"] not in DIFFERENT_FROM_CALAMINE:
        assert len(rows) == _data_rows(path, header_row, len(columns))


@pytest.mark.parametrize("entry", REFUSED, ids=lambda e: e["file"])
def test_corpus_workbook_refused_with_a_sentence(entry: dict[str, str]) -> None:
    path = CORPUS / entry["file"]
    with pytest.raises(InputError) as caught:
        read(path)
    message = str(caught.value)
    assert entry["file"] in message and message.endswith(".")
    assert "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("any_sheets.xlsx", Format.XLSX),
        ("issue221.xlsm", Format.XLSX),
        ("minimal_package.xlsx", Format.XLSX),
        ("any_sheets.xls", Format.XLS),
        ("any_sheets.xlsb", Format.XLSB),
        ("any_sheets.ods", Format.ODS),
        ("strict_iso_paths.xlsx", Format.XLSX_NONSTANDARD),
        ("no_sharedstrings_part_cjk.xlsx", Format.XLSX_NONSTANDARD),
    ],
)
@pytest.mark.parametrize("suffix", [".dat", ".xlsx", ".xls", ".xlsb", ".ods", ".csv"])
def test_formats_are_sniffed_from_content(
    name: str, fmt: Format, suffix: str, tmp_path: Path
) -> None:
    # An .xls saved under an .xlsx name (and every other pairing) opens as what it is.
    renamed = tmp_path / f"renamed{suffix}"
    renamed.write_bytes((CORPUS / name).read_bytes())
    assert sniff(renamed) is fmt
    header_row = _first_filled_row(CORPUS / name)
    assert read(renamed, header_row=header_row) == read(CORPUS / name, header_row=header_row)


def test_a_text_file_named_xls_is_read_as_csv() -> None:
    columns, rows = read(CORPUS / "too_small.xls")
    assert columns == ((CORPUS / "too_small.xls").read_text().strip(),) and rows == []


def test_hidden_sheets_are_skipped_by_default_but_can_be_named() -> None:
    with OpenSheet(CORPUS / "any_sheets.xlsx") as sheet:
        assert sheet.name == "Visible"
    with pytest.raises(InputError, match="sheet 'Hidden': row 1 is empty"):
        read(CORPUS / "any_sheets.xlsx", sheet="hidden")


def test_cell_types_dates_and_escapes(tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["text", "int", "float", "bool", "date", "datetime", "time", "span", "zip"])
    ws.append(
        [
            "a_x000D_b",
            42,
            2.5,
            True,
            datetime(2024, 1, 31),
            datetime(2024, 1, 31, 8, 30),
            time(7, 15),
            timedelta(hours=30),
            "00123",
        ]
    )
    ws["E2"].number_format = "yyyy-mm-dd"
    ws["H2"].number_format = "[h]:mm:ss"
    ws.append([None, None, None])  # a fully empty row: skipped
    ws.append(["   ", None])  # whitespace only: also empty
    ws.append(["last"])
    path = tmp_path / "types.xlsx"
    book.save(path)

    columns, rows = read(path)

    assert columns == ("text", "int", "float", "bool", "date", "datetime", "time", "span", "zip")
    assert rows[0] == {
        "text": "a\rb",
        "int": 42,
        "float": 2.5,
        "bool": True,
        "date": date(2024, 1, 31),
        "datetime": datetime(2024, 1, 31, 8, 30),
        "time": time(7, 15),
        "span": timedelta(hours=30),
        "zip": "00123",
    }
    assert type(rows[0]["int"]) is int
    assert len(rows) == 2 and rows[1]["text"] == "last" and rows[1]["int"] is None


def test_error_cells_are_marked() -> None:
    _, rows = read(CORPUS / "errors.xlsx")
    assert all(isinstance(row["#DIV/0!"], CellError) for row in rows)


def test_header_cells_are_trimmed_and_stringified(tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["  Name ", 2024, None, None])  # trailing empty header cells are fine
    ws.append(["x", 1])
    path = tmp_path / "h.xlsx"
    book.save(path)
    assert read(path) == (("Name", "2024"), [{"Name": "x", "2024": 1}])


def test_rows_carry_sheet_row_numbers_and_sequence(tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    for row in (["Title"], [], ["Id"], [1], [], [2]):
        ws.append(row)
    path = tmp_path / "n.xlsx"
    book.save(path)
    with OpenSheet(path, header_row=3) as sheet:
        rows = list(sheet.rows())
    assert [(r.seq, r.number) for r in rows] == [(0, 4), (1, 6)]


def test_limit_stops_reading(tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["N"])
    for n in range(100):
        ws.append([n])
    path = tmp_path / "l.xlsx"
    book.save(path)
    with OpenSheet(path) as sheet:
        assert [r.values["N"] for r in sheet.rows(limit=3)] == [0, 1, 2]
        assert sheet.estimated_rows == 100


def test_truncated_workbook_is_refused(tmp_path: Path) -> None:
    data = (CORPUS / "readings_plain_table.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="damaged or truncated"):
        read(path)


LAUGHS = b"".join(
    [b'<!DOCTYPE x [<!ENTITY a0 "ha">']
    + [f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">'.encode() for n in range(1, 10)]
    + [b"]>"]
)
"""A billion laughs: 2 bytes declared ten times over, nine times: 2 GB from 1 KB."""


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml"])
def test_xml_entity_bombs_are_refused(tmp_path: Path, part: str) -> None:
    import zipfile

    source = CORPUS / "readings_plain_table.xlsx"
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(bomb, "w") as copy:
        for name in original.namelist():
            data = original.read(name)
            if name == part:
                head, _, rest = data.partition(b"?>")
                tag = rest.lstrip().split(b" ", 1)[0]
                data = head + b"?>" + LAUGHS + rest.replace(tag + b" ", tag + b" x='&a9;' ", 1)
            copy.writestr(name, data)
    with pytest.raises(InputError, match="entities that expand without end"):
        read(bomb)


def test_broken_package_parts_are_refused_with_a_sentence_naming_them(tmp_path: Path) -> None:
    import zipfile

    source = CORPUS / "readings_plain_table.xlsx"
    broken = {
        "xl/styles.xml": (b'numFmtId="', b'numFmtId="x', r"its styles cannot be read"),
        "xl/workbook.xml": (b"<workbook", b"<workbook<", "XML is broken"),
        "xl/_rels/workbook.xml.rels": (b'Id="rId1"', b'Id="rIdX"', r"missing \(rId1\)"),
    }
    for part, (old, new, said) in broken.items():
        path = tmp_path / f"{part.replace('/', '_')}.xlsx"
        with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as copy:
            for name in original.namelist():
                data = original.read(name)
                if name == part:
                    assert old in data, part
                    data = data.replace(old, new)
                copy.writestr(name, data)
        with pytest.raises(InputError, match=f"cannot be opened: .*{said}"):
            read(path)
