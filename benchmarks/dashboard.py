"""What the live dashboard costs: rows/s on an 80x24 terminal against rows/s with --quiet.

    python benchmarks/dashboard.py [--rows 20000] [--concurrency 64] [--rounds 3]

The same `excelfmt run` against the 50 ms API (benchmarks/server.py) at a fixed
concurrency, once on a pseudo-terminal (the dashboard drawn, its output read as a
terminal would) and once with --quiet, alternating, `--rounds` times each. Rows/s are
over each command's whole life; the ratio of the medians is the dashboard's cost.
Prints a Markdown line for docs/performance.md and writes the figures to
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))

from benchmarks.throughput import start_servers  # noqa: E402
from benchmarks.workbook import orders_book  # noqa: E402


def timed_run(book: Path, url: str, concurrency: int, *, terminal: bool) -> float:
    """Seconds the whole command took, on an 80x24 terminal or with --quiet."""
    excelfmt = Path(sys.executable).with_name("excelfmt")
    command = [str(excelfmt), "run", str(book), "--url", url, "--output", str(book) + ".out.xlsx"]
    command += ["--concurrency", str(concurrency), "--min-concurrency", str(concurrency)]
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    started = time.perf_counter()
    if not terminal:
        subprocess.run([*command, "--quiet"], check=True, env=env)
        return time.perf_counter() - started
    controller, screen = pty.openpty()
    fcntl.ioctl(screen, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(command, stdin=screen, stdout=screen, stderr=screen, env=env)
    os.close(screen)
    drawn = [0]

    def read() -> None:  # a terminal takes what it is sent at once
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                return
            if not chunk:
                return
            drawn[0] += len(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    code = process.wait()
    elapsed = time.perf_counter() - started
    reader.join(5)
    os.close(controller)
    if code != 0:
        raise SystemExit(f"excelfmt exited {code}")
    print(f"  (the dashboard sent {drawn[0] / 1024:,.0f} KiB to the terminal)", flush=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server, urls = start_servers([50])
    try:
        book = orders_book(args.rows)
        figures: dict[str, list[float]] = {"dashboard": [], "quiet": []}
        for round_ in range(args.rounds):
            for kind in ("dashboard", "quiet") if round_ % 2 == 0 else ("quiet", "dashboard"):
                seconds = timed_run(book, urls[50], args.concurrency, terminal=kind == "dashboard")
                figures[kind].append(args.rows / seconds)
                print(f"{kind}: {args.rows / seconds:,.0f} rows/s", flush=True)
    finally:
        server.terminate()
        server.wait()
    dashboard, quiet = (statistics.median(figures[k]) for k in ("dashboard", "quiet"))
    record = {
        "rows": args.rows,
        "concurrency": args.concurrency,
        "latency_ms": 50,
        "rows_per_s": figures,
        "ratio": round(dashboard / quiet, 3),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"| {args.rows:,} rows, 50 ms, concurrency {args.concurrency} | {quiet:,.0f} | "
        f"{dashboard:,.0f} | {dashboard / quiet:.3f}x |"
    )


if __name__ == "__main__":
    main()
