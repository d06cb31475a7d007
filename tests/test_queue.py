"""Scale-out on BullMQ and Redis, end to end: a real redis-server, real worker processes,
the real CLI. Nothing lost when a worker dies or Redis restarts; no secret in Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from .apiserver import Received, Reply
from .conftest import run_subprocess

TOKEN = "queue-secret-token-0451"


def start_worker(url: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "excelfmt", "worker", "--queue", url, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def start_run(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`excelfmt run ARGS` in a process of its own, for a test to interrupt or kill."""
    return subprocess.Popen(
        [sys.executable, "-m", "excelfmt", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def wait_for_requests(api: Any, count: int, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while len(api.received) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def drained(worker: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then the exit code and what the worker printed."""
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=30)
    return worker.returncode, err


def rows_sent_by(stderr: str) -> int:
    last = [line for line in stderr.splitlines() if " rows, " in line][-1]
    return int(last.split(" batches, ")[1].split(" rows")[0].replace(",", ""))


def orders(workbook: Any, count: int) -> Path:
    path: Path = workbook(["Order", "Amount"], [[f"A-{i}", i] for i in range(count)])
    return path


def session_keys(redis_server: Any) -> list[str]:
    """excelfmt's own per-session keys and BullMQ's job hashes: row data, if any is left."""
    found = []
    client = redis_server.client()
    for key in client.scan_iter("*"):
        if key.startswith("excelfmt:") and not key.startswith(("excelfmt:pace:", "excelfmt:hold:")):
            found.append(key)
        elif key.count(":") == 2 and client.type(key) == "hash" and client.hexists(key, "data"):
            found.append(key)  # bull:excelfmt:<job id>: a batch's rows
    return [
        k
        for k in found
        if not k.startswith(("excelfmt:worker:", "excelfmt:sessions", "excelfmt:lost:"))
        and not k.endswith(":progress")  # counts only, for `status`: no row data
    ]


def test_a_queued_run_with_no_worker_up_finishes_by_itself(api, workbook, redis_server):
    book = orders(workbook, 450)
    result = run_subprocess(
        "run", str(book), "--url", api.url, "--queue", redis_server.url, "--json",
        "--batch-rows", "100",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["ok"]) == (450, 450)
    assert sorted(r.json["Order"] for r in api.received) == sorted(f"A-{i}" for i in range(450))
    results = load_workbook(book.with_name("input.results.xlsx"), read_only=True)
    rows = list(results["Results"].iter_rows(min_row=2, values_only=True))
    results.close()
    assert sum(1 for row in rows if row[2] == "ok") == 450
    assert session_keys(redis_server) == []  # a finished session leaves no row data
    events = json.dumps(redis_server.client().xrange("bull:excelfmt:events"))
    assert "A-1" not in events and "completed" in events  # counts, not rows


def test_two_workers_split_one_run_and_drain_on_sigterm(api, workbook, redis_server):
    api.respond = lambda got: Reply(201, {"ok": True}, delay=0.01)
    workers = [start_worker(redis_server.url, "--concurrency", "4") for _ in range(2)]
    try:
        result = run_subprocess(
            "run", str(orders(workbook, 600)), "--url", api.url, "--queue", redis_server.url,
            "--no-local-worker", "--batch-rows", "25", "--json",
        )  # fmt: skip
    finally:
        stopped = [drained(worker) for worker in workers]
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] == 600
    # What `metrics` keeps adds up to the summary, second by second (issue 25: the
    # queue's note took closed seconds from the stored timeline).
    kept = json.loads(run_subprocess("metrics", summary["session"], "--json").stdout)
    assert kept["rows"] == kept["ok"] == 600
    assert sum(sum(s["outcomes"].values()) for s in kept["seconds"]) == 600
    assert [code for code, _ in stopped] == [0, 0]
    sent = [rows_sent_by(err) for _, err in stopped]
    assert sum(sent) == 600 and min(sent) > 0, sent
    assert len(api.received) == 600


def test_a_worker_killed_mid_run_loses_nothing(api, workbook, redis_server):
    """kill -9 of a worker: its batch goes to another worker once its lock expires; only
    the rows it had in flight are sent twice, with the same Idempotency-Key."""
    api.respond = lambda got: Reply(201, {"ok": True}, delay=0.05)
    victim = start_worker(redis_server.url, "--concurrency", "8", "--lock-duration", "2")
    time.sleep(1.0)  # the victim takes the first batches
    book = orders(workbook, 400)
    run = start_run(
        str(book), "--url", api.url, "--queue", redis_server.url, "--batch-rows", "50",
        "--lock-duration", "2", "--json",
    )  # fmt: skip
    wait_for_requests(api, 60)
    in_flight = api.in_flight
    victim.kill()
    victim.communicate()
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert json.loads(out)["ok"] == 400
    keys = Counter(r.headers["Idempotency-Key"] for r in api.received)
    orders_sent = Counter(r.json["Order"] for r in api.received)
    assert set(orders_sent) == {f"A-{i}" for i in range(400)}
    twice = [order for order, n in orders_sent.items() if n > 1]
    assert len(twice) <= max(in_flight, 8), (twice, in_flight)
    assert len(keys) == 400  # a row sent twice went with the same key


def test_redis_restarted_mid_run_loses_no_row(api, workbook, redis_server):
    api.respond = lambda got: Reply(201, {"ok": True}, delay=0.02)
    book = orders(workbook, 500)
    run = start_run(
        str(book), "--url", api.url, "--queue", redis_server.url, "--batch-rows", "20",
        "--concurrency", "8", "--json",
    )  # fmt: skip
    wait_for_requests(api, 100)
    redis_server.stop()  # every batch and outcome in it is gone
    time.sleep(1.0)
    redis_server.start()
    out, err = run.communicate(timeout=90)
    assert run.returncode == 0, err
    summary = json.loads(out)
    assert (summary["ok"], summary["failed"]) == (500, 0)
    assert {r.json["Order"] for r in api.received} == {f"A-{i}" for i in range(500)}


def test_no_secret_value_is_ever_written_to_redis(api, workbook, redis_server):
    seen: list[str] = []
    stop = threading.Event()

    def snapshot() -> None:  # everything in Redis, over and over, while the run goes on
        client = redis_server.client()
        while not stop.is_set():
            for key in client.scan_iter("*"):
                kind = client.type(key)
                if kind == "string":
                    seen.append(str(client.get(key)))
                elif kind == "hash":
                    seen.append(json.dumps(client.hgetall(key)))
                elif kind == "list":
                    seen.extend(client.lrange(key, 0, -1))
                elif kind == "stream":
                    seen.append(json.dumps(client.xrange(key)))
            time.sleep(0.02)

    api.respond = lambda got: Reply(201, {"echo": got.headers.get("Authorization")}, delay=0.02)
    watcher = threading.Thread(target=snapshot)
    watcher.start()
    try:
        result = run_subprocess(
            "run", str(orders(workbook, 200)), "--url", api.url, "--queue", redis_server.url,
            "--auth-env", "ORDERS_TOKEN", "--batch-rows", "20", "--json",
            env={"ORDERS_TOKEN": TOKEN},
        )  # fmt: skip
    finally:
        stop.set()
        watcher.join()
    assert result.returncode == 0, result.stderr
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in api.received)
    assert seen and not [text for text in seen if TOKEN in text]
    assert any("ORDERS_TOKEN" in text for text in seen)  # the name travels, not the value


def test_a_worker_without_the_secret_refuses_and_the_run_says_so(api, workbook, redis_server):
    lacking = start_worker(redis_server.url)
    try:
        time.sleep(1.0)
        result = run_subprocess(
            "run", str(orders(workbook, 100)), "--url", api.url, "--queue", redis_server.url,
            "--auth-env", "ORDERS_TOKEN", "--batch-rows", "10",
            env={"ORDERS_TOKEN": TOKEN, "TERM": "dumb"},
        )  # fmt: skip
    finally:
        code, _ = drained(lacking)
    assert result.returncode == 0, result.stderr
    assert code == 0
    assert "refused a batch" in result.stderr and "ORDERS_TOKEN" in result.stderr
    assert len(api.received) == 100  # all by the run's own worker, all with the token
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in api.received)


def test_a_literal_secret_header_is_refused_with_queue(api, workbook, redis_server, cli):
    result = cli(
        "run", str(orders(workbook, 3)), "--url", api.url, "--queue", redis_server.url,
        "--header", "Authorization: Bearer abc",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "header Authorization would be written to Redis" in result.stderr
    assert api.received == []


def test_a_queue_flag_that_would_change_nothing_is_refused(workbook, cli):
    # Issue 25: `run --lock-duration 5 --no-local-worker` was taken and did nothing.
    book = str(orders(workbook, 3))
    alone = cli("run", book, "--url", "http://127.0.0.1:9/o", "--batch-rows", "5")
    assert alone.exit_code == 2
    assert "--batch-rows only applies with --queue" in alone.stderr
    queued = ["--queue", "redis://127.0.0.1:9/0", "--no-local-worker"]
    held = cli("run", book, "--url", "http://127.0.0.1:9/o", *queued, "--lock-duration", "5s")
    assert held.exit_code == 2
    assert "--lock-duration does nothing with --no-local-worker" in held.stderr
    assert "Traceback" not in held.output


def test_worker_needs_a_queue(cli):
    result = cli("worker")
    assert result.exit_code == 2
    assert "No queue: give --queue" in result.stderr


def test_a_worker_that_cannot_reach_redis_says_so_once_and_exits_3():
    from .redisserver import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    result = run_subprocess("worker", "--queue", url, "--max-outage", "1")

    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("excelfmt: ") for line in lines), lines
    assert "unreachable" in lines[0] and "up to 1 s (--max-outage)" in lines[0]
    assert "the limit is 1 s" in lines[1]


def test_a_worker_on_a_terminal_keeps_its_last_line_when_it_stops(redis_server):
    from .conftest import on_a_terminal
    from .test_dashboard import read_screen

    worker, terminal = on_a_terminal("worker", "--queue", redis_server.url)
    time.sleep(1.5)
    worker.send_signal(signal.SIGTERM)
    frames = read_screen(worker, terminal)

    assert worker.wait(10) == 0
    lines = [line.rstrip() for frame in frames for line in frame]
    # The queue is named once; the line kept up to date fits 80 columns, unwrapped.
    assert any(f"takes batches from {redis_server.url};" in line for line in lines)
    assert any(": working; 0 batches" in line and line.endswith("rows/s") for line in lines)
    last = "\n".join(frames[-1])
    assert "worker " in last and ": stopped; 0 batches, 0 rows" in last


def sent_per_second(received: list[Received]) -> Counter[int]:
    start = min(r.at for r in received)
    return Counter(int(r.at - start) for r in received)


def test_a_run_killed_while_workers_work_resumes_and_collects_their_outcomes(
    api, workbook, redis_server
):
    api.respond = lambda got: Reply(201, {"ok": True}, delay=0.02)
    worker = start_worker(redis_server.url, "--concurrency", "4")
    book = orders(workbook, 300)
    command = [
        sys.executable, "-m", "excelfmt", "run", str(book), "--url", api.url,
        "--queue", redis_server.url, "--no-local-worker", "--batch-rows", "20", "--json",
    ]  # fmt: skip
    try:
        run = start_run(*command[3:])
        deadline = time.monotonic() + 20
        while len(api.received) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        run.kill()  # the worker goes on with the batches already queued
        run.communicate()
        time.sleep(1.0)
        resumed = run_subprocess(*command[3:], "--resume", "auto", timeout=90)
    finally:
        code, _ = drained(worker)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert (summary["rows"], summary["ok"], summary["failed"]) == (300, 300, 0)
    sent = Counter(r.json["Order"] for r in api.received)
    assert set(sent) == {f"A-{i}" for i in range(300)}
    assert max(sent.values()) == 1  # finished meanwhile: collected, not sent again
    assert code == 0
    assert session_keys(redis_server) == []


def test_queue_status_shows_workers_batches_and_runs_from_any_host(
    api, workbook, redis_server, cli
):
    worker = start_worker(redis_server.url, "--concurrency", "3")
    try:
        result = run_subprocess(
            "run", str(orders(workbook, 50)), "--url", api.url, "--queue", redis_server.url,
            "--no-local-worker", "--batch-rows", "10", "--json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        session = json.loads(result.stdout)["session"]
        time.sleep(5.5)  # one heartbeat after the last batch
        shown = json.loads(cli("queue", "status", "--queue", redis_server.url, "--json").stdout)
        text = cli("queue", "status", "--queue", redis_server.url).stdout
    finally:
        drained(worker)
    [beat] = shown["workers"]
    assert (beat["pid"], beat["concurrency"], beat["rows"]) == (str(worker.pid), "3", "50")
    assert shown["batches"] == {"waiting": 0, "active": 0, "delayed": 0, "failed": 0}
    assert [run["session"] for run in shown["runs"]] == [session]
    assert f"pid {worker.pid}: concurrency 3, 50 rows" in text
    status = cli("status", session[:6], "--queue", redis_server.url)
    assert status.exit_code == 0, status.output
    assert f"{session}  done: 50 rows answered, 0 failed, 0 in the queue" in status.stdout
    assert cli("queue", "status", "--queue", redis_server.url).exit_code == 0


def test_a_batch_in_another_format_is_refused_with_a_sentence():
    from excelfmt.broker.batches import FORMAT, BatchRefused, read_batch

    expected = f"format {FORMAT + 1} and this worker reads format {FORMAT}; run the same"
    with pytest.raises(BatchRefused, match=expected):
        read_batch({"format": FORMAT + 1, "session": "s", "batch": "b", "rows": []})


def test_without_the_queue_extra_the_queue_says_how_to_install_it(workbook):
    book = orders(workbook, 1)
    script = (
        "import sys; sys.modules['bullmq'] = None; sys.argv = sys.argv[1:]\n"
        "from excelfmt.cli import main; main()"
    )
    for args in (["run", str(book), "--url", "http://127.0.0.1:9", "--queue", "redis://h:1/0"],
                 ["worker", "--queue", "redis://h:1/0"]):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-c", script, "excelfmt", *args], capture_output=True, text=True
        )
        assert result.returncode == 2, result.stderr
        assert "pip install 'excelfmt[queue]'" in result.stderr


def test_each_worker_fetches_its_own_oauth2_token_from_its_own_environment(
    api, workbook, redis_server
):
    from .test_oauth2 import ENV, Issuer

    issuer = Issuer()
    api.respond = issuer
    worker = start_worker(redis_server.url, env=ENV)  # the worker has the client's secret
    try:
        result = run_subprocess(
            "run", str(workbook(["N"], [[i] for i in range(40)])), "--url", api.url + "/orders",
            "--queue", redis_server.url, "--no-local-worker", "--batch-rows", "10", "--json",
            "--oauth2-token-url", api.url + "/token", "--oauth2-scope", "orders",
            "--oauth2-client-id-env", "ORDERS_CLIENT_ID",
            "--oauth2-client-secret-env", "ORDERS_CLIENT_SECRET",
            env=ENV,
        )  # fmt: skip
    finally:
        code, _ = drained(worker)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] == 40 and code == 0
    token_requests = [r for r in api.received if r.path == "/token"]
    assert len(token_requests) == 1  # the worker's, once; the run sent nothing itself


def test_a_second_ctrl_c_ends_a_queued_run_even_with_redis_away(api, workbook, redis_server):
    api.respond = lambda got: Reply(201, {"ok": True}, delay=0.1)
    run = start_run(
        str(orders(workbook, 400)), "--url", api.url, "--queue", redis_server.url,
        "--batch-rows", "10", "--concurrency", "4",
    )  # fmt: skip
    wait_for_requests(api, 20)
    redis_server.stop()
    run.send_signal(signal.SIGINT)
    time.sleep(1.0)
    run.send_signal(signal.SIGINT)
    stopped_at = time.monotonic()
    try:
        _, err = run.communicate(timeout=30)
    finally:
        run.kill()
        run.communicate()
    assert run.returncode == 130, err
    assert time.monotonic() - stopped_at < 15  # not --max-outage (5 min) of waiting


def test_a_run_says_when_redis_is_away_and_when_it_is_back(api, workbook, redis_server):
    api.respond = lambda got: Reply(201, {"ok": True}, delay=0.05)
    run = start_run(
        str(orders(workbook, 200)), "--url", api.url, "--queue", redis_server.url,
        "--batch-rows", "10", "--concurrency", "4", env={"TERM": "dumb"},
    )  # fmt: skip
    wait_for_requests(api, 20)
    redis_server.stop()
    time.sleep(1.0)
    redis_server.start()
    _, err = run.communicate(timeout=90)
    assert run.returncode == 0, err
    assert "excelfmt: the queue's Redis is unreachable (" in err
    assert "up to 300 s (--max-outage)" in err
    assert "excelfmt: the queue's Redis is back" in err


def test_a_worker_whose_token_is_refused_tells_the_run_and_sends_nothing(
    api, workbook, redis_server
):
    from .test_oauth2 import ENV, Issuer

    api.respond = Issuer(refuse=True)
    worker = start_worker(redis_server.url, env=ENV)
    run = start_run(
        str(workbook(["N"], [[1], [2], [3]])), "--url", api.url + "/orders",
        "--queue", redis_server.url, "--no-local-worker",
        "--oauth2-token-url", api.url + "/token", "--oauth2-scope", "orders",
        "--oauth2-client-id-env", "ORDERS_CLIENT_ID",
        "--oauth2-client-secret-env", "ORDERS_CLIENT_SECRET",
        env={**ENV, "TERM": "dumb"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len([r for r in api.received if r.path == "/token"]) < 2:
            assert time.monotonic() < deadline, "the worker never asked for a token again"
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        time.sleep(0.5)
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=30)
    finally:
        run.kill()
        run.communicate()
        drained(worker)
    assert f"refused a batch: stopped sending: The token endpoint {api.url}/token refused" in err
    assert [r.path for r in api.received if r.path != "/token"] == []  # nothing without a token


def test_a_worker_drained_mid_batch_finishes_its_rows_in_flight_and_hands_back_the_rest(
    api, workbook, redis_server
):
    api.respond = lambda got: Reply(201, {"ok": True}, delay=0.1)
    worker = start_worker(redis_server.url, "--concurrency", "4")
    time.sleep(1.0)
    run = start_run(
        str(orders(workbook, 200)), "--url", api.url, "--queue", redis_server.url,
        "--batch-rows", "50", "--concurrency", "4", "--json",
    )  # fmt: skip
    wait_for_requests(api, 30)
    code, err = drained(worker)  # SIGTERM with rows in flight and rows not yet sent
    out, run_err = run.communicate(timeout=90)
    assert code == 0, err
    assert "draining: finishing the rows in flight" in err
    assert ": stopped; " in err.splitlines()[-1]  # its last word: it has gone
    assert run.returncode == 0, run_err
    assert json.loads(out)["ok"] == 200
    sent = Counter(r.json["Order"] for r in api.received)
    assert set(sent) == {f"A-{i}" for i in range(200)}
    assert max(sent.values()) == 1  # in flight finished and pushed; the rest went elsewhere


def test_a_queued_runs_dashboard_is_seen_from_another_host(api, workbook, redis_server, tmp_path):
    from .conftest import on_a_terminal
    from .test_dashboard import read_screen

    def respond(got: Received) -> Reply:  # every tenth row refused, in words quoting it
        if got.json["Amount"] % 10 == 0:
            return Reply(422, {"message": f"{got.json['Order']} is closed"}, delay=0.02)
        return Reply(201, {"ok": True}, delay=0.02)

    api.respond = respond
    run = start_run(
        str(orders(workbook, 2000)), "--url", api.url, "--queue", redis_server.url,
        "--batch-rows", "50", "--concurrency", "8", "--min-concurrency", "8",
    )  # fmt: skip
    assert run.stderr is not None
    first = run.stderr.readline()  # "excelfmt: session ID: sending orders.xlsx, ..."
    session = first.split("session ")[1].split(":")[0]
    elsewhere = {"EXCELFMT_HOME": str(tmp_path / "another-host")}  # no record of the run
    wait_for_requests(api, 100)

    watcher, terminal = on_a_terminal(
        "status", session[:6], "--queue", redis_server.url, "--watch", env=elsewhere
    )
    frames = read_screen(watcher, terminal)

    _, run_err = run.communicate(timeout=60)
    assert watcher.wait(10) == 0 and run.returncode == 1, run_err
    shown = ["\n".join(frame) for frame in frames]
    running = [text for text in shown if "eta" in text and "policies" in text]
    assert running, shown[-1]
    assert any("input.xlsx · sheet" in text and "of ~2,000" in text for text in running)
    assert any(" is closed" in text for text in running)  # top errors, while it runs
    assert "2,000 of ~2,000 (100%)" in shown[-1] and " done" in shown[-1]
    assert "200 failed" in shown[-1] and " is closed" not in shown[-1]
    # What stays in Redis for a day quotes no row.
    from excelfmt.broker import keys

    note = redis_server.client().hgetall(keys.progress(session))
    assert "board" in note and "A-" not in "".join(note.values())

    # Off a terminal, the note's line each second until the run is done.
    lines = run_subprocess("status", session, "--queue", redis_server.url, "--watch").stdout
    assert lines.splitlines()[-1].startswith(f"{session}  done: 2,000 rows answered, 200 failed")
