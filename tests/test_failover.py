"""A dead worker's batches move on within seconds; a busy one keeps its own (issue 25, 1).

With the default settings BullMQ's lock on a batch lasts 30 s and its stalled check runs
every 30 s: alone, it left a run standing for up to a minute after a kill -9. The run
now takes a batch from a worker whose heartbeat (a thread, every second) has lapsed.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import anyio
import httpx
import pytest

from .apiserver import Reply
from .test_queue import orders, start_run, start_worker, wait_for_requests

pytest.importorskip("bullmq")


def test_a_killed_workers_batches_go_to_another_worker_before_its_lock_lapses(
    api, workbook, redis_server
):
    # Within BullMQ's lock (30 s by default), which alone would hold the victim's batches.
    victim, run, out, err = run_killing_a_worker(api, workbook, redis_server.url, 400, within=25)

    assert run.returncode == 0, err
    assert json.loads(out)["ok"] == 400
    assert (
        f"worker {victim_name(victim)} stopped answering; its rows go to the other workers" in err
    )
    orders_sent = Counter(r.json["Order"] for r in api.received)
    assert set(orders_sent) == {f"A-{i}" for i in range(400)}
    twice = [order for order, n in orders_sent.items() if n > 1]
    assert len(twice) <= 8  # the victim's rows in flight, sent again
    assert len({r.headers["Idempotency-Key"] for r in api.received}) == 400

    # Issue 33: the run says which rows may have reached the API twice: every one that
    # did, among a few more (an upper estimate), not the hundreds of its batches requeued.
    summary = json.loads(out)
    named = set(summary["sent_twice_rows"])
    assert {int(order[2:]) + 2 for order in twice} <= named  # A-i is sheet row i + 2
    assert len(twice) <= summary["sent_twice"] == len(named) <= 2 * 8 + 8
    from .conftest import run_subprocess

    logged = run_subprocess("logs", summary["session"], "--json").stdout
    requeued = [json.loads(line) for line in logged.splitlines() if "requeued" in line]
    assert requeued, logged  # "requeued a batch of 50 rows, 12 of them possibly sent before"
    assert sum(line["possibly_sent_before"] for line in requeued) == summary["sent_twice"]
    assert all(line["possibly_sent_before"] < line["rows"] for line in requeued)
    # And the queue lists the victim as lost, with the rows taken from it.
    status = run_subprocess("queue", "status", "--queue", redis_server.url, "--json")
    lost = {w["name"]: w for w in json.loads(status.stdout)["lost"]}
    assert int(lost[victim_name(victim)]["rows_taken_over"]) > 0


def run_killing_a_worker(
    api: Any, workbook: Any, queue: str, rows: int, *extra: str, within: float
) -> tuple[Any, Any, str, str]:
    """A queued run of `rows` rows at 50 ms, batches of 50; its one worker (concurrency
    8) killed with -9 once 40 requests went out. (victim, run, its stdout, its stderr)."""
    api.respond = lambda got: Reply(201, {"ok": True}, delay=0.05)
    victim = start_worker(queue, "--concurrency", "8")
    time.sleep(1.0)  # the victim is up and takes the first batches
    run = start_run(
        str(orders(workbook, rows)), "--url", api.url, "--queue", queue,
        "--batch-rows", "50", "--concurrency", "8", "--json", *extra,
    )  # fmt: skip
    try:
        wait_for_requests(api, 40)
        victim.kill()
        victim.communicate()
        out, err = run.communicate(timeout=within)
    finally:
        if run.poll() is None:  # failed: leave no run behind, nor its pipes open
            run.kill()
            run.communicate()
    return victim, run, out, err


def victim_name(worker: Any) -> str:
    import socket

    return f"{socket.gethostname()}:{worker.pid}"


class StallingTransport(httpx.AsyncBaseTransport):
    """Sends through a real transport, but the first request holds the event loop in a
    CPU-bound stretch `stall` seconds long: a worker too busy to renew anything from its
    loop, longer than its heartbeat lasts."""

    def __init__(self, stall: float) -> None:
        self._stall = stall
        self._real = httpx.AsyncHTTPTransport()
        self._stalled = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._stalled:
            self._stalled = True
            until = time.perf_counter() + self._stall
            while time.perf_counter() < until:
                sum(range(1000))  # CPU, holding the loop (and the interpreter, mostly)
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


def test_a_worker_whose_loop_is_busy_past_its_heartbeat_keeps_its_batch(
    api, workbook, redis_server
):
    from excelfmt.broker import keys
    from excelfmt.scaleout.worker import QueueWorker, WorkerOptions

    api.respond = lambda got: Reply(201, {"ok": True}, delay=0.01)
    stall = 2 * keys.DEAD_AFTER  # two of the run's looks would see a silent worker
    finished = threading.Event()

    async def work() -> None:
        worker = QueueWorker(
            redis_server.url, WorkerOptions(concurrency=4), transport=StallingTransport(stall)
        )
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(worker.run)
            await anyio.to_thread.run_sync(finished.wait)
            worker.stop()

    thread = threading.Thread(target=anyio.run, args=(work,), kwargs={"backend": "asyncio"})
    thread.start()
    try:
        run = start_run(
            str(orders(workbook, 100)), "--url", api.url, "--queue", redis_server.url,
            "--batch-rows", "100", "--no-local-worker", "--json",
        )  # fmt: skip
        out, err = run.communicate(timeout=60)
    finally:
        finished.set()
        thread.join(30)

    assert run.returncode == 0, err
    assert json.loads(out)["ok"] == 100
    assert "stopped answering" not in err
    sent = Counter(r.json["Order"] for r in api.received)
    assert sorted(sent.values()) == [1] * 100  # not one row sent twice
