"""`excelfmt bench`: one request at a time against the pool, against a local API."""

from __future__ import annotations

import json

from .apiserver import Reply


def test_bench_measures_both_ways_and_the_pool_wins(api, cli):
    api.respond = lambda got: Reply(200, {"ok": True}, delay=0.02)
    result = cli("bench", api.url + "/health", "-n", "40", "--concurrency", "8", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["method"], report["direct"]["requests"], report["pool"]["requests"]) == (
        "GET", 40, 40,
    )  # fmt: skip
    assert report["direct"]["errors"] == report["pool"]["errors"] == 0
    assert len(api.received) == 80 and {r.method for r in api.received} == {"GET"}
    assert api.max_in_flight > 1  # the pool sent several at once; the direct way one
    assert report["speedup"] > 1.5
    assert report["pool"]["p50"] is not None

    shown = cli("bench", api.url + "/health", "-n", "5")
    assert "one at a time" in shown.stdout and "Speedup:" in shown.stdout


def test_a_method_that_changes_data_needs_yes(api, cli):
    refused = cli("bench", api.url, "-n", "3", "-X", "POST")
    assert refused.exit_code == 2
    assert "bench would send 6 POST requests" in refused.stderr and "--yes" in refused.stderr
    assert api.received == []
    sent = cli("bench", api.url, "-n", "3", "-X", "POST", "--yes", "--data", '{"ping": 1}')
    assert sent.exit_code == 0, sent.output
    assert [r.json for r in api.received] == [{"ping": 1}] * 6
    assert len({r.headers["Idempotency-Key"] for r in api.received}) == 6  # one a request


def test_failed_requests_are_counted_and_set_the_exit_code(api, cli):
    api.respond = lambda got: Reply(422, {"message": "no"})
    result = cli("bench", api.url, "-n", "4", "--json", "--header", "X-Probe: 1")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["direct"]["errors"] == report["pool"]["errors"] == 4
    assert all(r.headers["X-Probe"] == "1" for r in api.received)


def test_bench_posts_batches_of_n_items_and_counts_rows_and_requests(api, cli):
    api.respond = lambda got: Reply(200, [{"ok": True}] * len(got.json), delay=0.01)
    result = cli(
        "bench", api.url + "/bulk", "-n", "4", "--batch", "50", "-X", "POST", "--yes",
        "--data", '{"ping": 1}', "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["batch"] == 50
    for way in ("direct", "pool"):
        assert (report[way]["requests"], report[way]["rows"], report[way]["errors"]) == (4, 200, 0)
    assert len(api.received) == 8
    assert all(got.json == [{"ping": 1}] * 50 for got in api.received)
    shown = cli("bench", api.url, "-n", "2", "--batch", "5", "-X", "POST", "--yes").stdout
    assert "2 requests of 5 rows each way" in shown and "rows/s" in shown
