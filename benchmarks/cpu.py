"""CPU per row and rows/s of `excelfmt run`, beside raw aiohttp's, measured in the same run.

    python benchmarks/cpu.py [--rows 10000] [--rounds 3] [--latency 0 50]
    python benchmarks/cpu.py --src /tmp/old/src --src src    # two commits, alternately

CPU per row is user + system time of the whole command, its workbook process included
(getrusage of the waited-for children), divided by the rows: the figure a shared machine
does not distort much. Rows/s is over the command's whole life, start-up and results
workbook included, as a user waits for it. The ceiling is raw aiohttp sending the same
JSON body at the same concurrency in a process of its own (benchmarks/clients.py),
measured in every round beside each excelfmt run, so a slow minute hits both.

Each ratio is printed twice: the ratio of the medians, and (rounds: ...) the median of
the ratios of each round, each excelfmt run beside the aiohttp run of its own minute.

Goals (docs/performance.md): at 0 ms, CPU per row at most 2x aiohttp's CPU per request;
at 50 ms, rows/s at least 0.95x aiohttp's. `--src` runs the code of another checkout
with this environment's packages (PYTHONPATH), for old-and-new comparisons.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.throughput import start_servers  # noqa: E402
from benchmarks.workbook import orders_book  # noqa: E402

CONCURRENCY = 64
CPU_CEILING = 2.0
"""excelfmt's CPU per row may be at most this many times aiohttp's per request (0 ms)."""
RATE_FLOOR = 0.95
"""excelfmt's rows/s may be no less than this share of aiohttp's (50 ms)."""


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run argv to its end: (CPU seconds of it and its children, wall seconds, stdout)."""
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[:3]} exited {done.returncode}")
    return children_cpu() - cpu, wall, done.stdout


def aiohttp_round(url: str, requests: int) -> dict[str, float]:
    client = [sys.executable, str(HERE / "clients.py"), "aiohttp", url, str(requests)]
    cpu, wall, _ = timed([*client, str(CONCURRENCY)], dict(os.environ))
    return {"cpu_ms": cpu / requests * 1000, "rows_per_s": requests / wall}


def excelfmt_round(src: str | None, book: Path, url: str, rows: int) -> dict[str, float]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed by pip: modules compiled once
    if src:
        env["PYTHONPATH"] = src
    output = book.with_suffix(".results.xlsx")
    command = [sys.executable, "-m", "excelfmt", "run", str(book), "--url", url]
    command += ["--concurrency", str(CONCURRENCY), "--min-concurrency", str(CONCURRENCY)]
    command += ["--output", str(output), "--json"]
    cpu, wall, out = timed(command, env)
    output.unlink(missing_ok=True)
    assert json.loads(out)["rows"] == rows
    return {"cpu_ms": cpu / rows * 1000, "rows_per_s": rows / wall}


def measure(
    sources: list[str | None], rows: int, rounds: int, latencies: list[int]
) -> dict[str, dict[str, dict[str, float]]]:
    """Medians per latency: aiohttp's and each source's CPU per row and rows/s."""
    book = orders_book(rows)
    server, urls = start_servers(latencies)
    found: dict[str, dict[str, list[dict[str, float]]]] = {}
    try:
        # One warm-up run: the modules compiled and the workbook in the page cache.
        for src in sources:
            excelfmt_round(src, book, urls[latencies[0]], rows)
        for _ in range(rounds):
            for latency, url in urls.items():
                runs = found.setdefault(str(latency), {})
                runs.setdefault("aiohttp", []).append(aiohttp_round(url, rows))
                for src in sources:
                    name = src or "excelfmt"
                    runs.setdefault(name, []).append(excelfmt_round(src, book, url, rows))
                print(f"{latency} ms: " + ", ".join(
                    f"{name} {r[-1]['cpu_ms']:.3f} ms/row {r[-1]['rows_per_s']:,.0f}/s"
                    for name, r in runs.items()
                ), flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)
    return {latency: summary(runs) for latency, runs in found.items()}


def summary(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Each sender's medians, and the median of its ratios to aiohttp round by round: each
    beside the aiohttp run of its own minute, the steadier figure on a VM whose speed
    drifts by 15% within minutes."""
    base = runs["aiohttp"]
    return {
        name: {
            **{key: statistics.median(r[key] for r in rs) for key in rs[0]},
            "cpu_ratio": statistics.median(
                r["cpu_ms"] / b["cpu_ms"] for r, b in zip(rs, base, strict=True)
            ),
            "rate_ratio": statistics.median(
                r["rows_per_s"] / b["rows_per_s"] for r, b in zip(rs, base, strict=True)
            ),
        }
        for name, rs in runs.items()
    }


def table(medians: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        "| API | sender | CPU per row | rows/s | CPU ÷ aiohttp (ceiling 2.0 at 0 ms) "
        "| rows/s ÷ aiohttp (floor 0.95 at 50 ms) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for latency, runs in medians.items():
        base = runs["aiohttp"]
        for name, figures in runs.items():
            cpu = figures["cpu_ms"] / base["cpu_ms"]
            rate = figures["rows_per_s"] / base["rows_per_s"]
            lines.append(
                f"| {latency} ms | {name} | {figures['cpu_ms'] * 1000:.0f} µs "
                f"| {figures['rows_per_s']:,.0f} | {cpu:.2f} (rounds: {figures['cpu_ratio']:.2f}) "
                f"| {rate:.2f} (rounds: {figures['rate_ratio']:.2f}) |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=int, nargs="+", default=[0, 50], help="API ms")
    parser.add_argument("--src", action="append", help="a checkout's src folder to run")
    args = parser.parse_args()
    medians = measure(args.src or [None], args.rows, args.rounds, args.latency)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "cpu.json").write_text(json.dumps(medians, indent=2))
    print()
    print(table(medians))


if __name__ == "__main__":
    main()
