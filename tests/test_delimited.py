"""CSV and TSV as people export them: the dialect worked out, rows streamed as text."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from excelfmt.errors import InputError
from excelfmt.sheets.delimited import detect
from excelfmt.sheets.reader import OpenSheet
from excelfmt.sheets.sniff import Format, sniff

from .apiserver import Reply

ROWS = [["Order", "Amount", "Note"], ["A-1", "1.234,5", "two\nlines"], ["A-2", "", 'say "hi"']]


def write(path: Path, text: str, encoding: str = "utf-8", bom: bytes = b"") -> Path:
    path.write_bytes(bom + text.encode(encoding))
    return path


def read(path: Path, **kwargs: str) -> tuple[tuple[str, ...], list[tuple[int, dict[str, object]]]]:
    with OpenSheet(path, **kwargs) as sheet:  # type: ignore[arg-type]
        return sheet.columns, [(row.number, dict(row.values)) for row in sheet.rows()]


EXPECTED = (
    ("Order", "Amount", "Note"),
    [
        (2, {"Order": "A-1", "Amount": "1.234,5", "Note": "two\nlines"}),
        (3, {"Order": "A-2", "Amount": None, "Note": 'say "hi"'}),
    ],
)


def csv_text(delimiter: str, newline: str = "\n") -> str:
    def field(value: str) -> str:
        special = delimiter in value or '"' in value or "\n" in value or "," in value
        return '"' + value.replace('"', '""') + '"' if special else value

    return "".join(delimiter.join(map(field, row)) + newline for row in ROWS)


@pytest.mark.parametrize(
    ("delimiter", "encoding", "bom", "newline"),
    [
        (",", "utf-8", b"", "\n"),
        (";", "utf-8", codecs.BOM_UTF8, "\r\n"),  # Excel's "CSV UTF-8" where , is decimal
        ("\t", "utf-16-le", codecs.BOM_UTF16_LE, "\r\n"),  # Excel's "Unicode text"
        ("|", "utf-8", b"", "\n"),
        (";", "cp1252", b"", "\r\n"),  # Excel's plain "CSV" on Windows
    ],
    ids=["comma", "semicolon-bom-crlf", "tab-utf16", "pipe", "semicolon-cp1252"],
)
def test_dialects_are_worked_out_and_cells_read_as_written(
    tmp_path: Path, delimiter: str, encoding: str, bom: bytes, newline: str
) -> None:
    path = write(tmp_path / "orders.csv", csv_text(delimiter, newline), encoding, bom)
    assert sniff(path) is Format.CSV
    assert read(path) == EXPECTED
    dialect = detect(path)
    assert dialect.delimiter == delimiter and dialect.estimated_rows == 3


def test_windows_text_is_read_as_cp1252(tmp_path: Path) -> None:
    path = write(tmp_path / "export.txt", "Name;City\nJos\u00e9;K\u00f6ln\n", "cp1252")
    assert read(path)[1] == [(2, {"Name": "Jos\u00e9", "City": "K\u00f6ln"})]
    assert (detect(path).encoding, detect(path).delimiter) == ("cp1252", ";")


def test_trailing_empty_columns_and_empty_lines_are_left_out(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "Id,Name,,\n1,a,,\n\n,,,\n2,b,,\n")
    assert read(path) == (
        ("Id", "Name"),
        [(2, {"Id": "1", "Name": "a"}), (5, {"Id": "2", "Name": "b"})],
    )


def test_delimiter_and_encoding_given_settle_what_guessing_would_not(tmp_path: Path) -> None:
    # A one-column file of numbers with decimal commas: no delimiter to find.
    path = write(tmp_path / "amounts.csv", "Amount\n1,5\n2,25\n", "utf-8")
    assert read(path, delimiter=";")[1] == [(2, {"Amount": "1,5"}), (3, {"Amount": "2,25"})]
    latin = write(tmp_path / "latin.csv", "Name\nJos\u00e9\n", "latin-1")
    assert read(latin, encoding="latin-1")[1] == [(2, {"Name": "Jos\u00e9"})]


def test_a_header_row_below_a_title_and_the_sheet_named_after_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "report.csv", "Monthly report\n\nId,Name\n1,a\n")
    with OpenSheet(path, None, 3) as sheet:
        assert sheet.name == "report" and sheet.columns == ("Id", "Name")
        assert [row.number for row in sheet.rows()] == [4]


def test_text_that_stops_being_utf8_midway_is_one_sentence(tmp_path: Path) -> None:
    body = "".join(f"{n},name {n}\n" for n in range(10000))  # well past the sample
    path = tmp_path / "mixed.csv"
    path.write_bytes(("Id,Name\n" + body).encode() + "99,Caf\u00e9\n".encode("cp1252"))
    with pytest.raises(InputError) as caught, OpenSheet(path) as sheet:
        list(sheet.rows())
    assert str(caught.value) == (
        f"{path}: row 10002 is not utf-8 text; give the file's encoding with --encoding "
        "(cp1252, latin-1, utf-16, ...)."
    )


def test_the_row_estimate_of_a_large_file_is_close(tmp_path: Path) -> None:
    path = write(tmp_path / "big.csv", "Id,Name\n" + "".join(f"{n},x\n" for n in range(50000)))
    estimated = detect(path).estimated_rows
    # From the first 64 KiB, whose lines are shorter than the rest: about, not exactly.
    assert estimated is not None and abs(estimated - 50001) < 0.15 * 50001


def test_a_semicolon_csv_from_excel_runs_end_to_end_with_the_fix_loop(api, cli, tmp_path):
    """Excel's "CSV UTF-8" where the decimal separator is a comma: BOM, ; and CRLF."""
    from openpyxl import load_workbook

    text = "Order;Amount;City\r\nA-1;10;K\u00f6ln\r\nA-2;-5;Z\u00fcrich\r\nA-3;7;Gen\u00e8ve\r\n"
    book = write(tmp_path / "orders.csv", text, bom=codecs.BOM_UTF8)

    def respond(got: Any) -> Reply:
        if got.json["Amount"].startswith("-"):
            return Reply(422, {"errors": [{"field": "Amount", "message": "must be positive"}]})
        return Reply(201, {"id": got.json["Order"]})

    api.respond = respond
    result = cli("run", str(book), "--url", api.url, "--json")
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["ok"], summary["sheet"]) == (3, 2, "orders")
    assert {"Order": "A-1", "Amount": "10", "City": "K\u00f6ln"} in [r.json for r in api.received]
    results = load_workbook(tmp_path / "orders.results.xlsx")["Results"]
    assert [c.value for c in results[3]][:4] == ["A-2", "-5", "Z\u00fcrich", "REQUIRES_USER_ACTION"]

    fix = tmp_path / "fix.xlsx"
    assert cli("errors", "export", "--session", summary["session"], "-o", str(fix)).exit_code == 0
    wb = load_workbook(fix)
    sheet = wb["Errors"]
    assert sheet.cell(2, 3).value == "-5"
    sheet.cell(2, 3).value = "5"
    wb.save(fix)
    again = cli("reprocess", "--session", summary["session"], "--from", str(fix), "--json")
    assert again.exit_code == 0, again.output
    assert api.received[-1].json == {"Order": "A-2", "Amount": "5", "City": "Z\u00fcrich"}
    exported = cli("export", summary["session"], "-o", str(tmp_path / "again.xlsx"))
    assert exported.exit_code == 0 and "3 rows, 3 ok" in exported.stdout


def test_a_tsv_named_xls_and_the_settings_for_it(api, cli, tmp_path):
    book = write(tmp_path / "report.xls", "Id\tName\n1\ta\n2\tb\n")  # many web apps do this
    result = cli("run", str(book), "--url", api.url, "--json")
    assert result.exit_code == 0, result.output
    assert [r.json for r in api.received] == [{"Id": "1", "Name": "a"}, {"Id": "2", "Name": "b"}]
    api.received.clear()
    amounts = write(tmp_path / "amounts.csv", "Amount\n1,5\n", "cp1252")
    given = cli("run", str(amounts), "--url", api.url, "--delimiter", "tab", "--encoding", "cp1252")
    assert given.exit_code == 0, given.output
    assert [r.json for r in api.received] == [{"Amount": "1,5"}]
