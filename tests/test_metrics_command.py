"""`excelfmt metrics`: a session's timeline from the store, and runs per API over a period."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from excelfmt.store.folder import Store

from .apiserver import ApiServer, Reply
from .conftest import ROOT

SCHEMA = json.loads((ROOT / "docs" / "metrics.schema.json").read_text())
PINNED = ["--concurrency", "4", "--min-concurrency", "4"]


def valid(data: dict[str, Any]) -> dict[str, Any]:
    jsonschema.validate(data, SCHEMA, format_checker=jsonschema.FormatChecker())
    return data


def test_a_sessions_metrics_account_for_every_row_second_by_second(api, workbook, cli):
    asked = set()

    def respond(got):
        n = got.json["N"]
        if n == 7 and n not in asked:  # one 429 with Retry-After: a pause on the time axis
            asked.add(n)
            return Reply(429, {}, headers={"Retry-After": "1"})
        if n % 10 == 0:
            return Reply(422, {"message": "N must not end in 0"}, delay=0.01)
        return Reply(201, {}, delay=0.03)

    api.respond = respond
    book = workbook(["N"], [[n] for n in range(200)])
    assert cli("run", str(book), "--url", api.url, *PINNED).exit_code == 1

    shown = cli("metrics", "--json")
    assert shown.exit_code == 0, shown.output
    data = valid(json.loads(shown.stdout))
    assert (data["rows"], data["ok"], data["failed"], data["runs"]) == (200, 180, 20, 1)
    assert data["categories"] == {"REQUIRES_USER_ACTION": 20}
    assert data["statuses"] == {"201": 180, "422": 20}
    assert sum(sum(s["outcomes"].values()) for s in data["seconds"]) == 200
    assert all(s["concurrency"] == 4 and s["in_flight"] <= 4 for s in data["seconds"])
    # Failed rows answered in 10 ms, ok rows in 30 ms: apart, neither hides the other.
    assert data["latency_ms"]["failed"]["p50"] < 25 < data["latency_ms"]["ok"]["p50"]
    assert sum(i["ok"]["count"] + i["failed"]["count"] for i in data["latency"]) == 200
    kinds = [(e["kind"], e["detail"]) for e in data["events"]]
    assert kinds[0] == ("run", "started") and kinds[-1] == ("run", "ended")
    assert ("pause", "Retry-After") in kinds
    assert sum(data["histogram"]["ok"].values()) == 180

    text = cli("metrics", data["session"][:6])
    assert text.exit_code == 0
    assert "200 rows: 180 ok, 20 failed (10.0%)" in text.stdout
    assert "201 180 · 422 20" in text.stdout and "1 pause(s) asked by the API" in text.stdout


def test_runs_per_api_over_a_period(api, workbook, cli, tmp_path):
    other = ApiServer().start()
    try:
        api.respond = lambda got: Reply(201, {}, delay=0.01)
        other.respond = lambda got: Reply(503, {"message": "down"})
        book = workbook(["N"], [[n] for n in range(30)])
        for _ in range(2):
            assert cli("run", str(book), "--url", api.url, *PINNED).exit_code == 0
        quick = ["--retries", "0", "--breaker-min-calls", "1000"]
        assert cli("run", str(book), "--url", other.url, *PINNED, *quick).exit_code == 1
    finally:
        other.stop()
    with Store(tmp_path / "home") as store:  # one of the runs on api was long ago
        old = next(s for s in store.sessions() if api.url in str(s.settings["url"]))
        old.started_at = (datetime.now(UTC) - timedelta(days=10)).isoformat(timespec="seconds")
        store.save(old)

    shown = cli("metrics", "--since", "7d", "--json")
    assert shown.exit_code == 0, shown.output
    hosts = {h["host"]: h for h in valid(json.loads(shown.stdout))["hosts"]}
    assert (hosts[api.url]["runs"], hosts[api.url]["rows"]) == (1, 30)
    assert hosts[api.url]["failure_share"] == 0.0
    assert hosts[other.url]["failure_share"] == 1.0
    assert hosts[other.url]["statuses"] == {"503": 30}

    table = cli("metrics", "--since", "30d")
    assert api.url in table.stdout and "100.0%" in table.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["metrics"], "No runs are recorded"),
        (["metrics", "--since", "a while"], "--since: expected a duration"),
        (["metrics", "nosuchid"], "No session 'nosuchid'"),
    ],
)
def test_metrics_of_nothing_says_so_in_one_sentence(cli, args, says):
    shown = cli(*args)
    assert shown.exit_code == 2 and says in shown.output and "Traceback" not in shown.output
