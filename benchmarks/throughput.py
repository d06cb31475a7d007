"""Throughput and memory of `excelfmt run`, as ratios against baselines measured in this run.

    python benchmarks/throughput.py [--rows 10000 200000] [--concurrency 64]
    python benchmarks/throughput.py --rows 1000000 --latency 0      # the flat-memory check
    python benchmarks/throughput.py --csv --rows 10000 1000000 --latency 0   # the same for CSV

Starts the local APIs (benchmarks/server.py: 0 ms and 50 ms; `--server aiohttp` for the
aiohttp app the earlier figures used), measures raw aiohttp (the Python ceiling), plain
httpx.AsyncClient (which collapses under concurrency, encode/httpx#3215) and httpx over
aiohttp's pool at the same concurrency, then runs the real `excelfmt run` command on
generated workbooks of N rows, taking each of its two processes' own peak RSS from its
JSON summary. Every client runs in its own process. Prints a Markdown table for
docs/performance.md and writes the raw figures to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))

from benchmarks.workbook import orders_book, orders_csv  # noqa: E402


def start_servers(
    latencies: list[int], kind: str = "lean"
) -> tuple[subprocess.Popen[str], dict[int, str]]:
    flags = ["--aiohttp"] if kind == "aiohttp" else []
    server = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), *flags, *map(str, latencies)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    ports = dict(item.split("=") for item in server.stdout.readline().split())
    return server, {int(ms): f"http://127.0.0.1:{port}/orders" for ms, port in ports.items()}


def baseline(kind: str, url: str, requests: int, concurrency: int) -> float:
    done = subprocess.run(
        [sys.executable, str(HERE / "clients.py"), kind, url, str(requests), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def excelfmt_run(book: Path, url: str, concurrency: int) -> dict[str, float]:
    """Run the real command; rows/s over its whole life and its peak RSS."""
    excelfmt = Path(sys.executable).with_name("excelfmt")
    output = book.with_suffix(".results.xlsx")
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            str(excelfmt),
            "run",
            str(book),
            "--url",
            url,
            "--concurrency",
            str(concurrency),
            "--min-concurrency",  # a fixed limit: this measures sending, not the controller
            str(concurrency),
            "--output",
            str(output),
            "--json",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    summary = json.loads(process.stdout.read())
    process.wait()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"excelfmt exited {process.returncode}: {summary}")
    output.unlink()
    return {
        "rows": summary["rows"],
        "rows_per_s": summary["rows"] / wall,
        "rows_per_s_sending": summary["rows_per_s"],
        # Each process's own peak, as excelfmt reports it (VmHWM). Not ru_maxrss from
        # wait4: Linux carries this script's own peak into the command it starts.
        "peak_rss_mib": sum(summary["peak_rss_mib"].values()),
        "peak_rss_sending_mib": summary["peak_rss_mib"]["sending"],
        "peak_rss_workbook_mib": summary["peak_rss_mib"]["workbook"],
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--latency", type=int, nargs="+", default=[0, 50], help="API ms")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--requests", type=int, default=3000, help="plain httpx's baseline")
    parser.add_argument(
        "--ceiling-requests",
        type=int,
        default=20_000,
        help="the aiohttp baselines': long enough that a slow second does not move the ceiling",
    )
    parser.add_argument(
        "--server",
        choices=["lean", "aiohttp"],
        default="lean",
        help="the local API: lean (least CPU taken from the clients) or an aiohttp app",
    )
    parser.add_argument("--csv", action="store_true", help="send a CSV export, not a workbook")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    server, urls = start_servers(args.latency, args.server)
    record: dict[str, object] = {
        "server": args.server,
        "concurrency": args.concurrency,
        "when": time.strftime("%F %T"),
        "baselines": {},
        "excelfmt": {},
    }
    try:
        for latency, url in urls.items():
            record["baselines"][latency] = {  # type: ignore[index]
                kind: baseline(
                    kind,
                    url,
                    args.requests if kind == "httpx" else args.ceiling_requests,
                    args.concurrency,
                )
                for kind in ("aiohttp", "httpx", "httpx-aiohttp")
            }
            print(
                f"{latency} ms API, baselines (req/s): {record['baselines'][latency]}",  # type: ignore[index]
                flush=True,
            )
        for rows in args.rows:
            book = orders_csv(rows) if args.csv else orders_book(rows)
            for latency, url in urls.items():
                figures = excelfmt_run(book, url, args.concurrency)
                record["excelfmt"][f"{rows}@{latency}"] = figures  # type: ignore[index]
                print(f"{rows} rows, {latency} ms API: {figures}", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    (RESULTS / "latest.json").write_text(json.dumps(record, indent=2))
    print()
    print(table(record))


def table(record: dict[str, object]) -> str:
    baselines: dict[int, dict[str, float]] = record["baselines"]  # type: ignore[assignment]
    lines = [
        "| rows | API latency | excelfmt rows/s | raw aiohttp req/s | plain httpx req/s "
        "| excelfmt ÷ aiohttp | excelfmt ÷ httpx | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, figures in record["excelfmt"].items():  # type: ignore[attr-defined]
        rows, latency = (int(part) for part in key.split("@"))
        base = baselines[latency]
        lines.append(
            f"| {rows:,} | {latency} ms | {figures['rows_per_s']:,.0f} | {base['aiohttp']:,.0f} "
            f"| {base['httpx']:,.0f} | {figures['rows_per_s'] / base['aiohttp']:.2f} "
            f"| {figures['rows_per_s'] / base['httpx']:.1f} | {figures['peak_rss_mib']:.0f} MiB |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
