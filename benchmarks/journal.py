"""The journal's cost: rows/s of `excelfmt run` with the journal on, against the same run
with the journal writing to a no-op, in the same process setup, alternating, best of N.

    python benchmarks/journal.py [--rows 200000] [--latency 0] [--repeat 2]

The journal is what lets an interrupted run resume without sending a row twice, so it
is written (one SQLite transaction per batch of outcomes) before a row counts as done.
A 0 ms API is the hardest case: the most rows per second to record. Target: within 10%.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))

from benchmarks.throughput import start_servers  # noqa: E402
from benchmarks.workbook import orders_book  # noqa: E402

# Runs in a process of its own, like the command; the no-op replaces Journal.record.
RUN = """
import sys, time
from pathlib import Path
import excelfmt
from excelfmt.store import folder, journal

def main() -> None:
    url, book, store, mode = sys.argv[1:5]
    if mode == "no-op":
        journal.Journal.record = lambda self, outcomes, unsettled=(): None
    settings = excelfmt.load_settings(
        {"url": url, "concurrency": 64, "min_concurrency": 64,
         "output": str(Path(store) / "results.jsonl")},
        env={},
    )
    with folder.Store(Path(store)) as opened:
        summary = excelfmt.run(settings, Path(book), store=opened)
    print(summary.metrics.rows_per_second)

if __name__ == "__main__":
    main()
"""


def one_run(url: str, book: Path, mode: str) -> float:
    with tempfile.TemporaryDirectory() as store:
        done = subprocess.run(
            [sys.executable, "-c", RUN, url, str(book), store, mode],
            capture_output=True,
            text=True,
            check=True,
        )
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--latency", type=int, default=0, help="API ms")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    server, urls = start_servers([args.latency])
    try:
        book = orders_book(args.rows)
        runs: dict[str, list[float]] = {"journal": [], "no-op": []}
        for _ in range(args.repeat):
            for mode in runs:
                runs[mode].append(one_run(urls[args.latency], book, mode))
                print(f"{mode}: {runs[mode][-1]:.0f} rows/s", flush=True)
    finally:
        server.terminate()
    best = {mode: max(rates) for mode, rates in runs.items()}
    ratio = best["journal"] / best["no-op"]
    verdict = "met" if ratio >= 0.9 else "NOT MET"
    print(
        f"{args.rows} rows, {args.latency} ms API: journal {best['journal']:.0f} rows/s, "
        f"no-op {best['no-op']:.0f} rows/s, ratio {ratio:.3f} ({verdict}; target >= 0.9)"
    )
    RESULTS.mkdir(exist_ok=True)
    record = {
        "rows": args.rows,
        "latency_ms": args.latency,
        "runs": runs,
        "ratio": ratio,
        "when": time.strftime("%F %T"),
    }
    (RESULTS / "journal.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
