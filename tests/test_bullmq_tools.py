"""BullMQ's own tools see excelfmt's queue: its workers and its jobs (issue 25, point 5).

BullMQ for Python and for Node find a queue's workers by their connection names in
CLIENT LIST, named differently: Python's bull:excelfmt:w:NAME, Node's (and so
bull-board's) bull:<the queue's name in base64>:w:NAME. An excelfmt worker holds one of
each: BullMQ's own connection, and the one its heartbeat goes over.
"""

from __future__ import annotations

import base64
import signal
import socket
import time
from typing import Any

import anyio
import pytest

from .apiserver import Reply
from .test_queue import orders, start_run, start_worker

pytest.importorskip("bullmq")


def node_matches(name: str, queue: str = "excelfmt") -> bool:
    """BullMQ for Node's getWorkers matcher (queue-getters.ts), as bull-board calls it."""
    client_name = f"bull:{base64.b64encode(queue.encode()).decode()}"
    return name == client_name or name.startswith(f"{client_name}:w:")


async def look(url: str) -> tuple[list[dict[str, Any]], dict[str, int], list[str]]:
    """Workers and job counts through BullMQ for Python; every connection's name."""
    from bullmq import Queue
    from redis.asyncio import Redis

    queue = Queue("excelfmt", {"connection": url})
    redis = Redis.from_url(url, decode_responses=True)
    try:
        workers = await queue.get_workers()
        counts = await queue.getJobCounts("waiting", "active", "completed")
        names = [client.get("name", "") for client in await redis.client_list()]
    finally:
        await queue.close()
        await redis.aclose()
    return workers, counts, names


def test_bullmq_for_python_and_for_node_both_find_the_workers(api, workbook, redis_server):
    api.respond = lambda got: Reply(201, {}, delay=0.2)
    workers = [start_worker(redis_server.url, "--concurrency", "4") for _ in range(2)]
    run = start_run(
        str(orders(workbook, 400)),
        "--url",
        api.url,
        "--queue",
        redis_server.url,
        "--no-local-worker",
        "--batch-rows",
        "20",
        "-q",
    )
    try:
        deadline = time.monotonic() + 20
        while len(api.received) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        found, counts, names = anyio.run(look, redis_server.url)
    finally:
        run.send_signal(signal.SIGINT)
        run.communicate(timeout=30)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            worker.communicate(timeout=30)

    host = socket.gethostname()
    expected = {f"{host}:{worker.pid}" for worker in workers}
    # BullMQ for Python: Queue.get_workers() lists both (a line per connection BullMQ's
    # worker holds, with its connection's name in "rawname").
    assert {w["rawname"].rsplit(":w:", 1)[1] for w in found} == expected
    # BullMQ for Node (bull-board's Workers tab): exactly one connection each it matches.
    node_seen = [name for name in names if node_matches(name)]
    assert sorted(name.rsplit(":w:", 1)[1] for name in node_seen) == sorted(expected)
    # The jobs are the run's batches: 400 rows in batches of 20.
    assert 0 < counts["waiting"] + counts["active"] + counts["completed"] <= 20
    assert counts["active"] >= 1
