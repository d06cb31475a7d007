"""Resilience end to end: the real CLI against a local API that misbehaves on purpose.

Each scenario is short (a few seconds); the long versions with their targets live in
benchmarks/scenarios.py.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

from openpyxl import load_workbook

from .apiserver import Received, Reply


def rows(book_factory, count: int):
    return book_factory(["N"], [[n] for n in range(count)])


def summary_of(result) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


FAST = ["--retry-wait", "0.02", "--retry-max-wait", "0.2", "--breaker-wait", "0.3"]


def test_random_500s_are_retried_until_every_row_succeeds(api, workbook, cli):
    book = rows(workbook, 300)
    chance = random.Random(4)
    api.respond = lambda got: Reply(500 if chance.random() < 0.2 else 201, {})

    result = cli("run", str(book), "--url", api.url, "--json", *FAST)

    summary = summary_of(result)
    assert result.exit_code == 0, summary
    assert summary["ok"] == 300 and summary["retries"] > 0
    firsts = {r.headers["Idempotency-Key"] for r in api.received}
    assert len(firsts) == 300  # retries reuse their row's key
    # The budget: 20% of first attempts, plus a trickle of 10/s over a sliding 10 s.
    windows = summary["duration_s"] / 10 + 1
    assert summary["retries"] <= 0.2 * 300 + 100 * windows


def test_an_outage_makes_rows_wait_and_the_run_completes(api, workbook, cli):
    book = rows(workbook, 120)
    down: dict[str, float] = {}

    def respond(got: Received) -> Reply:
        count = len(api.received)
        if count == 30:
            down["from"] = time.monotonic()
        if "from" in down and time.monotonic() - down["from"] < 1.5:
            return Reply(503, "down for maintenance")
        return Reply(201, {}, delay=0.005)

    api.respond = respond
    result = cli(
        "run",
        str(book),
        "--url",
        api.url,
        "--json",
        "--breaker-min-calls",
        "5",
        "--breaker-window",
        "10",
        "--retries",
        "20",
        *FAST,
    )

    summary = summary_of(result)
    assert result.exit_code == 0, summary
    assert summary["ok"] == 120 and summary["breaker_opened"] >= 1
    outage = [r for r in api.received if down["from"] <= r.at < down["from"] + 1.5]
    # While the breaker was open only probes got through, not the whole pool.
    assert len(outage) < 60


def test_an_api_enforcing_a_rate_with_retry_after_gets_every_row_through(api, workbook, cli):
    book = rows(workbook, 80)
    window: list[float] = []
    lock = threading.Lock()

    def respond(got: Received) -> Reply:
        now = time.monotonic()
        with lock:
            while window and window[0] < now - 1.0:
                window.pop(0)
            if len(window) >= 40:
                return Reply(429, {"message": "slow down"}, {"Retry-After": "1"})
            window.append(now)
        return Reply(201, {})

    api.respond = respond
    result = cli("run", str(book), "--url", api.url, "--json", *FAST)

    summary = summary_of(result)
    assert result.exit_code == 0, summary
    assert summary["ok"] == 80 and summary["throttled"] >= 1


def test_hidden_capacity_with_429s_brings_the_limit_down(api, workbook, cli):
    book = rows(workbook, 400)

    def respond(got: Received) -> Reply:
        if api.in_flight > 6:
            return Reply(429, {"message": "busy"})
        return Reply(201, {}, delay=0.02)

    api.respond = respond
    result = cli("run", str(book), "--url", api.url, "--json", "--concurrency", "40", *FAST)

    summary = summary_of(result)
    assert result.exit_code == 0, summary
    assert summary["concurrency_final"] <= 12
    assert summary["throttled"] < 400


def test_instant_429s_past_a_small_capacity_cost_few_requests(api, workbook, cli):
    """Issue 16: an API that takes 16 at once and refuses the rest with instant 429s (no
    Retry-After), --concurrency 128. The slow start overshot and the first drops cut 3%
    a window: a quarter of all requests were 429s. Now the first drop halves the limit,
    and a cut always takes at least one request off."""
    book = rows(workbook, 1500)

    def respond(got: Received) -> Reply:
        if api.in_flight > 16:
            return Reply(429, {"message": "too many at once"})
        return Reply(201, {}, delay=0.02)

    api.respond = respond
    result = cli("run", str(book), "--url", api.url, "--json", "--concurrency", "128")

    summary = summary_of(result)
    assert result.exit_code == 0, summary
    assert summary["ok"] == 1500
    assert summary["throttled"] <= 0.1 * len(api.received)


def test_wrong_credentials_stop_the_run_without_marking_rows_failed(api, workbook, cli):
    book = rows(workbook, 50)
    api.respond = lambda got: Reply(401, {"message": "invalid token"}, delay=0.01)

    result = cli(
        "run", str(book), "--url", api.url, "--json", "--concurrency", "2", "--min-concurrency", "2"
    )

    summary = summary_of(result)
    assert result.exit_code == 3
    assert "refused the credentials 5 times in a row" in summary["stopped"]
    assert summary["failed"] == 0
    assert len(api.received) < 20
    sheet = load_workbook(book.with_name("input.results.xlsx"))["Results"]
    assert sheet.max_row == 1  # no row recorded as failed


def test_a_few_refused_rows_are_recorded_and_the_run_goes_on(api, workbook, cli):
    book = rows(workbook, 20)
    api.respond = lambda got: Reply(403 if got.json["N"] in (3, 11) else 201, {})
    result = cli("run", str(book), "--url", api.url, "--json")
    summary = summary_of(result)
    assert result.exit_code == 1
    assert summary["categories"] == {"AUTH_ERROR": 2} and summary["ok"] == 18


def test_an_api_down_past_max_outage_stops_the_run_with_exit_3(api, workbook, cli):
    book = rows(workbook, 40)
    api.respond = lambda got: Reply(503, "down")

    started = time.monotonic()
    result = cli(
        "run",
        str(book),
        "--url",
        api.url,
        "--json",
        "--max-outage",
        "1",
        "--breaker-min-calls",
        "5",
        "--breaker-window",
        "10",
        "--retries",
        "50",
        *FAST,
    )

    summary = summary_of(result)
    assert result.exit_code == 3
    assert "kept failing" in summary["stopped"]
    assert summary["failed"] == 0  # the outage turned no row into a failure
    assert time.monotonic() - started < 15


def test_resets_and_hangs_end_ok_or_as_network_errors_without_stalling(api, workbook, cli):
    book = rows(workbook, 100)
    chance = random.Random(7)

    def respond(got: Received) -> Reply:
        roll = chance.random()
        if roll < 0.05:
            return Reply(reset=True)
        if roll < 0.10:
            return Reply(201, {}, delay=5)  # hangs past the timeout
        return Reply(201, {})

    api.respond = respond
    started = time.monotonic()
    result = cli("run", str(book), "--url", api.url, "--json", "--timeout", "0.3", *FAST)

    summary = summary_of(result)
    assert set(summary["categories"]) <= {"NETWORK_ERROR"}
    assert summary["rows"] == 100
    assert time.monotonic() - started < 20
