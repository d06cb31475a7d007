"""Bulk sending (--batch): the API's own limit is the ceiling a user waits on.

    python benchmarks/bulk.py [--rows 40000] [--batch 200] [--rate 10] [--latency 50]
    python benchmarks/bulk.py --fast-rows 200000 --fast-batch 500    # the 0 ms part only

Part 1, rate-limited: the real `excelfmt run` command, start-up included, sends a sheet of
N rows to local bulk APIs (benchmarks/bulkserver.py: 50 ms latency, RATE requests a
second, answering as Salesforce, Elasticsearch and a plain array endpoint do) with
`--batch B --rate RATE`. The ceiling is what the API allows: RATE x B rows a second, so
N / (RATE x B) seconds. A strict array endpoint that refuses a whole batch for one bad
row (one in BAD_EVERY) shows what narrowing down costs, against its bound 2·k·log2(B).

Part 2, 0 ms and no rate: the same command with batches of 500, rows/s and CPU a row,
and each stage of the pipeline timed alone in this process, a row at a time as a run
does it: reading the workbook, planning (templating) a row's item, wrapping the batch
and reading its answer, the journal's record, the results writer. With batches the
sender's cost per row is small; the stage that costs most is the limit.
Prints Markdown for docs/performance.md and writes benchmarks/results/bulk.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))

from benchmarks.bulkserver import BAD_EVERY  # noqa: E402
from benchmarks.workbook import orders_book  # noqa: E402

ACTION = '{"index": {"_index": "orders", "_id": "{Order}"}}'
STYLES = {
    "salesforce": ("salesforce", ["--bulk", "salesforce"]),
    "elasticsearch": ("elasticsearch", ["--bulk", "elasticsearch", "--bulk-action", ACTION]),
    "array": ("array", []),
    "array, whole batch refused (strict)": ("strict", []),
}


def start_server(latency: float, rate: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "bulkserver.py"), str(latency), str(rate)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, f"http://127.0.0.1:{server.stdout.readline().strip()}"


def stats(base: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base}/stats") as answer:
        found: dict[str, int] = json.load(answer)
        return found


def excelfmt_run(book: Path, url: str, flags: list[str], store: Path) -> dict[str, Any]:
    """The real command; its summary, wall time over its whole life and CPU (both
    processes: the child's rusage covers its workbook process)."""
    excelfmt = Path(sys.executable).with_name("excelfmt")
    output = store / "results.xlsx"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(excelfmt), "run", str(book), "--url", url, "--output", str(output), "--json",
         "--store", str(store), *flags],
        capture_output=True, text=True, env={**os.environ, "EXCELFMT_HOME": str(store)},
    )  # fmt: skip
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"excelfmt run failed ({done.returncode}): {done.stderr}")
    summary: dict[str, Any] = json.loads(done.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"summary": summary, "seconds": seconds, "cpu": cpu}


def rate_limited(rows: int, batch: int, rate: float, latency: float) -> list[dict[str, Any]]:
    book = orders_book(rows)
    ceiling = rate * batch
    found = []
    for name, (path, flags) in STYLES.items():
        server, base = start_server(latency, rate)
        try:
            with tempfile.TemporaryDirectory() as folder:
                run = excelfmt_run(
                    book, f"{base}/{path}", [*flags, "--batch", str(batch), "--rate", str(rate)],
                    Path(folder),
                )  # fmt: skip
            served = stats(base)
        finally:
            server.terminate()
            server.wait()
        summary = run["summary"]
        rows_per_s = rows / run["seconds"]
        bad = rows // BAD_EVERY
        found.append(
            {
                "style": name,
                "rows": rows,
                "ok": summary["ok"],
                "failed": summary["failed"],
                "requests": served["requests"],
                "refused_429": served["refused_429"],
                "bisect_requests": summary["bisect_requests"],
                "bisect_bound": 2 * bad * math.ceil(math.log2(batch)),
                "seconds": round(run["seconds"], 2),
                "rows_per_s": round(rows_per_s),
                "ceiling_rows_per_s": ceiling,
                "ratio": round(rows_per_s / ceiling, 3),
            }
        )
        print(found[-1], file=sys.stderr)
    return found


def stage_costs(rows: int, batch: int) -> dict[str, float]:
    """Microseconds a row for each stage, each alone, in this process."""
    from excelfmt.calls.bulk import style_for
    from excelfmt.calls.jobs import Planner
    from excelfmt.calls.responses import decode_body
    from excelfmt.metrics.summary import RunSummary  # noqa: F401 - loaded as a run has it
    from excelfmt.models import Outcome
    from excelfmt.settings.config import load_settings
    from excelfmt.sheets.reader import open_sheet
    from excelfmt.sheets.writer import open_results
    from excelfmt.store.journal import Journal

    book = orders_book(rows)
    settings = load_settings({"url": "http://127.0.0.1:9/array", "batch": batch}, env={})
    costs: dict[str, float] = {}

    started = time.process_time()
    with open_sheet(book, settings) as sheet:
        read = list(sheet.rows(None))
        columns = sheet.columns
    costs["reading"] = time.process_time() - started

    planner = Planner(settings, columns)
    started = time.process_time()
    jobs = [planner.plan(row) for row in read]
    costs["planning (templating)"] = time.process_time() - started

    style = style_for(settings)
    answer = json.dumps([{"id": n} for n in range(batch)]).encode()
    started = time.process_time()
    for start in range(0, len(jobs), batch):
        chunk = jobs[start : start + batch]
        style.wrap(chunk)
        style.read(decode_body(answer), len(chunk), ())
    costs["wrapping and reading answers"] = time.process_time() - started

    outcomes = [Outcome(row, None, 201, None, {"id": row.seq}, 0.05, 1) for row in read]
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(Path(folder) / "journal")
        started = time.process_time()
        for start in range(0, len(outcomes), 512):
            journal.record([(o.row.seq, o.recorded) for o in outcomes[start : start + 512]])
        costs["journal"] = time.process_time() - started
        journal.close()
        results = open_results(Path(folder) / "results.xlsx", columns, ())
        started = time.process_time()
        for start in range(0, len(outcomes), 512):
            results.add(outcomes[start : start + 512])
        results.discard()
        costs["results writer"] = time.process_time() - started
    return {stage: round(seconds / rows * 1e6, 1) for stage, seconds in costs.items()}


def fast(rows: int, batch: int) -> dict[str, Any]:
    book = orders_book(rows)
    server, base = start_server(0, 0)
    try:
        with tempfile.TemporaryDirectory() as folder:
            run = excelfmt_run(book, f"{base}/array", ["--batch", str(batch)], Path(folder))
    finally:
        server.terminate()
        server.wait()
    return {
        "rows": rows,
        "batch": batch,
        "seconds": round(run["seconds"], 2),
        "rows_per_s": round(rows / run["seconds"]),
        "cpu_us_per_row": round(run["cpu"] / rows * 1e6, 1),
        "requests": run["summary"]["requests"],
        "stages_us_per_row": stage_costs(rows, batch),
    }


def markdown(limited: list[dict[str, Any]], quick: dict[str, Any] | None) -> str:
    lines = []
    if limited:
        lines += [
            "| style | rows ok / refused | requests (429s) | narrowing (bound) | seconds "
            "| rows/s | ceiling | ratio |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in limited:
            lines.append(
                f"| {r['style']} | {r['ok']:,} / {r['failed']:,} | {r['requests']:,} "
                f"({r['refused_429']}) | {r['bisect_requests']} ({r['bisect_bound']}) "
                f"| {r['seconds']} | {r['rows_per_s']:,} | {r['ceiling_rows_per_s']:,} "
                f"| {r['ratio']:.2f}x |"
            )
    if quick:
        lines += [
            "",
            f"0 ms, no rate, {quick['rows']:,} rows in batches of {quick['batch']}: "
            f"{quick['rows_per_s']:,} rows/s over {quick['seconds']} s, "
            f"{quick['cpu_us_per_row']} µs of CPU a row (both processes), "
            f"{quick['requests']:,} requests.",
            "",
            "| stage, alone | µs a row |",
            "|---|---|",
            *(f"| {stage} | {cost} |" for stage, cost in quick["stages_us_per_row"].items()),
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--latency", type=float, default=50)
    parser.add_argument("--fast-rows", type=int, default=200_000)
    parser.add_argument("--fast-batch", type=int, default=500)
    parser.add_argument("--skip-limited", action="store_true")
    parser.add_argument("--skip-fast", action="store_true")
    args = parser.parse_args()
    limited = (
        [] if args.skip_limited else rate_limited(args.rows, args.batch, args.rate, args.latency)
    )
    quick = None if args.skip_fast else fast(args.fast_rows, args.fast_batch)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bulk.json").write_text(
        json.dumps({"rate_limited": limited, "fast": quick}, indent=2)
    )
    print(markdown(limited, quick))


if __name__ == "__main__":
    main()
