"""The workbook process's two jobs alone, nothing sent: reading a sheet, writing results.

    python benchmarks/reading.py [--rows 200000] [--rounds 3]
    python benchmarks/reading.py --src /tmp/old/src --src src    # two commits, alternately

Each round, with each checkout's code in a fresh process of its own: reads the same
workbook (benchmarks/workbook.py: shared strings, a dimension, date styles, as Excel
writes it) as a run's workbook process does (open, header, every row); then writes the
results workbook of those rows (every row ok, its response text) as a run does. CPU is
the process's user + system time for each part, imports included in reading's; memory
its peak resident set (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.workbook import write_orders  # noqa: E402

PROBE = """
import json, sys, time
from pathlib import Path
from excelfmt.sheets.reader import OpenSheet
from excelfmt.sheets.writer import open_results
from excelfmt.models import Outcome
started = time.perf_counter()
with OpenSheet(Path(sys.argv[1])) as sheet:
    first = time.perf_counter()
    rows = list(sheet.rows())
    columns = sheet.columns
read = time.process_time()
writer = open_results(Path(sys.argv[2]), columns, ())
for at in range(0, len(rows), 256):
    writer.add([Outcome(r, None, 201, None, {"id": r.seq}) for r in rows[at : at + 256]])
writer.discard()
wrote = time.process_time() - read
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"rows": len(rows), "cpu": read, "write": wrote,
                  "open": first - started, "peak_mib": peak / 1024}))
"""


def read_once(src: Path, book: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(book), str(book.with_suffix(".results.xlsx"))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--src", type=Path, action="append", help="a checkout's src folder")
    args = parser.parse_args()
    sources = args.src or [HERE.parent / "src"]
    book = Path(f"/tmp/excelfmt-reading-{args.rows}.xlsx")
    if not book.exists():
        write_orders(book, args.rows)
    found: dict[Path, list[dict[str, float]]] = {src: [] for src in sources}
    for _ in range(args.rounds):
        for src in sources:
            found[src].append(read_once(src, book))
    for src, runs in found.items():
        cpu = statistics.median(r["cpu"] for r in runs)
        writing = statistics.median(r["write"] for r in runs)
        print(
            f"{src}: {runs[0]['rows']:,} rows, CPU {cpu:.2f} s "
            f"({cpu / runs[0]['rows'] * 1e6:.1f} µs a row; runs "
            + ", ".join(f"{r['cpu']:.2f}" for r in runs)
            + f"), first row after {statistics.median(r['open'] for r in runs):.2f} s; "
            f"writing results {writing / runs[0]['rows'] * 1e6:.1f} µs a row; "
            f"peak {max(r['peak_mib'] for r in runs):.1f} MiB (rows held in memory)"
        )


if __name__ == "__main__":
    main()
