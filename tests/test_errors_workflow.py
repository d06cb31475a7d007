"""Rows that need a person, from the command line: find them, fix them, send them again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell

from .apiserver import Received, Reply

TOKEN = "s3cr3t-token-for-the-store-test"


def validating_api(got: Received) -> Reply:
    """An API that refuses negative amounts and unknown currencies, field by field."""
    order = got.json
    problems = []
    if not isinstance(order.get("Amount"), int | float) or order["Amount"] < 0:
        problems.append({"field": "Amount", "message": "must be a positive number"})
    if order.get("Currency") not in ("EUR", "USD"):
        problems.append({"field": "currency", "message": "unknown currency"})
    if problems:
        return Reply(422, {"message": "Validation failed", "errors": problems})
    return Reply(201, {"id": f"order-{order['Order']}"})


def run_orders(api: Any, workbook: Any, cli: Any, *extra: str) -> tuple[Path, str]:
    book = workbook(
        ["Order", "Amount", "Currency"],
        [
            ["A-1", 10, "EUR"],
            ["A-2", -5, "EUR"],
            ["A-3", 7, "XXX"],
            ["A-4", 3, "USD"],
            ["A-5", -1, "GBP"],
        ],
    )
    api.respond = validating_api
    result = cli("run", str(book), "--url", api.url, "--json", *extra)
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["failed"] == 3
    return book, summary["session"]


def listed(cli: Any, *args: str) -> list[dict[str, Any]]:
    result = cli("errors", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def results_rows(path: Path) -> list[tuple[Any, ...]]:
    """The Results sheet's rows; the file closed again (read-only workbooks keep it open)."""
    book = load_workbook(path, read_only=True)
    try:
        return list(book["Results"].iter_rows(values_only=True))
    finally:
        book.close()


def test_failed_rows_are_kept_with_their_cells_request_and_field_errors(api, workbook, cli):
    _, session = run_orders(api, workbook, cli)
    errors = listed(cli, "--session", session)
    assert [e["row"] for e in errors] == [3, 4, 6]
    assert {e["category"] for e in errors} == {"REQUIRES_USER_ACTION"}
    second = errors[0]
    assert second["values"] == {"Order": "A-2", "Amount": -5, "Currency": "EUR"}
    assert second["http_status"] == 422 and second["state"] == "open"
    assert second["fields"] == [["Amount", "must be a positive number"]]
    assert second["request"]["method"] == "POST"
    assert second["request"]["body"] == {"Order": "A-2", "Amount": -5, "Currency": "EUR"}

    shown = cli("errors", "show", second["short_id"], "--json")
    assert json.loads(shown.stdout)["id"] == second["id"]
    table = cli("errors", "show", second["short_id"])
    assert "must be a positive number" in table.stdout and "A-2" in table.stdout

    summary = json.loads(cli("errors", "summary", "--json").stdout)
    assert summary["open"] == 3
    assert summary["categories"] == {"REQUIRES_USER_ACTION": {"open": 3}}


def test_the_whole_fix_loop_export_edit_reprocess_leaves_nothing_open(api, workbook, cli, tmp_path):
    book, session = run_orders(api, workbook, cli)
    first_keys = {r.json["Order"]: r.headers["Idempotency-Key"] for r in api.received}
    fix = tmp_path / "fix.xlsx"
    exported = cli("errors", "export", "--session", session, "-o", str(fix))
    assert exported.exit_code == 0, exported.output

    # A person corrects the refused cells in Excel (here: openpyxl) and saves.
    wb = load_workbook(fix)
    sheet = wb["Errors"]
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["error id", "Order", "Amount", "Currency"]
    assert "must be a positive number" in str(sheet.cell(2, header.index("field errors") + 1).value)
    assert sheet.cell(2, 3).fill.fgColor.rgb.endswith("FFC7CE")  # the refused cell stands out
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=False))
        amount = cells["Amount"].value
        assert isinstance(amount, int)
        cells["Amount"].value = abs(amount)
        if cells["Currency"].value not in ("EUR", "USD"):
            cells["Currency"].value = "EUR"
    wb.save(fix)

    api.received.clear()
    again = cli("reprocess", "--session", session, "--from", str(fix), "--json")
    assert again.exit_code == 0, again.output
    result = json.loads(again.stdout)
    assert (result["sent"], result["reprocessed"], result["failed"]) == (3, 3, 0)
    sent = {r.json["Order"]: r for r in api.received}
    assert sent["A-2"].json == {"Order": "A-2", "Amount": 5, "Currency": "EUR"}
    assert sent["A-5"].json == {"Order": "A-5", "Amount": 1, "Currency": "EUR"}
    # Corrected content is a new request: the API must not fold it into the refused one.
    assert sent["A-2"].headers["Idempotency-Key"] != first_keys["A-2"]

    summary = json.loads(cli("errors", "summary", "--session", session, "--json").stdout)
    assert summary["open"] == 0 and summary["reprocessed"] == 3
    assert listed(cli, "--session", session) == []

    # The results workbook now shows every row ok, with the values that were sent.
    rows = results_rows(book.with_name("input.results.xlsx"))
    assert [r[3] for r in rows[1:]] == ["ok"] * 5
    assert rows[2][:3] == ("A-2", 5, "EUR")
    shown = json.loads(cli("sessions", "show", session, "--json").stdout)
    assert (shown["summary"]["ok"], shown["summary"]["failed"]) == (5, 0)


def test_reprocess_one_row_with_set_and_a_failure_updates_the_error(api, workbook, cli):
    _, session = run_orders(api, workbook, cli)
    error = listed(cli, "--session", session)[0]  # A-2, Amount -5

    still = cli("reprocess", error["short_id"], "--set", "Amount=-2", "--json")
    assert still.exit_code == 1
    updated = json.loads(cli("errors", "show", error["short_id"], "--json").stdout)
    assert updated["state"] == "open" and updated["values"]["Amount"] == -2
    assert updated["updated_at"]

    fixed = cli("reprocess", error["short_id"], "--set", "Amount=12.5")
    assert fixed.exit_code == 0, fixed.output
    assert "1 reprocessed, 0 still failing" in fixed.stdout
    assert api.received[-1].json["Amount"] == 12.5
    again = cli("reprocess", error["short_id"])
    assert again.exit_code == 2 and "already reprocessed" in again.output

    unknown = cli("reprocess", error["short_id"], "--set", "Amout=1")
    assert unknown.exit_code == 2


def test_set_rejects_a_column_the_sheet_does_not_have(api, workbook, cli):
    _, session = run_orders(api, workbook, cli)
    error = listed(cli, "--session", session)[1]
    sent = len(api.received)
    result = cli("reprocess", error["short_id"], "--set", "Amout=1")
    assert result.exit_code == 2
    assert "no column 'Amout'" in result.output and "Order, Amount, Currency" in result.output
    assert len(api.received) == sent


def test_resolve_closes_an_error_without_sending(api, workbook, cli):
    _, session = run_orders(api, workbook, cli)
    error = listed(cli, "--session", session)[0]
    sent = len(api.received)
    done = cli("resolve", error["short_id"], "--note", "fixed in the CRM by hand")
    assert done.exit_code == 0, done.output
    assert len(api.received) == sent
    assert [e["row"] for e in listed(cli, "--session", session)] == [4, 6]
    resolved = listed(cli, "--state", "resolved")
    assert resolved[0]["note"] == "fixed in the CRM by hand"
    assert cli("resolve", error["short_id"]).exit_code == 2  # already resolved


def test_clear_asks_unless_yes_and_deletes_a_sessions_errors(api, workbook, cli):
    _, session = run_orders(api, workbook, cli)
    refused = cli("errors", "clear", "--session", session)
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert len(listed(cli, "--session", session)) == 3
    cleared = cli("errors", "clear", "--session", session, "--yes")
    assert cleared.exit_code == 0 and "Deleted 3 errors" in cleared.stdout
    assert listed(cli, "--session", session, "--state", "all") == []


def test_export_renders_the_results_again_from_the_journal(api, workbook, cli, tmp_path):
    book, session = run_orders(api, workbook, cli)
    book.with_name("input.results.xlsx").unlink()
    again = tmp_path / "again.xlsx"
    result = cli("export", session, "-o", str(again))
    assert result.exit_code == 0, result.output
    assert "5 rows, 2 ok, 3 failed" in result.stdout
    rows = results_rows(again)
    refused = "REQUIRES_USER_ACTION"
    assert [r[3] for r in rows[1:]] == ["ok", refused, refused, "ok", refused]
    jsonl = tmp_path / "again.jsonl"
    assert cli("export", session, "-o", str(jsonl)).exit_code == 0
    assert len(jsonl.read_text().splitlines()) == 5


def test_secrets_never_reach_the_store_and_reprocess_reads_them_again(
    api, workbook, cli, tmp_path, monkeypatch
):
    monkeypatch.setenv("ORDERS_TOKEN", TOKEN)
    _, session = run_orders(api, workbook, cli, "--auth-env", "ORDERS_TOKEN")
    error = listed(cli, "--session", session)[0]
    assert ["Authorization", "***"] in error["request"]["headers"]
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path

    fixed = cli("reprocess", error["short_id"], "--set", "Amount=1")
    assert fixed.exit_code == 0, fixed.output
    assert api.received[-1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_secret_header_given_by_hand_must_be_given_again(api, workbook, cli):
    _, session = run_orders(api, workbook, cli, "--header", f"Authorization: Bearer {TOKEN}")
    error = listed(cli, "--session", session)[0]
    refused = cli("reprocess", error["short_id"], "--set", "Amount=1")
    assert refused.exit_code == 2 and "--header 'Authorization: ...'" in refused.output
    given = cli(
        "reprocess",
        error["short_id"],
        "--set",
        "Amount=1",
        "--header",
        f"Authorization: Bearer {TOKEN}",
    )
    assert given.exit_code == 0, given.output
    assert api.received[-1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_bad_error_commands_get_one_sentence(api, workbook, cli, tmp_path):
    assert "No error 'ffff'" in cli("errors", "show", "ffff").output
    assert cli("errors", "list", "--category", "nope").exit_code == 2
    assert cli("errors", "list", "--state", "nope").exit_code == 2
    assert cli("reprocess").exit_code == 2
    _, session = run_orders(api, workbook, cli)
    other = tmp_path / "other.xlsx"
    book = workbook(["x"], [[1]], name="other.xlsx")
    assert book == other
    wrong = cli("reprocess", "--session", session, "--from", str(other))
    assert wrong.exit_code == 2 and "error id" in wrong.output
    for result in (wrong,):
        assert "Traceback" not in result.output


def test_reprocess_from_another_folder_updates_the_runs_own_results_file(
    api, workbook, cli, tmp_path, monkeypatch
):
    _, session = run_orders(api, workbook, cli, "--output", "out.xlsx")  # relative to the run
    error = listed(cli, "--session", session)[0]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    fixed = cli("reprocess", error["short_id"], "--set", "Amount=5", "--json")
    assert json.loads(fixed.stdout)["output"] == str(tmp_path / "out.xlsx")
    rows = results_rows(tmp_path / "out.xlsx")
    assert rows[2][3] == "ok" and not list(elsewhere.iterdir())


def test_rows_deleted_from_the_fix_workbook_stay_open_and_unsent(api, workbook, cli, tmp_path):
    _, session = run_orders(api, workbook, cli)
    fix = tmp_path / "fix.xlsx"
    cli("errors", "export", "--session", session, "-o", str(fix))
    wb = load_workbook(fix)
    sheet = wb["Errors"]
    sheet.delete_rows(4)  # not ready to send yet
    sheet.cell(2, 3).value = 5  # A-2's Amount
    sheet.cell(3, 4).value = "USD"  # A-3's Currency
    wb.save(fix)

    api.received.clear()
    result = cli("reprocess", "--session", session, "--from", str(fix), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reprocessed"] == 2
    assert "1 open errors are not in" in result.stderr
    assert sorted(r.json["Order"] for r in api.received) == ["A-2", "A-3"]
    assert [e["values"]["Order"] for e in listed(cli, "--session", session)] == ["A-5"]


def test_a_reprocess_that_meets_an_outage_leaves_the_error_as_it_was(api, workbook, cli):
    _, session = run_orders(api, workbook, cli, "--retries", "0")
    error = listed(cli, "--session", session)[0]
    api.respond = lambda got: Reply(503, {"detail": "maintenance"})

    result = cli("reprocess", error["short_id"], "--set", "Amount=5", "--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0]["result"] == "SYSTEM_ERROR"
    kept = json.loads(cli("errors", "show", error["short_id"], "--json").stdout)
    assert kept["state"] == "open" and kept["category"] == "REQUIRES_USER_ACTION"
    assert kept["fields"] == [["Amount", "must be a positive number"]]
    # The journal still holds the row's error: a resume does not send it behind the
    # person's back, and the results still show it as needing a person.
    api.respond = validating_api
    api.received.clear()
    resumed = cli("run", "--resume", session, "--url", api.url, "--json")
    assert api.received == [] and json.loads(resumed.stdout)["failed"] == 3


def test_a_long_error_list_is_shown_a_page_at_a_time(api, workbook, cli):
    book = workbook(["N"], [[n] for n in range(120)])
    api.respond = lambda got: Reply(422, {"message": f"number {got.json['N']} refused"})
    run = cli("run", str(book), "--url", api.url, "--json")
    session = json.loads(run.stdout)["session"]
    other = cli("run", str(workbook(["N"], [[1]], name="other.xlsx")), "--url", api.url)
    assert other.exit_code == 1  # a second session's error, listed only without --session

    page = cli("errors", "list", "--session", session)
    assert page.exit_code == 0, page.output
    assert page.stdout.count(" refused") == 50 and "number 0 refused" in page.stdout
    assert "70 more not shown; --limit N or --all shows more" in page.stderr
    assert cli("errors", "list", "--session", session, "--limit", "7").stdout.count(" refused") == 7
    everything = cli("errors", "list", "--session", session, "--all")
    assert everything.stdout.count(" refused") == 120 and "more not shown" not in everything.stderr
    assert cli("errors", "list").stdout.count(" refused") == 50  # both sessions, newest first
    assert "71 more not shown" in cli("errors", "list").stderr

    as_json = listed(cli, "--session", session)  # --json: every one, in sheet order
    assert [e["row"] for e in as_json] == list(range(2, 122))
    everyone = listed(cli)
    assert len(everyone) == 121 and len({e["session"] for e in everyone}) == 2
    assert len(listed(cli, "--limit", "3")) == 3


def test_errors_kept_by_an_earlier_version_are_still_there(api, workbook, cli, tmp_path):
    """Errors used to be kept on diskcache; the store takes them over when it opens."""
    import diskcache

    from excelfmt.store.folder import Store

    _, session = run_orders(api, workbook, cli)
    errors = listed(cli, "--session", session)
    folder = tmp_path / "home"
    with Store(folder) as store:
        kept = [store.error(e["id"]) for e in errors]
        store.delete_errors(e.id for e in kept)
    old = diskcache.Cache(str(folder / "errors"), disk_min_file_size=1 << 30)
    for error in kept:
        old.set(error.id, {**error.__dict__, "fields": [list(f) for f in error.fields]})
    old.close()

    assert listed(cli, "--session", session) == errors
    assert not (folder / "errors" / "cache.db").exists()
    assert cli("errors", "show", errors[1]["short_id"]).exit_code == 0


def test_piped_lists_keep_each_error_on_one_line_for_grep(api, workbook, cli):
    _, session = run_orders(api, workbook, cli)

    shown = cli("errors", "list", "--session", session, env={"COLUMNS": None})

    # 'Validation failed (Amount: must be a positive number; currency: unknown currency)'
    # is longer than 80 columns with the other cells: off a terminal it is not folded.
    lines = [line for line in shown.stdout.splitlines() if "currency: unknown currency)" in line]
    assert len(lines) == 2 and all(" 422 " in line for line in lines), shown.stdout
    assert max(len(line.rstrip()) for line in shown.stdout.splitlines()) > 80


def test_dates_in_the_fix_workbook_are_dates_and_come_back_as_sent(api, workbook, cli, tmp_path):
    from datetime import date, datetime

    book = workbook(
        ["Order", "Due", "Seen", "Note"],
        [
            ["A-1", date(2024, 11, 14), datetime(2024, 11, 14, 10, 30), "2024-02-30"],
            ["A-2", date(2024, 12, 1), datetime(2024, 12, 1, 8, 0), "ok"],
        ],
    )
    api.respond = lambda got: Reply(422 if got.json["Order"] == "A-1" else 201, {"m": "no"})
    first = cli("run", str(book), "--url", api.url, "--json")
    session = json.loads(first.stdout)["session"]
    sent_first = next(r for r in api.received if r.json["Order"] == "A-1")
    assert (
        sent_first.json["Due"] == "2024-11-14" and sent_first.json["Seen"] == "2024-11-14T10:30:00"
    )

    fix = tmp_path / "fix.xlsx"
    assert cli("errors", "export", "--session", session, "-o", str(fix)).exit_code == 0
    sheet = load_workbook(fix)["Errors"]
    due, seen, note = (sheet[f"{column}2"] for column in "CDE")  # after error id, Order
    assert isinstance(due, Cell) and isinstance(seen, Cell) and isinstance(note, Cell)
    assert due.is_date and due.number_format == "yyyy-mm-dd"
    assert seen.is_date and seen.number_format == "yyyy-mm-dd hh:mm:ss"
    assert note.value == "2024-02-30" and not note.is_date  # looks like one, is not

    # Sent again untouched: the same request, so the same Idempotency-Key.
    api.received.clear()
    api.respond = lambda got: Reply(201, {})
    again = cli("reprocess", "--session", session, "--from", str(fix), "--json")
    assert again.exit_code == 0, again.output
    [resent] = api.received
    assert resent.json == sent_first.json
    assert resent.headers["Idempotency-Key"] == sent_first.headers["Idempotency-Key"]
