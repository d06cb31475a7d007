"""Every cell of an .xlsx is read as Excel shows it: each case built from a workbook that
shows it, written at the XML level where no library writes it (tests/xlsxparts.py)."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from excelfmt.errors import InputError
from excelfmt.sheets.reader import OpenSheet

from .apiserver import ApiServer
from .xlsxparts import cell, package, row, shared, styles


def read(path: Path, **kwargs: object) -> list[tuple[int, dict[str, object], str | None]]:
    with OpenSheet(path, **kwargs) as sheet:  # type: ignore[arg-type]
        return [(r.number, dict(r.values), r.problem) for r in sheet.rows()]


def values(path: Path, **kwargs: object) -> list[object]:
    """The one column's values, row by row."""
    return [next(iter(found.values())) for _, found, _ in read(path, **kwargs)]


def numbers(tmp_path: Path, *serials: str, style: int = 1, **kwargs: object) -> Path:
    """A sheet with the header 'V' and one number a row, under cell style `style`."""
    rows = [row(1, cell("A1", "V", "inlineStr"))]
    rows += [row(n + 2, cell(f"A{n + 2}", s, style=style)) for n, s in enumerate(serials)]
    return package(tmp_path / "n.xlsx", "".join(rows), **kwargs)  # type: ignore[arg-type]


def test_a_conditional_formats_number_format_is_not_a_cells(tmp_path: Path) -> None:
    # caxlsx writes a dxf's <numFmt> with id 0; a dxf's 164 is not cellXfs' 164 either.
    dxf = '<numFmt numFmtId="0" formatCode="yyyy-mm-dd"/>'
    path = numbers(tmp_path, "1", "1234.5", styles_xml=styles(0, 0, dxf=dxf))
    assert values(path) == [1, 1234.5]
    dxf = '<numFmt numFmtId="164" formatCode="0.00"/>'
    custom = {164: "yyyy-mm-dd"}
    path = numbers(tmp_path, "45356", styles_xml=styles(0, 164, custom=custom, dxf=dxf))
    assert values(path) == [date(2024, 3, 5)]


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("First_x005F_x0020_Name", "First_x0020_Name"),  # XlsxWriter's literal _x0020_
        ("a_x000D_b", "a\rb"),
        ("bell_x0007_", "bell\x07"),
        ("_x005F_", "_"),
        ("smile _xD83D__xDE00_", "smile 😀"),
        ("plain_text", "plain_text"),
    ],
)
def test_escapes_are_decoded_once_in_shared_and_inline_strings(
    tmp_path: Path, written: str, shown: str
) -> None:
    rows = row(1, cell("A1", "0", "s"), cell("B1", "1", "s")) + row(
        2, cell("A2", "2", "s"), cell("B2", written, "inlineStr")
    )
    path = package(
        tmp_path / "s.xlsx", rows, strings_xml=shared("<t>A</t>", "<t>B</t>", f"<t>{written}</t>")
    )
    assert read(path) == [(2, {"A": shown, "B": shown}, None)]


@pytest.mark.parametrize("number_format", [*range(27, 32), 34, 35, 36, *range(50, 59)])
def test_east_asian_built_in_date_formats_are_dates(tmp_path: Path, number_format: int) -> None:
    path = numbers(tmp_path, "45356", styles_xml=styles(0, number_format))
    assert values(path) == [date(2024, 3, 5)]


@pytest.mark.parametrize("number_format", [32, 33])
def test_east_asian_built_in_time_formats_are_times(tmp_path: Path, number_format: int) -> None:
    path = numbers(tmp_path, "0.75", styles_xml=styles(0, number_format))
    assert values(path) == [time(18, 0)]


def test_the_1904_date_system_below_serial_1(tmp_path: Path) -> None:
    path = numbers(tmp_path, "0.5", "0", "1.25", styles_xml=styles(0, 22), date1904=True)
    assert values(path) == [
        datetime(1904, 1, 1, 12),
        datetime(1904, 1, 1),
        datetime(1904, 1, 2, 6),
    ]
    path = numbers(tmp_path, "0", "0.5", styles_xml=styles(0, 14), date1904=True)
    assert values(path) == [date(1904, 1, 1), datetime(1904, 1, 1, 12)]
    path = numbers(tmp_path, "0.5", styles_xml=styles(0, 21), date1904=True)  # h:mm:ss
    assert values(path) == [time(12)]


def test_dates_excel_cannot_show_refuse_their_row_and_only_theirs(tmp_path: Path) -> None:
    path = numbers(tmp_path, "59", "60", "61", "-1", "3000000", styles_xml=styles(0, 14))
    found = read(path)
    assert [number for number, _, _ in found] == [2, 3, 4, 5, 6]
    assert [v["V"] for _, v, p in found if p is None] == [date(1900, 2, 28), date(1900, 3, 1)]
    problems = [p for _, _, p in found if p is not None]
    assert problems == [
        "V: 60 is 29 February 1900, a day that never was (Excel counts it by mistake)",
        "V: -1 is before the first date Excel has (it shows #####)",
        "V: 3000000 is after the last date Excel has (9999-12-31)",
    ]
    # Durations may be negative, and are not dates.
    assert values(numbers(tmp_path, "-0.5", "1.5", styles_xml=styles(0, 46))) == [
        timedelta(hours=-12),
        timedelta(hours=36),
    ]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("2024-03-05T13:45:00", datetime(2024, 3, 5, 13, 45)),
        ("2024-03-05T13:45:00.123456", datetime(2024, 3, 5, 13, 45, 0, 123456)),
        (
            "2024-03-05T13:45:00+01:00",
            datetime(2024, 3, 5, 13, 45, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("2024-03-05T13:45:00Z", datetime(2024, 3, 5, 13, 45, tzinfo=UTC)),
        ("2024-03-05", date(2024, 3, 5)),
        ("13:45:30.5", time(13, 45, 30, 500000)),
    ],
)
def test_iso_dates_keep_what_is_written(tmp_path: Path, written: str, value: object) -> None:
    rows = row(1, cell("A1", "V", "inlineStr")) + row(2, cell("A2", written, "d"))
    assert values(package(tmp_path / "d.xlsx", rows)) == [value]


def test_a_styles_part_named_by_the_relationships_is_the_styles(tmp_path: Path) -> None:
    path = numbers(
        tmp_path, "45356", styles_xml=styles(0, 14), names={"styles": "xl/theStyles.xml"}
    )
    assert values(path) == [date(2024, 3, 5)]


def test_part_names_are_found_whatever_their_case(tmp_path: Path) -> None:
    path = numbers(tmp_path, "7", styles_xml=styles(0, 0))
    renamed = tmp_path / "cased.xlsx"
    with zipfile.ZipFile(path) as original, zipfile.ZipFile(renamed, "w") as copy:
        for info in original.infolist():
            name = info.filename.replace("worksheets/sheet1", "Worksheets/Sheet1")
            copy.writestr(name.replace("styles.xml", "Styles.XML"), original.read(info))
    assert values(renamed) == [7]


def test_shared_strings_found_by_the_relationships_alone(tmp_path: Path) -> None:
    rows = row(1, cell("A1", "0", "s")) + row(2, cell("A2", "1", "s"))
    path = package(
        tmp_path / "u.xlsx", rows, strings_xml=shared("<t>V</t>", "<t>x</t>"), declare_strings=False
    )
    assert values(path) == ["x"]


def test_shared_strings_declared_but_missing_are_one_sentence(tmp_path: Path) -> None:
    rows = row(1, cell("A1", "0", "s"))
    path = package(tmp_path / "m.xlsx", rows, strings_xml=shared("<t>V</t>"))
    cut = tmp_path / "missing.xlsx"
    with zipfile.ZipFile(path) as original, zipfile.ZipFile(cut, "w") as copy:
        for info in original.infolist():
            if info.filename != "xl/sharedStrings.xml":
                copy.writestr(info, original.read(info))
    with pytest.raises(
        InputError, match=r"missing.xlsx: its shared strings \(xl/sharedStrings.xml\) are missing"
    ):
        read(cut)


@pytest.mark.parametrize(
    ("written", "kind", "problem"),
    [
        ("maybe", "b", "V: 'maybe' is not TRUE or FALSE"),
        ("NaN", "n", "V: 'NaN' is not a number"),
        ("1E400", "n", "V: '1E400' is not a number Excel has"),
        ("12", "s", "V: it names shared string '12', which the file does not have"),
        ("2024-13-45", "d", "V: '2024-13-45' is not a date and time (ISO 8601)"),
    ],
)
def test_a_bad_cell_refuses_its_row_not_the_file(
    tmp_path: Path, written: str, kind: str, problem: str
) -> None:
    rows = (
        row(1, cell("A1", "V", "inlineStr"))
        + row(2, cell("A2", "true", "b"))
        + row(3, cell("A3", written, kind))
        + row(4, cell("A4", "false", "b"))
    )
    path = package(tmp_path / "b.xlsx", rows, strings_xml=shared("<t>V</t>"))
    assert read(path) == [
        (2, {"V": True}, None),
        (3, {"V": written}, problem),
        (4, {"V": False}, None),
    ]


def test_every_row_of_a_stale_dimension_and_rows_out_of_order(tmp_path: Path) -> None:
    rows = (
        row(1, cell("A1", "V", "inlineStr"), cell("B1", "W", "inlineStr"))
        + row(3, cell("B3", "b3", "inlineStr"), cell("A3", "a3", "inlineStr"))
        + row(2, cell("A2", "a2", "inlineStr"))
        + row(5, cell("A5", "a5", "inlineStr"))
        + row(None, "<c><v>5</v></c><c><v>6</v></c>")
    )
    path = package(tmp_path / "o.xlsx", rows, dimension="A1")
    assert read(path) == [
        (3, {"V": "a3", "W": "b3"}, None),
        (2, {"V": "a2", "W": None}, None),
        (5, {"V": "a5", "W": None}, None),
        (6, {"V": 5, "W": 6}, None),
    ]


def test_a_cell_written_twice_refuses_its_row(tmp_path: Path) -> None:
    rows = row(1, cell("A1", "V", "inlineStr")) + row(2, cell("A2", "1"), cell("A2", "2"))
    (found,) = read(package(tmp_path / "t.xlsx", rows))
    assert found[2] == "V: the cell is written twice in the file"


def test_no_styles_part_and_a_style_past_the_end(tmp_path: Path) -> None:
    assert values(numbers(tmp_path, "45356", style=0)) == [45356]
    assert values(numbers(tmp_path, "45356", style=9, styles_xml=styles(0, 14))) == [45356]


def test_error_cells_refuse_their_row_with_the_error(tmp_path: Path) -> None:
    rows = row(1, cell("A1", "V", "inlineStr")) + row(2, cell("A2", "#N/A", "e"))
    path = package(tmp_path / "e.xlsx", rows)
    with OpenSheet(path) as sheet:
        (only,) = sheet.rows()
    assert only.values["V"] == "#N/A" and type(only.values["V"]).__name__ == "CellError"


def test_a_text_column_shows_a_number_as_its_format_does(tmp_path: Path) -> None:
    custom = {164: "[Blue]General", 165: "[$-409]General", 166: 'General" kg"', 167: "00000"}
    shown = []
    for style in (1, 2, 3, 4):
        path = numbers(
            tmp_path, "1010", style=style, styles_xml=styles(0, 164, 165, 166, 167, custom=custom)
        )
        shown += values(path, types=[("V", "text")])
    assert shown == ["1010", "1010", "1010 kg", "01010"]


def test_a_bad_cell_deep_in_a_run_refuses_its_row_and_the_rest_is_sent(
    tmp_path: Path, api: ApiServer, cli: Any
) -> None:
    rows = [row(1, cell("A1", "Id", "inlineStr"), cell("B1", "Flag", "inlineStr"))]
    for n in range(2, 4002):
        flag = "maybe" if n == 4000 else ("true" if n % 2 else "0")
        rows.append(row(n, cell(f"A{n}", str(n)), cell(f"B{n}", flag, "b")))
    path = package(tmp_path / "flags.xlsx", "".join(rows))
    out = tmp_path / "out.jsonl"

    result = cli("run", str(path), "--url", api.url, "--output", str(out), "--quiet")

    assert result.exit_code == 1  # rows need a person; 2 would say nothing was sent
    assert len(api.received) == 3999
    assert {r.json["Flag"] for r in api.received} == {True, False}
    records = [json.loads(line) for line in out.read_text().splitlines()]
    (refused,) = [r for r in records if r["status"] != "ok"]
    assert refused["row"] == 4000 and refused["status"] == "REQUIRES_USER_ACTION"
    assert refused["message"] == "Row 4000: Flag: 'maybe' is not TRUE or FALSE."
    listed = json.loads(cli("errors", "list", "--json").stdout)
    assert [e["message"] for e in listed] == [refused["message"]]


def test_a_sheet_that_breaks_off_after_rows_were_sent_stops_the_run_not_exit_2(
    tmp_path: Path, api: ApiServer, cli: Any
) -> None:
    rows = [row(1, cell("A1", "Id", "inlineStr"))]
    rows += [row(n, cell(f"A{n}", str(n))) for n in range(2, 4001)]
    path = package(tmp_path / "cut.xlsx", "".join(rows) + "<<broken")

    result = cli("run", str(path), "--url", api.url, "--quiet")

    assert len(api.received) == 3999
    assert result.exit_code == 3  # stopped early: 2 says nothing was sent
    said = result.stderr.strip()
    assert "its XML is broken" in said and "The 3,999 rows read before it are recorded" in said
    assert said.endswith("The rest of the sheet was not sent.")


def test_what_openpyxl_leaves_out_of_a_sheet_says_nothing(tmp_path: Path) -> None:
    # openpyxl warns of an extension it drops; pytest makes any warning an error here.
    rows = row(1, cell("A1", "V", "inlineStr")) + row(2, cell("A2", "1"))
    path = package(tmp_path / "x.xlsx", rows)
    with zipfile.ZipFile(path) as original:
        parts = {i.filename: original.read(i) for i in original.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(
        b"</worksheet>",
        b'<extLst><ext uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}"/></extLst></worksheet>',
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    assert values(path) == [1]
