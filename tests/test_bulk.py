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

    result, summary = run_bulk(cli, book, f"{api.url}/orders", "--batch", "5")

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
