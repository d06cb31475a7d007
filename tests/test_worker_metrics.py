"""`excelfmt worker --metrics-port`: Prometheus's figures of a worker (issue 25, point 7)."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import pytest

from .apiserver import Reply
from .conftest import run_subprocess
from .test_queue import drained, orders, start_worker

pytest.importorskip("prometheus_client")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int, within: float = 10.0) -> str:
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
                return str(reply.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_workers_metrics_count_its_rows_requests_and_batches(api, workbook, redis_server):
    def respond(got):  # every fifth row is refused: the person must fix it
        number = int(got.json["Order"].split("-")[1])
        if number % 5 == 0:
            return Reply(422, {"error": "bad amount"})
        return Reply(201, {"ok": True})

    api.respond = respond
    port = free_port()
    worker = start_worker(redis_server.url, "--concurrency", "4", "--metrics-port", str(port))
    try:
        scrape(port)  # up before the run starts
        result = run_subprocess(
            "run", str(orders(workbook, 100)), "--url", api.url, "--queue", redis_server.url,
            "--no-local-worker", "--batch-rows", "25", "--json",
        )  # fmt: skip
        text = scrape(port)
    finally:
        code, _ = drained(worker)
    assert result.returncode == 1, result.stderr  # rows need a person: exit 1
    session = json.loads(result.stdout)["session"]

    found = samples(text)
    api_label = f"http://127.0.0.1:{api.port}"
    assert found[("excelfmt_rows_total", (("api", api_label), ("outcome", "ok")))] == 80
    refused = (("api", api_label), ("outcome", "requires_user_action"))
    assert found[("excelfmt_rows_total", refused)] == 20
    assert found[("excelfmt_requests_total", (("api", api_label), ("status_class", "2xx")))] == 80
    assert found[("excelfmt_requests_total", (("api", api_label), ("status_class", "4xx")))] == 20
    assert found[("excelfmt_request_duration_seconds_count", (("api", api_label),))] == 100
    assert found[("excelfmt_batches_taken_total", ())] == 4
    assert found[("excelfmt_concurrency_limit", (("api", api_label),))] == 4
    assert found[("excelfmt_requests_in_flight", (("api", api_label),))] == 0
    assert found[("excelfmt_redis_connections_lost_total", ())] == 0
    # Neither the session nor a row in any label: their number grows without end.
    assert session not in text and "A-1" not in text
    assert code == 0


def test_a_metrics_port_in_use_is_refused_with_a_sentence(redis_server):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_subprocess(
            "worker", "--queue", redis_server.url, "--metrics-port", str(port), timeout=30
        )
    assert result.returncode == 2
    assert f"Cannot serve metrics on 127.0.0.1:{port}: Address already in use." in result.stderr
    assert "Traceback" not in result.stderr
