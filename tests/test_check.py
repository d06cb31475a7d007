"""`excelfmt check`: every row's local problems found before a run, nothing sent."""

from __future__ import annotations

import json

from openpyxl import load_workbook


def orders(workbook):
    return workbook(
        ["Order", "Customer", "Amount", "Note"],
        [
            ["A-1", "acme", 10, "ok"],
            ["A-2", None, 5, "no customer"],  # the URL needs Customer
            ["A-3", "acme", "#N/A", "a formula that failed"],  # an Excel error cell
            ["A-1", "bolt", 7, "typed twice"],  # repeats row 2's order
            ["A-5", "acme", 3, "fine"],
        ],
    )


def test_check_reports_each_kind_of_problem_and_sends_nothing(api, workbook, cli, tmp_path):
    book = orders(workbook)
    url = api.url + "/customers/{Customer}/orders"
    problems = tmp_path / "problems.xlsx"
    result = cli("check", str(book), "--url", url, "--unique", "Order", "-o", str(problems))

    assert result.exit_code == 1, result.output
    assert api.received == []
    out = " ".join(result.stdout.split())
    assert "5 rows checked; 3 would fail before anything is sent" in out
    assert "Row 3: column Customer is empty, but the URL needs it." in out
    assert "Row 4: cell Amount holds the Excel error #N/A; fix it in the sheet." in out
    assert "Row 5: Order 'A-1' repeats row 2." in out
    for kind in ("empty value the URL needs", "Excel error in a cell", "Order repeated"):
        assert f"1 {kind}" in out
    sheet = load_workbook(problems)["Problems"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["row", "problem", "Order", "Customer", "Amount", "Note"]
    assert [r[0] for r in rows[1:]] == [3, 4, 5]
    assert rows[3][2:4] == ["A-1", "bolt"]

    as_json = json.loads(
        cli("check", str(book), "--url", url, "--unique", "Order", "--json").stdout
    )
    assert (as_json["rows"], as_json["failing"], as_json["exit_code"]) == (5, 3, 1)
    assert [p["row"] for p in as_json["first"]] == [3, 4, 5]


def test_a_clean_sheet_checks_clean_and_a_csv_too(api, workbook, cli, tmp_path):
    book = workbook(["Id", "Name"], [[1, "a"], [2, "b"]])
    result = cli("check", str(book), "--url", api.url + "/{Id}", "--unique", "Id")
    assert result.exit_code == 0, result.output
    assert "2 rows checked; every one could be sent" in result.stdout
    text = tmp_path / "people.csv"
    text.write_text("Id;Name\n1;a\n1;b\n")
    repeated = cli("check", str(text), "--url", api.url, "--unique", "Id", "--json")
    assert repeated.exit_code == 1
    assert json.loads(repeated.stdout)["first"][0]["problem"] == "Row 3: Id '1' repeats row 2."
    assert api.received == []


def test_check_refuses_bad_usage_like_run(api, workbook, cli):
    book = workbook(["Order", "Customer"], [["A-1", "acme"]])
    typo = cli("check", str(book), "--url", api.url, "--unique", "Ordr")
    assert typo.exit_code == 2
    assert "--unique names 'Ordr', but the sheet has no column 'Ordr'. Did you mean 'Order'?" in (
        typo.stderr
    )
    template = cli("check", str(book), "--url", api.url + "/{Custmer}")
    assert template.exit_code == 2 and "Did you mean 'Customer'?" in template.stderr
    wrong = cli("check", str(book), "--url", api.url, "-o", "problems.csv")
    assert wrong.exit_code == 2 and "--output must end in .xlsx" in wrong.stderr
