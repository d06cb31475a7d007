"""The live dashboard: what a person at a terminal sees while a run goes."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time

import pyte
from rich.console import Console

from excelfmt.metrics.counters import Metrics
from excelfmt.metrics.timeline import Timeline
from excelfmt.models import Category, Outcome, Row
from excelfmt.policies.resilience import LiveState
from excelfmt.ui.dashboard import Board, render

from .apiserver import Reply
from .conftest import on_a_terminal

ROW = Row(0, 2, {})
LIVE = LiveState(
    64, 60, "open", 12, 3, 1, 64, False, rate=500, api_pace=420, breaker_open_for=7.2, pauses=2
)


def board() -> Board:
    """75 s of a run: 500 rows/s, some rows refused, some failed for now."""
    metrics = Metrics(started=0.0, timeline=Timeline(0.0, 1.7e9))
    for n in range(37_500):
        now = n / 500
        if n % 20 == 0:
            outcome = Outcome(
                ROW, Category.REQUIRES_USER_ACTION, 422, "email: not valid", None, 0.03
            )
        elif n % 97 == 0:
            outcome = Outcome(
                ROW, Category.TEMPORARY_FAILURE, 503, "Service Unavailable", None, 0.2
            )
        else:
            outcome = Outcome(ROW, None, 201, latency=0.04 + (n % 10) / 1000)
        metrics.record(outcome, now)
    return Board("orders.xlsx · session 3f2a", metrics.snapshot(75.0), LIVE, 60_000)


def screen(width: int) -> list[str]:
    with open(os.devnull, "w") as nowhere:
        console = Console(width=width, record=True, file=nowhere)
        console.print(render(board(), width))
    return console.export_text().splitlines()


def test_the_dashboard_fits_80_by_24_with_every_panel():
    lines = screen(80)
    text = "\n".join(lines)
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    assert "37,500 of ~60,000 (62%)" in text and "eta 0:00:45" in text
    assert "rows/s 500 now" in text
    assert "rows/s, last 60 s" in text and "█" in text
    assert " ok " in text and "49" in text  # p99 of 40-49 ms, the ok rows apart
    assert "201 " in text and "422 " in text and "requires" in text and "temporary" in text
    assert "in flight 60 of 64" in text and "cap 500/s, API 420/s" in text
    assert "breaker open, probe 7s" in text and "2 pauses, 3 x 429" in text
    assert "1,875 email: not valid" in text


def test_a_batched_run_shows_requests_per_second_beside_rows_and_still_fits():
    from dataclasses import replace

    batched = replace(board(), live=replace(LIVE, batch=200, requests=188, bisections=14))
    with open(os.devnull, "w") as nowhere:
        console = Console(width=80, record=True, file=nowhere)
        console.print(render(batched, 80))
    lines = console.export_text().splitlines()
    text = "\n".join(lines)
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    assert "rows/s 500 now" in text
    assert "2.5 overall   188 requests (batch 200), 14 narrowing" in text


def test_a_narrow_terminal_gets_the_panels_stacked_without_the_chart():
    lines = screen(60)
    text = "\n".join(lines)
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 60
    assert "rows/s, last" not in text
    assert "breaker open" in text and "37,500 of ~60,000" in text


def test_a_run_on_a_terminal_draws_the_dashboard(api, workbook):
    def respond(got):  # slow enough to watch; every tenth row refused
        if got.json["N"] % 10 == 0:
            return Reply(422, {"message": "N must not end in 0"}, delay=0.02)
        return Reply(201, {}, delay=0.02)

    api.respond = respond
    book = workbook(["N"], [[n] for n in range(600)])
    run, controller = on_a_terminal(
        "run", str(book), "--url", api.url, "--concurrency", "4", "--min-concurrency", "4"
    )
    frames = read_screen(run, controller)
    panels = ("rows/s, last", "latency, 10 s", "HTTP status, failures", "policies")
    whole = [f for f in frames if all(p in "\n".join(f) for p in (*panels, "N must not"))]
    assert whole, "the dashboard never showed while the run went"
    assert run.wait(30) == 1  # rows failed
    # Any one frame may fall between an answer and the next send (a busy CI machine):
    # what the run shows is judged over the frames it drew.
    texts = ["\n".join(frame) for frame in whole]
    assert any("of ~600" in text and "eta" in text for text in texts)
    assert any("in flight 4 of 4" in text for text in texts)
    assert any("requires" in text and "422" in text and "█" in text for text in texts)
    assert all(len(f) == 24 and max(len(line.rstrip()) for line in f) <= 80 for f in whole)


def read_screen(
    run: subprocess.Popen[bytes], controller: int, until: float = 60
) -> list[list[str]]:
    """Every frame the terminal showed until the process ended, as pyte saw them."""
    shown = pyte.Screen(80, 24)
    stream = pyte.ByteStream(shown)
    frames = []
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            stream.feed(chunk)
            frames.append(list(shown.display))
        elif run.poll() is not None:
            break
    os.close(controller)
    return frames


def test_status_watch_draws_the_dashboard_of_a_run_in_another_process(api, workbook):
    api.respond = lambda got: Reply(201, {}, delay=0.05)
    book = workbook(["N"], [[n] for n in range(200)])
    pinned = ["--concurrency", "2", "--min-concurrency", "2"]  # about 5 s
    running = subprocess.Popen(
        [sys.executable, "-m", "excelfmt", "run", str(book), "--url", api.url, *pinned],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert running.stderr is not None
    first = running.stderr.readline().decode()
    session = re.search(r"session (\w+):", first)
    assert session, first
    watcher, controller = on_a_terminal("status", session.group(1), "--watch")
    frames = read_screen(watcher, controller)
    running.communicate(timeout=30)  # (and closes its pipes)
    assert watcher.wait(30) == 0 and running.returncode == 0
    texts = ["\n".join(frame) for frame in frames]
    assert any("eta" in text and "in flight 2 of 2" in text for text in texts)  # mid-run
    last = texts[-1]
    assert "200 of ~200 (100%)" in last and "finished" in last and "rows/s, last" in last


def test_a_queued_run_shows_its_batches_and_workers(api, workbook, redis_server):
    api.respond = lambda got: Reply(201, {}, delay=0.02)
    book = workbook(["N"], [[n] for n in range(400)])
    run, controller = on_a_terminal(
        "run", str(book), "--url", api.url, "--queue", redis_server.url, "--batch-rows", "20",
        "--concurrency", "4", "--min-concurrency", "4",
    )  # fmt: skip
    frames = read_screen(run, controller)
    assert run.wait(30) == 0
    texts = ["\n".join(frame) for frame in frames]
    assert any("batches waiting or in work; 1 worker (" in text for text in texts)


def test_watch_off_a_terminal_prints_status_lines_until_the_run_ends(api, workbook, cli):
    book = workbook(["N"], [[n] for n in range(5)])
    assert cli("run", str(book), "--url", api.url).exit_code == 0
    listed = cli("sessions", "list", "--json")
    session = json.loads(listed.stdout)[0]["id"]
    watched = cli("status", session, "--watch")
    assert watched.exit_code == 0
    assert watched.stdout.count("\n") == 1 and "finished" in watched.stdout
    assert "\x1b[" not in watched.stdout
