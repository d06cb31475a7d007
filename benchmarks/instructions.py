"""Instructions per row of `excelfmt run`, beside raw aiohttp's per request: the A/B figure.

    python benchmarks/instructions.py [--rows 10000] [--rounds 1]
    python benchmarks/instructions.py --src /tmp/old/src --src src   # two commits

CPU seconds on this VM move by 15% within minutes (docs/performance.md), more than most
single changes to a hot path gain, so comparing two commits by CPU time takes dozens
of alternate runs. The count of instructions a process executes does not move: two runs
of the same code agree within 0.5%. This runs each command under valgrind's cachegrind
(no cache simulation; about 5x slower), the workbook process included, and prints
instructions per row, the sending and workbook processes apart, and the fixed cost of a
10-row run. An instruction is not a unit of time (a system call counts as one, the
kernel's work not at all), so the goal itself stays in CPU seconds (cpu.py); this says
whether a change made the code do less. Needs valgrind (apt-get install valgrind).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.throughput import start_servers  # noqa: E402
from benchmarks.workbook import orders_book  # noqa: E402

CONCURRENCY = 64
FIXED_ROWS = 10
"""Rows of the run that measures the fixed cost: start-up, imports, the results file."""


def instructions(argv: list[str], env: dict[str, str]) -> list[int]:
    """Instructions each process of the command executed, the command's own first."""
    valgrind = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--trace-children=yes"]
    done = subprocess.run(
        [*valgrind, "--cachegrind-out-file=/dev/null", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} exited {done.returncode}:\n{done.stderr[-2000:]}")
    started = list(dict.fromkeys(re.findall(r"^==(\d+)==", done.stderr, re.M)))
    counts = dict(re.findall(r"^==(\d+)== I\s+refs:\s+([\d,]+)", done.stderr, re.M))
    return [int(counts[pid].replace(",", "")) for pid in started if pid in counts]


def excelfmt(src: str | None, book: Path, url: str) -> list[int]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed by pip: modules compiled once
    if src:
        env["PYTHONPATH"] = src
    command = [sys.executable, "-m", "excelfmt", "run", str(book), "--url", url, "--json"]
    command += ["--concurrency", str(CONCURRENCY), "--min-concurrency", str(CONCURRENCY)]
    command += ["--output", str(book.with_suffix(".results.xlsx"))]
    counts = instructions(command, env)
    book.with_suffix(".results.xlsx").unlink(missing_ok=True)
    return counts


def aiohttp(url: str, requests: int) -> list[int]:
    client = [sys.executable, str(HERE / "clients.py"), "aiohttp", url, str(requests)]
    return instructions([*client, str(CONCURRENCY)], dict(os.environ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--src", action="append", help="a checkout's src folder to run")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    sources: list[str | None] = args.src or [None]
    books = {rows: orders_book(rows) for rows in (FIXED_ROWS, args.rows)}
    server, urls = start_servers([0])
    found: dict[str, list[tuple[list[int], list[int]]]] = {}
    try:
        for src in sources:  # a warm-up: a fresh checkout's first run compiles its modules
            env = {**os.environ, "PYTHONPATH": src or ""}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            book = books[FIXED_ROWS]
            command = [sys.executable, "-m", "excelfmt", "run", str(book), "--url", urls[0]]
            output = ["--output", str(book.with_suffix(".results.xlsx")), "--quiet"]
            subprocess.run([*command, *output], env=env, check=True)
        for _ in range(args.rounds):
            found.setdefault("aiohttp", []).append(
                (aiohttp(urls[0], FIXED_ROWS), aiohttp(urls[0], args.rows))
            )
            for src in sources:
                small = excelfmt(src, books[FIXED_ROWS], urls[0])
                whole = excelfmt(src, books[args.rows], urls[0])
                found.setdefault(src or "excelfmt", []).append((small, whole))
    finally:
        server.terminate()
        server.wait(10)
    base = statistics.median(sum(run) for _, run in found["aiohttp"]) / args.rows
    print(f"| sender | instructions per row ({args.rows:,} rows) | ÷ aiohttp "
          "| sending, workbook process | fixed (a 10-row run) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for name, runs in found.items():
        whole = statistics.median(sum(run) for _, run in runs) / args.rows
        fixed = statistics.median(sum(small) for small, _ in runs)
        parts = "-"
        if name != "aiohttp":
            parent, child = (statistics.median(run[i] for _, run in runs) for i in (0, 1))
            parts = f"{parent / args.rows / 1000:,.0f}k, {child / args.rows / 1000:,.0f}k"
        print(f"| {name} | {whole / 1000:,.0f}k | {whole / base:.2f} | {parts} "
              f"| {fixed / 1e6:,.0f}M |")  # fmt: skip


if __name__ == "__main__":
    main()
