"""How long commands take to start, against a bare `python -c pass` measured in the same run.

    python benchmarks/startup.py [--runs 21] [--src /tmp/old/src]

Runs each command `--runs` times, interleaved round by round (a busy second then hits
every command alike, not one), and takes the median wall time. The store is a small one
made here: one session of 200 rows with a few that need a person, so `status`,
`sessions list` and `errors list` read what they would on a user's machine. Prints each
command's median and its distance from bare Python beside the ceiling the project holds
(docs/performance.md): 0.1 s for --version and --help, 0.2 s for the commands that read
the store.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.workbook import orders_book  # noqa: E402

CEILINGS = {
    "--version": 0.1,
    "--help": 0.1,
    "status": 0.2,
    "sessions list": 0.2,
    "errors list": 0.2,
}
"""Seconds a command may take beyond bare Python's start."""


def small_store(folder: Path) -> dict[str, str]:
    """An environment whose store holds one finished run with failed rows."""
    env = {**os.environ, "EXCELFMT_HOME": str(folder / "home"), "NO_COLOR": "1"}
    # As installed by pip: modules compiled once, not at every start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    server = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().split("=")[1].strip()
        book = orders_book(200)
        # The API answers 201, which this run counts as a refusal: the store keeps 200
        # rows that need a person, as a run against a strict API would.
        subprocess.run(
            [
                str(Path(sys.executable).with_name("excelfmt")),
                "run",
                str(book),
                "--url",
                f"http://127.0.0.1:{port}/orders",
                "--status-rule",
                "201=REQUIRES_USER_ACTION",
                "--output",
                str(folder / "results.xlsx"),
                "--quiet",
            ],
            env=env,
            check=False,  # exit code 1: rows need a person, as planned
        )
    finally:
        server.terminate()
        server.wait(10)
    return env


def median_times(
    commands: dict[str, list[str]], runs: int, env: dict[str, str]
) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(found) for name, found in times.items()}


def measure(runs: int, src: str | None = None) -> dict[str, dict[str, float]]:
    excelfmt = str(Path(sys.executable).with_name("excelfmt"))
    with tempfile.TemporaryDirectory() as folder:
        env = small_store(Path(folder))
        if src:  # another checkout's code, with this environment's packages
            env["PYTHONPATH"] = src
        commands = {"python -c pass": [sys.executable, "-c", "pass"]}
        commands |= {name: [excelfmt, *name.split()] for name in CEILINGS}
        medians = median_times(commands, runs, env)
    bare = medians.pop("python -c pass")
    return {
        name: {"median_s": seconds, "beyond_python_s": seconds - bare, "ceiling_s": CEILINGS[name]}
        for name, seconds in medians.items()
    } | {"python -c pass": {"median_s": bare, "beyond_python_s": 0.0, "ceiling_s": 0.0}}


def table(figures: dict[str, dict[str, float]]) -> str:
    lines = [
        "| command | median | beyond `python -c pass` | ceiling | met |",
        "|---|---:|---:|---:|---|",
    ]
    for name, f in figures.items():
        if name == "python -c pass":
            lines.append(f"| `python -c pass` | {f['median_s'] * 1000:.0f} ms | | | |")
            continue
        met = "yes" if f["beyond_python_s"] <= f["ceiling_s"] else "**no**"
        lines.append(
            f"| `excelfmt {name}` | {f['median_s'] * 1000:.0f} ms "
            f"| {f['beyond_python_s'] * 1000:.0f} ms | {f['ceiling_s'] * 1000:.0f} ms | {met} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--src", help="a checkout's src folder to run instead of this one")
    args = parser.parse_args()
    figures = measure(args.runs, args.src)
    print(json.dumps(figures, indent=2))
    print(table(figures))


if __name__ == "__main__":
    main()
