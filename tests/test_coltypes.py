"""Column types (--type COLUMN=TYPE): what goes out is what the column is, and a cell that
is not gets its row held back with a sentence, never sent."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from excelfmt.errors import TemplateError, UsageError
from excelfmt.models import CellError, Row
from excelfmt.sheets.coltypes import ColumnTypes
from excelfmt.sheets.numfmt import displayed, render
from excelfmt.sheets.reader import OpenSheet

CORPUS = Path(__file__).parent / "corpus"


def convert(kind: str, value: object, decimal_comma: bool = False) -> Row:
    types = ColumnTypes([("c", kind)], ["c"], decimal_comma)
    return types.apply(Row(0, 2, {"c": value}))  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("kind", "cell", "sent"),
    [
        ("text", 1010, "1010"),
        ("text", displayed(1010, "00000"), "01010"),
        ("text", 3.0, "3"),
        ("text", 0.1 + 0.2, "0.3"),  # as Excel shows it, without float noise
        ("text", True, "TRUE"),
        ("text", date(2024, 1, 5), "2024-01-05"),
        ("text", " as typed ", " as typed "),
        ("integer", "1,234", 1234),
        ("integer", 12.0, 12),
        ("integer", " 42 ", 42),
        ("number", "1,234.5", 1234.5),
        ("number", "7", 7),
        ("number", displayed(2.5, "#,##0.00"), 2.5),
        ("number", "   ", None),  # a blank cell is empty, not a bad number
        ("decimal", "12.30", Decimal("12.30")),
        ("decimal", 1234.5600000000002, Decimal("1234.56")),
        ("boolean", "yes", True),
        ("boolean", "FALSCH", False),  # German Excel's CSV export
        ("boolean", 1, True),
        ("date", "2024-12-31", date(2024, 12, 31)),
        ("date", datetime(2024, 12, 31), date(2024, 12, 31)),
        ("datetime", "2024-12-31T09:30:00", datetime(2024, 12, 31, 9, 30)),
        ("datetime", date(2024, 12, 31), datetime(2024, 12, 31)),
    ],
)
def test_a_cell_converts_to_its_column_type(kind, cell, sent):
    row = convert(kind, cell)
    assert row.problem is None
    assert row.values["c"] == sent and type(row.values["c"]) is type(sent)


def test_decimal_commas_when_asked_for():
    assert convert("number", "1.234,5", decimal_comma=True).values["c"] == 1234.5
    assert convert("decimal", "0,10", decimal_comma=True).values["c"] == Decimal("0.10")
    assert convert("integer", "1.234", decimal_comma=True).values["c"] == 1234


@pytest.mark.parametrize(
    ("kind", "cell", "why"),
    [
        ("number", "abc", "c: 'abc' is not a number"),
        ("number", "1,5", "c: '1,5' is not a number (for decimal commas, use --decimal-comma)"),
        ("decimal", "1.234,50", "c: '1.234,50' is not a number (for decimal commas, use --"),
        ("number", "nan", "c: 'nan' is not a number"),
        ("integer", 3.5, "c: 3.5 is not a whole number"),
        ("integer", "12a", "c: '12a' is not a whole number"),
        ("decimal", True, "c: TRUE is not a number"),
        ("boolean", "maybe", "c: 'maybe' is not true or false (true/false, yes/no, 1/0)"),
        ("date", "31/12/2024", "c: '31/12/2024' is not a date (write it as 2024-12-31)"),
        ("date", datetime(2024, 1, 5, 13, 0), "c: 2024-01-05 13:00:00 has a time of day"),
        ("datetime", 45000, "c: 45000 is not a date and time (write it as 2024-12-31T09:30:00)"),
    ],
)
def test_a_cell_that_does_not_convert_holds_its_row_back_with_the_reason(kind, cell, why):
    row = convert(kind, cell)
    assert row.problem is not None and row.problem.startswith(why)
    assert row.values["c"] == cell  # the cell keeps what the sheet said, for the fix loop


def test_empty_cells_and_excel_errors_are_left_to_the_planner():
    assert convert("number", None).values["c"] is None
    error = convert("number", CellError("#N/A"))
    assert error.problem is None and error.values["c"] == "#N/A"


def test_a_typed_column_the_sheet_lacks_is_a_usage_error():
    with pytest.raises(TemplateError, match=r"--type names 'Amout'.*Did you mean 'Amount'"):
        ColumnTypes([("Amout", "number")], ["Order", "Amount"], False)


@pytest.mark.parametrize(
    ("number_format", "number", "shown"),
    [
        ("00000", 1010, "01010"),
        ("00000", 123456, "123456"),
        ('"SKU-"000', 12, "SKU-012"),
        ("000-00-0000", 123456789, "123-45-6789"),
        ("#,##0.00", -1234567.891, "-1,234,567.89"),
        ("#,##0;(#,##0)", -1234, "(1,234)"),
        ("0.00_);[Red](0.00)", 3.456, "3.46"),
        ('0;-0;"none"', 0, "none"),
        ("0.00%", 0.125, "12.50%"),
        ("0.00E+00", 12345.678, "1.23E+04"),
        ("[$€-407] #,##0.00", 12.3, "€ 12.30"),
        ('#,##0,"K"', 1234567, "1,235K"),
        ("0.0#", 1.5, "1.5"),
        ("0", 2.5, "3"),  # Excel rounds half away from zero
        ("# ?/?", 1.5, "1.5"),  # fractions: the number as General shows it
    ],
)
def test_numbers_render_as_excel_shows_them(number_format, number, shown):
    assert render(number, number_format) == shown


def formatted_book(tmp_path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Zip", "Amount", "Paid"])
    for zip_code, amount, paid in [(1010, 12.3, "yes"), (8001, "abc", "no"), (123, 7, "1")]:
        sheet.append([zip_code, amount, paid])
    for (cell,) in sheet.iter_rows(min_row=2, max_col=1):
        cell.number_format = "00000"
    sheet["B2"].number_format = "#,##0.00"
    path = tmp_path / "postcodes.xlsx"
    book.save(path)
    return path


def test_a_run_sends_typed_values_and_holds_back_rows_that_do_not_convert(api, cli, tmp_path):
    book = formatted_book(tmp_path)
    types = ("--type", "Zip=text", "--type", "Amount=decimal", "--type", "Paid=boolean")
    result = cli("run", str(book), "--url", api.url, "--json", *types)

    assert result.exit_code == 1, result.output
    sent = sorted((r.json for r in api.received), key=lambda body: body["Zip"])
    assert sent == [
        {"Zip": "00123", "Amount": 7, "Paid": True},
        {"Zip": "01010", "Amount": 12.3, "Paid": True},
    ]
    assert b'"Amount":12.3,' in next(r.body for r in api.received if b"01010" in r.body)
    session = json.loads(result.stdout)["session"]
    [error] = json.loads(cli("errors", "list", "--session", session, "--json").stdout)
    assert error["category"] == "REQUIRES_USER_ACTION"
    assert error["message"] == "Row 3: Amount: 'abc' is not a number."
    assert error["values"] == {"Zip": "08001", "Amount": "abc", "Paid": False}

    fixed = cli("reprocess", error["short_id"], "--set", "Amount=9.90")
    assert fixed.exit_code == 0, fixed.output
    assert api.received[-1].json == {"Zip": "08001", "Amount": 9.9, "Paid": False}


def test_check_reports_type_failures(api, cli, tmp_path):
    book = formatted_book(tmp_path)
    result = cli("check", str(book), "--url", api.url, "--type", "Amount=number", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["first"] == [
        {
            "row": 3,
            "kind": "value not of its column's type",
            "problem": "Row 3: Amount: 'abc' is not a number.",
        }
    ]
    assert api.received == []


def test_a_csv_with_decimal_commas_from_the_command_line(api, cli, tmp_path):
    export = tmp_path / "export.csv"
    export.write_bytes("\ufeffSku;Preis\n00123;1.234,50\n00456;abc\n".encode())
    result = cli(
        "run", str(export), "--url", api.url, "--json",
        "--type", "Preis=decimal", "--decimal-comma",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert [r.body for r in api.received] == [b'{"Sku":"00123","Preis":1234.50}']


def test_text_columns_of_every_corpus_workbook_read_as_text():
    """Every cell of every readable workbook in the corpus goes out as text, and no number
    format there makes the renderer fail."""
    readable = [p for p in sorted(CORPUS.glob("*.xls*")) if not p.name.startswith(("corrupt",))]
    converted = 0
    for path in readable:
        try:
            with OpenSheet(path) as plain:
                columns = plain.columns
        except Exception:
            continue  # the corpus's refused files have tests of their own
        types = [(column, "text") for column in columns]
        with OpenSheet(path, types=types) as sheet:
            for row in sheet.rows(limit=500):
                # Its one date is past 9999-12-31: the row is refused, whatever the type.
                assert row.problem is None or path.name == "date_out_of_range.xlsx"
                assert all(v is None or isinstance(v, str) for v in row.values.values())
                converted += 1
    assert converted > 100


def test_types_come_from_the_settings_file_and_the_environment(tmp_path):
    from excelfmt.settings.config import load_settings

    config = tmp_path / "excelfmt.toml"
    config.write_text('url = "http://a"\ndecimal_comma = true\n[type]\nZip = "text"\n')
    settings = load_settings(config_file=config, env={"EXCELFMT_TYPE": "Amount=Number"})
    assert settings.type == (("Amount", "number"),) and settings.decimal_comma
    assert load_settings(config_file=config, env={}).describe()["type"] == ["Zip=text"]
    with pytest.raises(UsageError, match="'money' is not a column type; the types are text,"):
        load_settings({"url": "http://a", "type": ("Amount=money",)}, env={})
