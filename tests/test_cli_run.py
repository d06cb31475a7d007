"""`excelfmt run` end to end: the real CLI against a real local API."""

from __future__ import annotations

import gc
import gzip
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from .apiserver import ApiServer, Received, Reply
from .conftest import run_subprocess


def results(path: Path) -> list[dict[str, object]]:
    sheet = load_workbook(path)["Results"]
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_default_body_is_the_row_as_json_and_results_are_written(api, workbook, cli):
    book = workbook(["Order", "Amount", "Zip"], [["A-1", 12.5, "01234"], ["A-2", 3, "00042"]])

    result = cli("run", str(book), "--url", f"{api.url}/orders")

    assert result.exit_code == 0, result.output
    # Both go out at once: they may arrive in either order.
    assert sorted((r.json for r in api.received), key=lambda order: order["Order"]) == [
        {"Order": "A-1", "Amount": 12.5, "Zip": "01234"},
        {"Order": "A-2", "Amount": 3, "Zip": "00042"},
    ]
    assert all(r.method == "POST" and r.path == "/orders" for r in api.received)
    assert api.received[0].headers["Content-Type"] == "application/json"
    rows = results(book.with_name("input.results.xlsx"))
    assert [(r["Order"], r["status"], r["http_status"]) for r in rows] == [
        ("A-1", "ok", 201),
        ("A-2", "ok", 201),
    ]
    assert "2 rows, 2 ok" in result.output


def test_a_run_leaves_the_garbage_collector_as_it_found_it(api, workbook, cli):
    # The run tunes the collector for itself; a program that embeds it keeps its own.
    book = workbook(["Order"], [["A-1"], ["A-2"]])
    before = gc.get_threshold()

    assert cli("run", str(book), "--url", f"{api.url}/orders").exit_code == 0

    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    assert len(api.received) == 2


def test_dates_times_and_leading_zeros_keep_their_meaning(api, workbook, cli):
    book = workbook(
        ["Id", "Day", "When", "Account"],
        [["007", date(2024, 2, 29), datetime(2024, 3, 1, 13, 45, 5), "000123"]],
    )

    assert cli("run", str(book), "--url", api.url).exit_code == 0

    assert api.received[0].json == {
        "Id": "007",
        "Day": "2024-02-29",
        "When": "2024-03-01T13:45:05",
        "Account": "000123",
    }


def test_body_template_keeps_types_interpolates_text_and_nests(api, workbook, cli, tmp_path):
    book = workbook(["Name", "Amount", "Day"], [["Ada", 40, date(2024, 5, 1)]])
    (tmp_path / "excelfmt.toml").write_text(
        f"""
url = "{api.url}/people"
[body]
amount = "{{Amount}}"
label = "{{Name}} owes {{Amount}}"
row = "{{_row}}"
meta = {{ day = "{{Day}}", tags = ["x", "{{Name}}"], literal = "{{{{not a placeholder}}}}" }}
"""
    )

    result = cli("run", str(book))

    assert result.exit_code == 0, result.output
    assert api.received[0].json == {
        "amount": 40,
        "label": "Ada owes 40",
        "row": 2,
        "meta": {"day": "2024-05-01", "tags": ["x", "Ada"], "literal": "{not a placeholder}"},
    }


def test_url_placeholders_are_url_encoded_and_method_and_headers_apply(api, workbook, cli):
    book = workbook(["Id", "Team"], [["a/b c", "Ops & Finance"]])

    result = cli(
        "run",
        str(book),
        "--url",
        f"{api.url}/items/{{Id}}?team={{Team}}",
        "--method",
        "put",
        "--header",
        "X-Team: {Team}",
        "--header",
        "X-Source: excel",
    )

    assert result.exit_code == 0, result.output
    got = api.received[0]
    assert got.method == "PUT"
    assert got.raw_path == "/items/a%2Fb%20c?team=Ops%20%26%20Finance"
    assert got.headers["X-Team"] == "Ops & Finance"
    assert got.headers["X-Source"] == "excel"


def test_get_sends_no_body(api, workbook, cli):
    book = workbook(["Id"], [[5]])
    assert cli("run", str(book), "--url", f"{api.url}/x/{{Id}}", "--method", "GET").exit_code == 0
    assert api.received[0].method == "GET" and api.received[0].body == b""


def test_a_template_naming_a_missing_column_fails_before_sending(api, workbook, cli):
    book = workbook(["Amount"], [[1]])

    result = cli("run", str(book), "--url", f"{api.url}/{{Amuont}}")

    assert result.exit_code == 2
    assert "no column 'Amuont'" in result.stderr and "Did you mean 'Amount'?" in result.stderr
    assert api.received == []
    assert not book.with_name("input.results.xlsx").exists()


def test_bearer_token_is_sent_but_never_written_anywhere(api, workbook, cli, tmp_path):
    token = "s3cr3t-token-value"
    book = workbook(["Id"], [[1], [2]])

    def respond(got: Received) -> Reply:
        # An API that echoes what it got, headers included, on error: a real leak path.
        return Reply(400, {"message": f"bad request with {got.headers.get('Authorization')}"})

    api.respond = respond
    result = cli(
        "run",
        str(book),
        "--url",
        api.url,
        "--auth-env",
        "API_TOKEN",
        "--json",
        env={"API_TOKEN": token},
    )

    assert api.received[0].headers["Authorization"] == f"Bearer {token}"
    assert result.exit_code == 1
    assert token not in result.output and token not in result.stderr
    out = book.with_name("input.results.xlsx")
    for part in _zip_texts(out):
        assert token not in part
    assert "***" in results(out)[0]["message"]  # type: ignore[operator]


def _zip_texts(path: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]


def test_api_key_header_from_config_and_env(api, workbook, cli, tmp_path):
    book = workbook(["Id"], [[1]])
    (tmp_path / "excelfmt.toml").write_text(
        f'url = "{api.url}"\napi_key_header = "X-API-Key"\napi_key_env = "ORDERS_KEY"\n'
    )

    result = cli("run", str(book), "--dry-run", env={"ORDERS_KEY": "key-12345"})
    assert "X-API-Key: ***" in result.output and "key-12345" not in result.output
    assert api.received == []

    assert cli("run", str(book), env={"ORDERS_KEY": "key-12345"}).exit_code == 0
    assert api.received[0].headers["X-API-Key"] == "key-12345"


def test_missing_secret_variable_is_a_usage_error(api, workbook, cli):
    book = workbook(["Id"], [[1]])
    result = cli("run", str(book), "--url", api.url, "--auth-env", "NOPE_NOT_SET")
    assert result.exit_code == 2
    assert "NOPE_NOT_SET" in result.stderr and "not set" in result.stderr


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        (Reply(400, {"message": "Amount is required"}), "REQUIRES_USER_ACTION"),
        (Reply(404, {"detail": "No such customer"}), "REQUIRES_USER_ACTION"),
        (Reply(409, {"error": "duplicate"}), "REQUIRES_USER_ACTION"),
        (
            Reply(422, {"errors": [{"field": "email", "message": "invalid"}]}),
            "REQUIRES_USER_ACTION",
        ),
        (Reply(429, {"message": "slow down"}), "TEMPORARY_FAILURE"),
        (Reply(500, "Internal Server Error"), "SYSTEM_ERROR"),
        (Reply(502, "<html><title>Bad Gateway</title></html>"), "SYSTEM_ERROR"),
        (Reply(401, {"message": "no token"}), "AUTH_ERROR"),
        (Reply(403, {"message": "forbidden"}), "AUTH_ERROR"),
        (Reply(418, "teapot"), "UNKNOWN_ERROR"),
        (Reply(reset=True), "NETWORK_ERROR"),
    ],
)
def test_every_error_category_is_classified_and_recorded(api, workbook, cli, reply, status):
    book = workbook(["Id"], [[1]])
    api.respond = lambda got: reply

    # No retries here: this is about how the final answer is classified.
    result = cli("run", str(book), "--url", api.url, "--json", "--retries", "0")

    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["categories"] == {status: 1} and summary["failed"] == 1
    row = results(book.with_name("input.results.xlsx"))[0]
    assert row["status"] == status
    assert row["message"]


def test_messages_come_from_the_api_in_its_own_words(api, workbook, cli):
    book = workbook(["Id"], [[1], [2], [3]])
    bodies = {
        1: Reply(422, {"errors": [{"field": "email", "message": "is not an address"}]}),
        2: Reply(404, {"type": "about:blank", "title": "Not Found", "detail": "no customer 2"}),
        3: Reply(400, "plain text complaint"),
    }
    api.respond = lambda got: bodies[got.json["Id"]]

    cli("run", str(book), "--url", api.url)

    messages = [r["message"] for r in results(book.with_name("input.results.xlsx"))]
    assert messages == [
        "email: is not an address",
        "Not Found: no customer 2",
        "plain text complaint",
    ]


def test_compressed_answers_are_read_decompressed(api, workbook, cli):
    book = workbook(["Id"], [[1], [2]])
    complaint = gzip.compress(json.dumps({"detail": "no customer 1"}).encode())
    api.respond = lambda got: (
        Reply(404, complaint, {"Content-Encoding": "gzip", "Content-Type": "application/json"})
        if got.json["Id"] == 1
        else Reply(201, {"id": "c-2"})
    )

    cli("run", str(book), "--url", api.url, "--capture", "id")

    rows = results(book.with_name("input.results.xlsx"))
    assert rows[0]["message"] == "no customer 1"
    assert rows[1]["response.id"] == "c-2"


def test_unreachable_api_is_a_network_error_for_each_row(workbook, cli):
    book = workbook(["Id"], [[1], [2]])
    result = cli(
        "run",
        str(book),
        "--url",
        "http://127.0.0.1:9/",
        "--json",
        "--timeout",
        "5",
        "--retries",
        "1",
        "--retry-wait",
        "0.01",
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["categories"] == {"NETWORK_ERROR": 2}


def test_timeout_is_a_network_error(api, workbook, cli):
    book = workbook(["Id"], [[1]])
    api.respond = lambda got: Reply(200, {"late": True}, delay=2)
    result = cli("run", str(book), "--url", api.url, "--timeout", "0.2", "--json", "--retries", "0")
    assert json.loads(result.stdout)["categories"] == {"NETWORK_ERROR": 1}
    assert "timeout" in str(results(book.with_name("input.results.xlsx"))[0]["message"])


def test_status_rule_makes_409_a_success(api, workbook, cli):
    book = workbook(["Id"], [[1], [2]])
    api.respond = lambda got: Reply(409 if got.json["Id"] == 1 else 201, {"ok": True})
    result = cli("run", str(book), "--url", api.url, "--status-rule", "409=ok")
    assert result.exit_code == 0, result.output


def test_rows_failing_local_validation_are_not_sent(api, workbook, cli):
    book = workbook(["Id", "Name"], [[1, "a"], [None, "no id"], [3, "c"]])

    result = cli("run", str(book), "--url", f"{api.url}/things/{{Id}}", "--json")

    assert result.exit_code == 1
    assert sorted(r.path for r in api.received) == ["/things/1", "/things/3"]
    rows = results(book.with_name("input.results.xlsx"))
    assert rows[1]["status"] == "REQUIRES_USER_ACTION"
    assert "column Id is empty" in str(rows[1]["message"])
    assert rows[1]["http_status"] is None


def test_rows_keep_input_order_under_concurrency(api, workbook, cli):
    book = workbook(["N"], [[n] for n in range(60)])
    # Early rows are the slowest, so answers arrive in roughly reverse order.
    api.respond = lambda got: Reply(201, {"n": got.json["N"]}, delay=(60 - got.json["N"]) / 600)

    result = cli("run", str(book), "--url", api.url, "--concurrency", "20")

    assert result.exit_code == 0
    assert api.max_in_flight > 1
    rows = results(book.with_name("input.results.xlsx"))
    assert [r["N"] for r in rows] == list(range(60))
    assert [json.loads(str(r["response"]))["n"] for r in rows] == list(range(60))


def test_concurrency_caps_requests_in_flight(api, workbook, cli):
    book = workbook(["N"], [[n] for n in range(40)])
    api.respond = lambda got: Reply(201, {}, delay=0.05)
    assert cli("run", str(book), "--url", api.url, "--concurrency", "4").exit_code == 0
    assert api.max_in_flight == 4


def test_rate_caps_requests_per_second(api, workbook, cli):
    book = workbook(["N"], [[n] for n in range(12)])
    assert cli("run", str(book), "--url", api.url, "--rate", "20").exit_code == 0
    times = sorted(r.at for r in api.received)
    # 12 requests at 20/s are spaced 50 ms apart: the span is at least 11 intervals.
    # (A lower bound only: the limiter may never be faster, slower is the machine.)
    assert times[-1] - times[0] >= 11 * 0.05 * 0.95


def test_limit_sends_only_the_first_rows(api, workbook, cli):
    book = workbook(["N"], [[n] for n in range(10)])
    assert cli("run", str(book), "--url", api.url, "--limit", "3").exit_code == 0
    assert sorted(r.json["N"] for r in api.received) == [0, 1, 2]


def test_sheet_and_header_row_choose_what_is_read(api, workbook, cli):
    book = workbook(
        ["Code"], [["x1"]], sheet="Data", before=[["Report title"], []], extra_sheets=["Other"]
    )
    result = cli("run", str(book), "--url", api.url, "--sheet", "data", "--header-row", "3")
    assert result.exit_code == 0, result.output
    assert api.received[0].json == {"Code": "x1"}


def test_dry_run_prints_requests_and_sends_nothing(api, workbook, cli):
    book = workbook(["Id", "Name"], [[n, f"n{n}"] for n in range(8)])

    result = cli(
        "run",
        str(book),
        "--url",
        f"{api.url}/p/{{Id}}",
        "--dry-run",
        "--header",
        "Authorization: Bearer abcdef123",
    )

    assert result.exit_code == 0
    assert api.received == []
    assert result.output.count("POST ") == 5
    assert f"Row 2: POST {api.url}/p/0" in result.output
    assert '"Name": "n0"' in result.output
    assert "Authorization: ***" in result.output and "abcdef123" not in result.output
    assert "nothing was sent" in result.output
    assert not book.with_name("input.results.xlsx").exists()


def test_json_summary_is_one_object_on_stdout(api, workbook, cli):
    book = workbook(["Id"], [[1], [2], [3]])
    api.respond = lambda got: Reply(201 if got.json["Id"] != 2 else 422, {"m": "x"})

    result = cli("run", str(book), "--url", api.url, "--json")

    summary = json.loads(result.stdout)
    assert summary["rows"] == 3 and summary["ok"] == 2 and summary["failed"] == 1
    assert summary["categories"] == {"REQUIRES_USER_ACTION": 1}
    assert summary["exit_code"] == 1 == result.exit_code
    assert summary["output"].endswith("input.results.xlsx")
    assert set(summary["latency_ms"]) == {"p50", "p90", "p99"}


def test_peak_memory_in_the_summary_is_the_runs_own_not_its_parents(api, workbook):
    # Linux carries a parent's peak RSS into the child it execs: a cron wrapper or a
    # benchmark holding 400 MiB must not make a small run report 400 MiB.
    book = workbook(["Id"], [[1], [2], [3]])
    held = b"x" * (400 * 2**20)

    done = run_subprocess("run", str(book), "--url", api.url, "--json")

    peak = json.loads(done.stdout)["peak_rss_mib"]
    assert len(held) and 10 < peak["sending"] < 200 and 10 < peak["workbook"] < 200


def test_quiet_prints_nothing_when_all_is_well_and_a_line_when_not(api, workbook, cli):
    book = workbook(["Id"], [[1]])
    ok = cli("run", str(book), "--url", api.url, "--quiet")
    assert ok.exit_code == 0 and ok.stdout == "" and ok.stderr == ""

    api.respond = lambda got: Reply(422, {"message": "no"})
    bad = cli("run", str(book), "--url", api.url, "--quiet")
    assert bad.exit_code == 1 and bad.stdout == ""
    assert "excelfmt: 1 row, 0 ok, 1 failed (REQUIRES_USER_ACTION=1)" in bad.stderr
    assert "1 row needs a person: excelfmt errors list" in bad.stderr


def test_jsonl_output_for_pipelines(api, workbook, cli, tmp_path):
    book = workbook(["Id"], [[1], [2]])
    api.respond = lambda got: Reply(201, {"id": f"srv-{got.json['Id']}"})
    out = tmp_path / "out.jsonl"

    assert cli("run", str(book), "--url", api.url, "--output", str(out)).exit_code == 0

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == [
        {
            "row": 2,
            "status": "ok",
            "http_status": 201,
            "message": None,
            "response": {"id": "srv-1"},
            "input": {"Id": 1},
        },
        {
            "row": 3,
            "status": "ok",
            "http_status": 201,
            "message": None,
            "response": {"id": "srv-2"},
            "input": {"Id": 2},
        },
    ]


def test_capture_keeps_chosen_response_fields_as_columns(api, workbook, cli):
    book = workbook(["Id"], [[1]])
    api.respond = lambda got: Reply(201, {"data": {"id": 77, "tags": ["a"]}, "noise": "x"})

    cli("run", str(book), "--url", api.url, "--capture", "data.id", "--capture", "data.tags")

    row = results(book.with_name("input.results.xlsx"))[0]
    assert row["response.data.id"] == 77 and row["response.data.tags"] == '["a"]'
    assert "response" not in row


def test_environment_and_flags_override_the_config_file(api, workbook, cli, tmp_path):
    book = workbook(["Id"], [[1]])
    (tmp_path / "excelfmt.toml").write_text('url = "http://127.0.0.1:9/file"\nmethod = "PUT"\n')

    result = cli("run", str(book), "--method", "PATCH", env={"EXCELFMT_URL": f"{api.url}/from-env"})

    assert result.exit_code == 0, result.output
    assert (api.received[0].method, api.received[0].path) == ("PATCH", "/from-env")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.xlsx"], "no such file"),
        (["data.bin"], "is not a workbook (.xlsx, .xlsm, .xlsb, .xls, .ods) or a CSV/TSV"),
        (["notes.txt", "--encoding", "utf-8"], "row 2 is not utf-8 text; give the file's"),
        (["page.xls"], "is a web page (HTML), not a workbook or CSV"),
        (["old.xml"], "is an Excel 2003 XML spreadsheet, which excelfmt does not read"),
        (["notes.txt", "--encoding", "klingon"], "'klingon' is not a text encoding"),
        (["notes.txt", "--delimiter", ";;"], "expected one character such as ; or tab"),
        (["notes.txt", "--sheet", "Data"], "has no sheet 'Data'; its sheets are: 'notes'"),
        (["CORPUS/encrypted_aes.xlsx"], "password-protected"),
        (["CORPUS/encrypted_legacy.xls"], "password-protected"),
        (["CORPUS/corrupt_bad_crc.xlsx"], "damaged or truncated"),
        (["CORPUS/zero_byte_file.xlsx"], "empty (0 bytes)"),
        (["CORPUS/no_worksheets.xlsx"], "no worksheets"),
        (["CORPUS/any_sheets.xlsx", "--sheet", "Nope"], "no sheet 'Nope'"),
        (["CORPUS/merged_range.xlsx"], "header cell D1 is empty"),
        (["CORPUS/richtext-after-plain.xlsx"], "appears twice, in A1 and B1"),
        (["CORPUS/header-row.xlsx"], "row 1 is empty"),
        (["CORPUS/any_sheets.xlsx", "--header-row", "40"], "row 40 is empty"),
        (["CORPUS/any_sheets.xlsx", "--url", "ftp://example.com/x"], "http:// or https://"),
        (["CORPUS/any_sheets.xlsx", "--concurrency", "0"], "between 1 and 1000"),
        (["CORPUS/any_sheets.xlsx", "--output", "out.csv"], "must end in .xlsx or .jsonl"),
        (["CORPUS/any_sheets.xlsx", "--body", "{not json"], "not valid JSON"),
        (["CORPUS/any_sheets.xlsx", "--status-rule", "409=maybe"], "is not one of"),
        (["CORPUS/any_sheets.xlsx", "--header", "no colon"], "expected 'Name: value'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(api, cli, tmp_path, args, message):
    (tmp_path / "notes.txt").write_bytes("id,name\n1,Caf\u00e9\n".encode("cp1252"))
    (tmp_path / "data.bin").write_bytes(bytes(range(256)))
    (tmp_path / "page.xls").write_text("<html><body><table><tr><td>1</td></tr></table>")
    (tmp_path / "old.xml").write_text(
        '<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
    )
    from .conftest import CORPUS

    args = [a.replace("CORPUS", str(CORPUS)) for a in args]
    if "--url" not in args:
        args += ["--url", api.url]

    result = cli("run", *args)

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.startswith("excelfmt: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output + result.stderr
    assert api.received == []


def test_unknown_config_key_suggests_the_right_one(cli, workbook, tmp_path):
    book = workbook(["Id"], [[1]])
    (tmp_path / "excelfmt.toml").write_text('url = "http://x"\nconcurrancy = 4\n')
    result = cli("run", str(book))
    assert result.exit_code == 2
    assert "unknown setting 'concurrancy' (did you mean 'concurrency'?)" in result.stderr


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("any_sheets.xls", [{"1": 3, "2": 4}, {"1": 5, "2": 6}]),
        ("any_sheets.ods", [{"1": 3, "2": 4}, {"1": 5, "2": 6}]),
        ("any_sheets.xlsb", [{"1": 3, "2": 4}, {"1": 5, "2": 6}]),
        (
            "readings_plain_table.xlsx",
            [{"Station": "London", "Celsius": 15, "Humidity": 72, "Pressure": 1013}],
        ),
        ("inventory-table.xlsx", [{"Item": 1, "Type": "Apple", "Quantity": 50}]),
    ],
)
def test_real_workbooks_from_the_corpus_are_sent(api, cli, tmp_path, name, expected):
    from .conftest import CORPUS

    result = cli(
        "run", str(CORPUS / name), "--url", api.url, "--output", str(tmp_path / "out.xlsx")
    )

    assert result.exit_code == 0, result.stderr
    # Rows go out concurrently, so the order they arrive in is not the sheet's.
    sent = [r.json for r in api.received]
    assert all(row in sent for row in expected), sent


def test_results_workbook_formatting(api, workbook, cli):
    book = workbook(["Id", "Note"], [[1, "fine"], [2, '=HYPERLINK("x")'], [3, "ok"]])

    def respond(got: Received) -> Reply:
        if got.json["Id"] == 2:
            return Reply(422, {"message": "=cmd|'/C calc'!A0"})
        return Reply(201, "@SUM(1)")

    api.respond = respond
    cli("run", str(book), "--url", api.url)

    sheet = load_workbook(book.with_name("input.results.xlsx"))["Results"]
    assert [c.value for c in sheet[1]] == [
        "Id",
        "Note",
        "status",
        "http_status",
        "message",
        "response",
    ]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F4"
    assert sheet["A1"].font.bold
    # The failed row is highlighted across, its status in Excel's "bad" red.
    assert sheet["A3"].fill.fgColor.rgb.endswith("FFC7CE")
    assert sheet["C3"].font.color.rgb.endswith("9C0006")
    assert sheet["C2"].fill.fgColor.rgb.endswith("C6EFCE")
    assert sheet["A2"].fill.fill_type is None
    # Text from the API or the sheet is text, never a formula.
    for ref in ("E3", "F2"):
        assert sheet[ref].data_type == "s" and sheet[ref].quotePrefix
    assert sheet["E3"].value == "=cmd|'/C calc'!A0"
    assert all(sheet.column_dimensions[c].width >= 8 for c in "ABCDEF")
    summary = {
        row[0]: row[1]
        for row in load_workbook(book.with_name("input.results.xlsx"))["Summary"].iter_rows(
            values_only=True
        )
    }
    assert summary["rows"] == 3 and summary["ok"] == 2 and summary["REQUIRES_USER_ACTION"] == 1
    assert {"p50", "p90", "p99", "url", "concurrency"} <= set(summary)


def test_response_with_control_characters_still_makes_a_valid_workbook(api, workbook, cli):
    book = workbook(["Id"], [[1]])
    api.respond = lambda got: Reply(201, "bell\x07 and nul\x00 and more")
    assert cli("run", str(book), "--url", api.url).exit_code == 0
    row = results(book.with_name("input.results.xlsx"))[0]
    assert str(row["response"]).startswith("bell")


def test_output_beside_input_never_overwrites_the_input(api, workbook, cli):
    book = workbook(["Id"], [[1]])
    result = cli("run", str(book), "--url", api.url, "--output", str(book))
    assert result.exit_code == 2 and "overwrite the input" in result.stderr


def test_unwritable_output_folder_is_refused_before_sending(api, workbook, cli, tmp_path):
    book = workbook(["Id"], [[1]])
    result = cli("run", str(book), "--url", api.url, "--output", str(tmp_path / "no" / "o.xlsx"))
    assert result.exit_code == 2 and "Cannot write the results file" in result.stderr
    assert api.received == []


def test_help_explains_every_option(cli):
    from excelfmt.settings.options import OPTIONS

    result = cli("run", "--help")
    assert result.exit_code == 0
    for option in OPTIONS:
        assert option.flag in result.output, option.flag
    for flag in ("--config", "--dry-run", "--json", "--quiet"):
        assert flag in result.output


def test_python_dash_m_runs_the_cli_without_a_progress_bar(api, workbook, tmp_path):
    book = workbook(["Id"], [[1], [2]])

    done = run_subprocess("run", str(book), "--url", api.url)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("excelfmt: 2 rows, 2 ok")
    assert "\x1b[" not in done.stdout + done.stderr


def test_version(cli):
    from excelfmt import __version__

    result = cli("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_run_with_api_server_fixture_is_real(api: ApiServer):
    import httpx

    assert httpx.post(f"{api.url}/ping", json={"a": 1}).status_code == 201
    assert api.received[0].json == {"a": 1}


def test_run_help_shows_the_default_of_every_setting_that_has_one(cli):
    from excelfmt.settings.options import OPTIONS

    shown = " ".join(cli("run", "--help", env={"COLUMNS": "400"}).stdout.split())
    defaults = {o.name: o.shown_default for o in OPTIONS if o.shown_default is not None}
    assert len(defaults) > 20
    for name, default in defaults.items():
        assert f"[default: {default}]" in shown, name
    assert "[default: 30s]" in shown and "[default: GET, HEAD]" in shown


def test_http_basic_from_a_variable_is_sent_and_never_written_anywhere(api, workbook, cli):
    import base64

    pair = "orders-bot:pa55-w0rd-xyz"
    encoded = base64.b64encode(pair.encode()).decode()
    book = workbook(["Id"], [[1], [2]])
    # An API that echoes the credentials it got, encoded and decoded, on error.
    api.respond = lambda got: Reply(
        400, {"message": f"bad {got.headers['Authorization']} from {pair}"}
    )
    env = {"ORDERS_LOGIN": pair}
    result = cli("run", str(book), "--url", api.url, "--basic-auth-env", "ORDERS_LOGIN", env=env)

    assert api.received[0].headers["Authorization"] == f"Basic {encoded}"
    assert result.exit_code == 1, result.output
    shown = result.output + "".join(_zip_texts(book.with_name("input.results.xlsx")))
    shown += cli("errors", "list", "--json").stdout + cli("sessions", "list", "--json").stdout
    for secret in (pair, encoded, "pa55-w0rd-xyz"):
        assert secret not in shown
    assert "bad *** from ***" in cli("errors", "list").stdout

    both = cli(
        "run", str(book), "--url", api.url, "--basic-auth-env", "ORDERS_LOGIN",
        "--auth-env", "ORDERS_LOGIN", env=env,
    )  # fmt: skip
    assert both.exit_code == 2 and "give one of them" in both.stderr
    no_colon = cli(
        "run", str(book), "--url", api.url, "--basic-auth-env", "T", env={"T": "just-a-token"}
    )
    assert no_colon.exit_code == 2 and "must hold user:password" in no_colon.stderr
    assert "just-a-token" not in no_colon.output


def test_a_dot_segment_in_a_cell_never_moves_the_request_to_another_path(api, workbook, cli):
    # Issue 34: PUT /orders/{Id} with ".." was sent as PUT / with the run's credential.
    book = workbook(["Id", "Amount"], [["A-1", 5], ["..", 6], [".", 7], ["../x", 8]])

    result = cli("run", str(book), "--url", f"{api.url}/orders/{{Id}}", "--method", "PUT")

    assert result.exit_code == 1, result.output
    assert sorted(r.raw_path for r in api.received) == ["/orders/..%2Fx", "/orders/A-1"]
    rows = results(book.with_name("input.results.xlsx"))
    assert [row["status"] for row in rows] == [
        "ok",
        "REQUIRES_USER_ACTION",
        "REQUIRES_USER_ACTION",
        "ok",
    ]
    assert "column Id is '..', which in the URL's path" in str(rows[1]["message"])

    # Sending a refused row again with a dot segment is refused the same way, unsent.
    errors = json.loads(cli("errors", "list", "--json").stdout)
    api.received.clear()
    again = cli("reprocess", errors[0]["short_id"], "--set", "Id=..")
    assert api.received == [] and again.exit_code == 1
    fixed = cli("reprocess", errors[0]["short_id"], "--set", "Id=A-2")
    assert fixed.exit_code == 0, fixed.output
    assert [r.raw_path for r in api.received] == ["/orders/A-2"]
