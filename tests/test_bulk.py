"""Many rows a request (--batch, --bulk): every row its own outcome, from the command line
against local bulk APIs of each style (tests/bulkapis.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from .bulkapis import BulkApi
from .test_cli_run import results
from .test_errors_workflow import listed


def orders(count: int, bad: set[int] | frozenset[int] = frozenset()) -> list[list[Any]]:
    """Order O-1.. O-count; the orders numbered in `bad` have an e-mail without @."""
    return [
        [f"O-{n}", n * 1.5, f"buyer{n}.example.com" if n in bad else f"buyer{n}@example.com"]
        for n in range(1, count + 1)
    ]


HEADER = ["Order", "Amount", "Email"]


def run_bulk(cli: Any, book: Path, url: str, *flags: str) -> tuple[Any, dict[str, Any]]:
    result = cli("run", str(book), "--url", url, "--json", *flags)
    summary = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    return result, summary


def by_order(book: Path) -> dict[str, dict[str, object]]:
    return {str(r["Order"]): r for r in results(book.with_name("input.results.xlsx"))}


def test_salesforce_rows_each_get_their_record_outcome_in_requests_of_200(
    api, workbook, cli
) -> None:
    server = BulkApi("salesforce")
    api.respond = server
    book = workbook(HEADER, orders(450, bad={7, 201, 450}))

    result, summary = run_bulk(
        cli, book, f"{api.url}/composite/sobjects", "--bulk", "salesforce", "--capture", "id"
    )

    assert result.exit_code == 1, result.output
    # Batches of up to 200 (one may close early while the sheet is still being read).
    assert sum(server.batch_sizes) == 450 and max(server.batch_sizes) == 200
    assert server.requests <= 4
    assert (summary["rows"], summary["ok"], summary["failed"]) == (450, 447, 3)
    rows = by_order(book)
    assert rows["O-8"]["status"] == "ok" and rows["O-8"]["http_status"] == 200
    assert rows["O-8"]["response.id"] == "001O-8"
    refused = rows["O-201"]
    assert refused["status"] == "REQUIRES_USER_ACTION"
    assert refused["message"] == "Email: invalid email address: buyer201.example.com"
    # The refusal is in the fix loop with the API's words and the field it names.
    [error] = [e for e in listed(cli) if e["row"] == 202]
    assert error["fields"] == [["Email", "Email: invalid email address: buyer201.example.com"]]
    assert error["request"]["body"] == {
        "Order": "O-201",
        "Amount": 301.5,
        "Email": "buyer201.example.com",
    }
    assert summary["requests"] == server.requests


def test_elasticsearch_items_answered_429_are_sent_again_alone_and_the_rest_never(
    api, workbook, cli
) -> None:
    server = BulkApi("elasticsearch", throttle_once={"O-3", "O-9"})
    api.respond = server
    book = workbook(HEADER, orders(20, bad={5}))

    result, summary = run_bulk(
        cli,
        book,
        f"{api.url}/_bulk",
        "--bulk",
        "elasticsearch",
        "--batch",
        "10",
        "--bulk-action",
        '{"index": {"_index": "orders", "_id": "{Order}"}}',
        "--retry-wait",
        "0.01",
    )

    assert result.exit_code == 1, result.output
    assert server.seen["O-3"] == server.seen["O-9"] == 2  # throttled, then sent alone
    assert all(times == 1 for order, times in server.seen.items() if order not in ("O-3", "O-9"))
    assert (summary["ok"], summary["failed"]) == (19, 1)
    rows = by_order(book)
    assert rows["O-3"]["status"] == "ok"
    assert json.loads(str(rows["O-3"]["response"]))["index"]["_id"] == "O-3"
    assert rows["O-5"]["status"] == "REQUIRES_USER_ACTION"
    assert rows["O-5"]["message"] == "failed to parse field [Email]: buyer5.example.com"


@pytest.mark.parametrize("bad", [{13}, {2, 31, 60}, {1, 2, 3, 4}])
def test_a_batch_refused_as_a_whole_is_narrowed_down_to_its_bad_rows(
    api, workbook, cli, bad: set[int]
) -> None:
    server = BulkApi("array")
    api.respond = server
    book = workbook(HEADER, orders(64, bad=bad))

    result, summary = run_bulk(cli, book, f"{api.url}/orders", "--batch", "64")

    assert result.exit_code == 1, result.output
    rows = by_order(book)
    refused = {order for order, row in rows.items() if row["status"] != "ok"}
    assert refused == {f"O-{n}" for n in bad}
    assert all(rows[f"O-{n}"]["message"] == "The batch has invalid records" for n in bad)
    assert all(rows[f"O-{n}"]["http_status"] == 422 for n in bad)
    # Every good row went through in a batch, and only once.
    assert all(server.seen[order] >= 1 for order in rows)
    bisections = summary["bisect_requests"]
    assert bisections == server.requests - 1
    assert bisections <= 2 * len(bad) * math.ceil(math.log2(64))
    assert summary["failed"] == len(bad)


def test_the_bisect_budget_caps_the_narrowing_and_says_so(api, workbook, cli) -> None:
    server = BulkApi("array")
    api.respond = server
    book = workbook(HEADER, orders(64, bad={10, 50}))

    result, summary = run_bulk(
        cli, book, f"{api.url}/orders", "--batch", "64", "--bisect-budget", "4"
    )

    assert result.exit_code == 1, result.output
    assert server.requests == 5 and summary["bisect_requests"] == 4
    rows = by_order(book)
    unnarrowed = [row for row in rows.values() if "--bisect-budget" in str(row["message"])]
    assert unnarrowed and all(row["status"] == "REQUIRES_USER_ACTION" for row in unnarrowed)
    assert rows["O-10"]["status"] == rows["O-50"]["status"] == "REQUIRES_USER_ACTION"


def test_hubspot_multi_status_names_the_failed_inputs_by_trace_id(api, workbook, cli) -> None:
    server = BulkApi("hubspot")
    api.respond = server
    book = workbook(HEADER, orders(30, bad={4, 22}))

    result, summary = run_bulk(
        cli, book, f"{api.url}/crm/v3/objects/contacts/batch/create", "--bulk", "hubspot"
    )

    assert result.exit_code == 1, result.output
    assert server.requests == 1
    rows = by_order(book)
    assert rows["O-4"]["status"] == "REQUIRES_USER_ACTION"
    assert rows["O-4"]["message"] == "Property values were not valid: email buyer4.example.com"
    assert rows["O-4"]["http_status"] == 207
    assert json.loads(str(rows["O-5"]["response"]))["id"] == "hs-O-5"
    assert (summary["ok"], summary["failed"]) == (28, 2)


def test_an_answer_with_the_wrong_number_of_items_refuses_nothing_silently(
    api, workbook, cli
) -> None:
    from .apiserver import Reply

    api.respond = lambda received: Reply(200, [{"id": 1}] * (len(received.json) - 1))
    book = workbook(HEADER, orders(5))

    result, _ = run_bulk(cli, book, f"{api.url}/orders", "--batch", "5")

    assert result.exit_code == 1
    rows = by_order(book)
    assert {row["status"] for row in rows.values()} == {"UNKNOWN_ERROR"}
    assert rows["O-1"]["message"] == (
        "The API's answer had 4 items for the 5 rows of the batch, so no row's outcome is known."
    )


def test_an_answer_that_is_not_json_for_a_json_style_is_unknown_for_its_rows(
    api, workbook, cli
) -> None:
    from .apiserver import Reply

    api.respond = lambda received: Reply(200, "<html>ok</html>")
    book = workbook(HEADER, orders(3))

    result, _ = run_bulk(cli, book, f"{api.url}/orders", "--bulk", "salesforce", "--batch", "3")

    assert result.exit_code == 1
    assert {row["status"] for row in by_order(book).values()} == {"UNKNOWN_ERROR"}


def test_a_batch_beyond_the_styles_maximum_is_refused_before_anything_is_sent(
    api, workbook, cli
) -> None:
    book = workbook(HEADER, orders(3))

    result = cli("run", str(book), "--url", api.url, "--bulk", "hubspot", "--batch", "101")

    assert result.exit_code == 2
    assert "batch 101 is more than the hubspot style takes in one request (100)" in result.output
    assert api.received == []


def test_a_dry_run_and_a_check_show_the_first_request_whole(api, workbook, cli) -> None:
    book = workbook(HEADER, [*orders(3), ["O-4", "#N/A", "x@y"], *orders(2)])
    action = '{"index": {"_index": "orders", "_id": "{Order}"}}'
    flags = ("--url", f"{api.url}/_bulk", "--bulk", "elasticsearch", "--batch", "4")

    dry = cli("run", str(book), *flags, "--bulk-action", action, "--dry-run", "--json")

    assert dry.exit_code == 0, dry.output
    *refused, request = json.loads(dry.stdout)["requests"]
    # The row with an Excel error never enters a batch: the batch takes the next one.
    assert [r["row"] for r in refused] == [5] and "#N/A" in refused[0]["problem"]
    assert request["rows"] == [2, 3, 4, 6]
    assert request["headers"]["Content-Type"] == "application/x-ndjson"
    assert request["body"][:2] == [
        {"index": {"_index": "orders", "_id": "O-1"}},
        {"Order": "O-1", "Amount": 1.5, "Email": "buyer1@example.com"},
    ]
    assert len(request["body"]) == 8
    shown = cli("run", str(book), *flags, "--bulk-action", action, "--dry-run").stdout
    assert "Rows 2-6 (4 in one request): POST" in shown
    assert '{"index": {"_index": "orders", "_id": "O-1"}}' in shown
    checked = json.loads(cli("check", str(book), *flags, "--json").stdout)
    assert checked["first_request_rows"] == [2, 3, 4, 6]
    assert checked["first_request"]["body"][1]["Order"] == "O-1"
    # One reading gives both (serve's preview runs check alone): the dry run's requests.
    both = cli("check", str(book), *flags, "--bulk-action", action, "--json").stdout
    assert json.loads(both)["requests"] == json.loads(dry.stdout)["requests"]
    unbatched = ("--url", f"{api.url}/orders")
    dry = cli("run", str(book), *unbatched, "--dry-run", "--json")
    both = cli("check", str(book), *unbatched, "--json").stdout
    assert len(json.loads(both)["requests"]) == 5
    assert json.loads(both)["requests"] == json.loads(dry.stdout)["requests"]
    assert api.received == []


def test_a_style_of_ones_own_from_excelfmt_toml(api, workbook, cli, tmp_path) -> None:
    from .apiserver import Reply

    def answer(received: Any) -> Reply:
        records = received.json["data"]["records"]
        return Reply(
            200,
            {"outcome": [{"ok": bad(r) is False, "why": "no @ in Email"} for r in records]},
        )

    from .bulkapis import bad

    api.respond = answer
    (tmp_path / "excelfmt.toml").write_text(
        f"""
url = "{api.url}/import"
[bulk.mine]
envelope = {{ data = {{ records = "{{_items}}" }} }}
results = "outcome"
success = "ok"
message = "why"
max_batch = 25
"""
    )
    book = workbook(HEADER, orders(30, bad={29}))

    result = cli("run", str(book), "--bulk", "mine", "--json")

    assert result.exit_code == 1, result.output
    assert len(api.received) == 2 and len(api.received[0].json["data"]["records"]) == 25
    rows = by_order(book)
    assert rows["O-29"]["message"] == "no @ in Email" and rows["O-30"]["status"] == "ok"
    # The session keeps the style itself: a reprocess elsewhere sends as this run did.
    session = json.loads(result.stdout)["session"]
    shown = json.loads(cli("sessions", "show", session, "--json").stdout)
    assert shown["settings"]["bulk"]["envelope"] == {"data": {"records": "{_items}"}}
    too_many = cli("run", str(book), "--bulk", "mine", "--batch", "26")
    assert too_many.exit_code == 2 and "(25)" in too_many.output
    unknown = cli("run", str(book), "--bulk", "theirs")
    assert unknown.exit_code == 2
    assert "no style named 'theirs'" in unknown.output and "defines: mine" in unknown.output


def test_bad_bulk_settings_get_one_sentence(api, workbook, cli, tmp_path) -> None:
    book = workbook(HEADER, orders(2))
    said = {
        ("--batch", "5", "--cache-ttl", "60"): "cannot be used with batch",
        ("--bulk", "array", "--bulk-action", "{}"): "the array style has none",
        ("--batch", "5", "--method", "GET"): "--method GET carries none",
        ("--bulk", "x y"): "is not a style name",
        ("--batch-bytes", "lots"): "expected a size like 5MB",
    }
    for flags, sentence in said.items():
        result = cli("run", str(book), "--url", api.url, *flags)
        assert result.exit_code == 2 and sentence in result.output, (flags, result.output)
    (tmp_path / "bad.toml").write_text('url = "http://x"\n[bulk.odd]\nformat = "xml"\n')
    result = cli("run", str(book), "--config", str(tmp_path / "bad.toml"), "--bulk", "odd")
    assert result.exit_code == 2
    assert "[bulk.odd] format must be json or ndjson, not 'xml'" in result.output
    assert api.received == []


def test_fixed_rows_are_sent_again_in_batches_of_the_same_style(
    api, workbook, cli, tmp_path
) -> None:
    from openpyxl import load_workbook

    server = BulkApi("array")
    api.respond = server
    book = workbook(HEADER, orders(40, bad={3, 17, 33}))
    _, summary = run_bulk(cli, book, f"{api.url}/orders", "--batch", "40")
    assert summary["failed"] == 3
    fix = tmp_path / "fix.xlsx"
    assert cli("errors", "export", "--session", summary["session"], "-o", str(fix)).exit_code == 0
    wb = load_workbook(fix)
    sheet = wb["Errors"]
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cell = row[header.index("Email")]
        cell.value = str(cell.value).replace(".example", "@example")
    wb.save(fix)
    server.requests, server.batch_sizes = 0, []

    again = cli("reprocess", "--session", summary["session"], "--from", str(fix), "--json")

    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["reprocessed"] == 3
    assert server.batch_sizes == [3]  # one request for the three corrected rows
    assert {row["status"] for row in by_order(book).values()} == {"ok"}


def test_killed_with_kill_9_a_batched_run_resumes_with_nothing_lost(api, workbook, cli) -> None:
    import signal
    import time

    from .apiserver import Reply
    from .test_resume import start, wait_for

    def slow_array(received: Any) -> Reply:
        return Reply(201, [{"id": r["Order"]} for r in received.json], delay=0.1)

    api.respond = slow_array
    rows, batch, concurrency = 3000, 50, 4
    book = workbook(HEADER, orders(rows))
    command = ["run", str(book), "--url", f"{api.url}/orders", "--json"]
    command += ["--batch", str(batch), "--concurrency", str(concurrency)]

    kills, session = 0, ""
    for wait in (0.3, 0.5, 0.2):  # killed at three moments while it sends, then left be
        run = start(command + (["--resume", session] if session else []))
        sent_before = len(api.received)
        wait_for(lambda before=sent_before: len(api.received) > before + 2)
        time.sleep(wait)
        assert run.poll() is None, "the run should still be sending"
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=30)
        kills += 1
        session = session or str(json.loads(cli("sessions", "list", "--json").stdout)[0]["id"])
    resumed = start([*command, "--resume", session])
    out, err = resumed.communicate(timeout=60)

    assert resumed.returncode == 0, err
    summary = json.loads(out)
    assert summary["ok"] == rows and 0 < summary["resumed"] < rows
    sent = [record["Order"] for got in api.received for record in got.json]
    assert sorted(set(sent)) == sorted(f"O-{n}" for n in range(1, rows + 1))
    # Rows sent twice were in the batches in flight when the process died, no more (a
    # batch's outcomes are recorded before its worker takes more rows).
    assert len(sent) - rows <= kills * batch * concurrency
    assert {row["status"] for row in by_order(book).values()} == {"ok"}


def test_a_queue_worker_batches_its_rows_and_the_shared_rate_counts_requests(
    api, workbook, redis_server
) -> None:
    from .conftest import run_subprocess

    server = BulkApi("salesforce")
    api.respond = server
    book = workbook(HEADER, orders(500, bad={250}))

    result = run_subprocess(
        "run", str(book), "--url", f"{api.url}/composite/sobjects", "--queue", redis_server.url,
        "--bulk", "salesforce", "--batch-rows", "50", "--rate", "20", "--json",
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["ok"], summary["failed"]) == (499, 1)
    # A queued batch holds a whole request's rows (--batch 200 over --batch-rows 50).
    assert server.requests == 3 and max(server.batch_sizes) == 200
    assert (
        by_order(book)["O-250"]["message"] == "Email: invalid email address: buyer250.example.com"
    )


def test_serve_starts_a_batched_run_from_a_profile(api, workbook, tmp_path) -> None:
    pytest.importorskip("fastapi")
    from .serveserver import Served, make_tokens

    server_api = BulkApi("array")
    api.respond = server_api
    tokens, operator, viewer = make_tokens(tmp_path)
    config = tmp_path / "serve.toml"
    config.write_text(
        f'[profile.orders]\nurl = "{api.url}/orders"\nbatch = 20\nretries = 0\n'
        'auth_env = "ORDERS_TOKEN"\n'
    )
    served = Served(tmp_path, config, tokens).start()
    try:
        book = workbook(HEADER, orders(45, bad={41}))
        with served.client(operator) as client, book.open("rb") as handle:
            started = client.post(
                "/api/jobs", files={"file": (book.name, handle)}, data={"profile": "orders"}
            )
        assert started.status_code == 202, started.text
        status = served.wait_done(viewer, started.json()["session"])
    finally:
        served.stop()

    assert (status["summary"]["ok"], status["summary"]["failed"]) == (44, 1)
    assert max(server_api.batch_sizes) == 20 and server_api.requests < 45


def test_batch_bytes_closes_a_request_before_its_body_passes_the_size(api, workbook, cli) -> None:
    server = BulkApi("array")
    api.respond = server
    book = workbook(HEADER, orders(100))

    result, summary = run_bulk(
        cli, book, f"{api.url}/orders", "--batch", "100", "--batch-bytes", "1kB"
    )

    assert result.exit_code == 0, result.output
    assert summary["ok"] == 100 and sum(server.batch_sizes) == 100
    assert all(len(got.body) <= 1000 for got in api.received)
    assert len(api.received) >= 7  # some 70 bytes a row: no more than 14 rows a request


def test_status_metrics_and_the_report_show_requests_beside_rows(
    api, workbook, cli, tmp_path
) -> None:
    api.respond = BulkApi("array")
    book = workbook(HEADER, orders(100))
    _, summary = run_bulk(cli, book, f"{api.url}/orders", "--batch", "10", "--concurrency", "1")
    session = summary["session"]
    assert summary["requests"] == 10 and summary["batch"] == 10

    status = json.loads(cli("status", session, "--json").stdout)
    said = cli("status", session).stdout
    assert "100 rows, 100 ok, 0 failed; 10 requests of up to 10 rows (" in said
    kept = json.loads(cli("metrics", session, "--json").stdout)
    shown = cli("metrics", session).stdout
    report = tmp_path / "report.html"
    assert cli("report", session, "-o", str(report)).exit_code == 0

    assert (status["progress"]["requests"], status["progress"]["batch"]) == (10, 10)
    assert kept["rows"] == 100 and kept["requests"] == 10
    assert sum(second["requests"] for second in kept["seconds"]) == 10
    assert "requests       10" in shown and "up to 10 rows each" in shown
    assert "requests/s" in report.read_text() and "10 rows" in report.read_text()


def test_a_hubspot_answer_without_results_or_errors_is_not_taken_as_success(
    api, workbook, cli
) -> None:
    from .apiserver import Reply

    api.respond = lambda received: Reply(200, "OK")
    book = workbook(HEADER, orders(3))

    result, _ = run_bulk(cli, book, f"{api.url}/batch/create", "--bulk", "hubspot")

    assert result.exit_code == 1
    rows = by_order(book)
    assert {row["status"] for row in rows.values()} == {"UNKNOWN_ERROR"}
    assert "neither results at 'results' nor errors at 'errors'" in str(rows["O-1"]["message"])


def test_a_whole_batch_answered_429_or_503_goes_again_as_a_whole(api, workbook, cli) -> None:
    from .apiserver import Reply

    answers = iter(
        [
            Reply(429, {"message": "slow down"}, headers={"Retry-After": "0"}),
            Reply(503, {"message": "busy"}),
        ]
    )

    def flaky(received: Any) -> Reply:
        return next(answers, None) or Reply(201, [{"id": r["Order"]} for r in received.json])

    api.respond = flaky
    book = workbook(HEADER, orders(20))

    result, summary = run_bulk(
        cli, book, f"{api.url}/orders", "--batch", "20", "--retry-wait", "0.01"
    )

    assert result.exit_code == 0, result.output
    assert len(api.received) == 3 and all(len(got.json) == 20 for got in api.received)
    assert summary["ok"] == 20 and summary["requests"] == 3 and summary["retries"] == 2
    # The same rows again carry the same Idempotency-Key: the API may fold the repeats.
    assert len({got.headers["Idempotency-Key"] for got in api.received}) == 1
