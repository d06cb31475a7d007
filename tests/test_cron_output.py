"""Output for cron and logs: plain progress lines at an interval, no escape codes."""

from __future__ import annotations

import io
import os
from pathlib import Path

from excelfmt.metrics.counters import Snapshot
from excelfmt.policies.resilience import LiveState
from excelfmt.sending.events import RunInfo
from excelfmt.ui.live import PlainView

from .apiserver import Reply
from .conftest import on_a_terminal

LIVE = LiveState(8, 8, "closed", 3, 0, 0, 8, False)


def snapshot(done: int) -> Snapshot:
    return Snapshot(done, done - 1, {"SYSTEM_ERROR": 1}, 10.0, done / 10, 0.05, 0.06, 0.07)


def test_a_progress_line_every_interval_on_a_fake_clock():
    now = [0.0]
    out = io.StringIO()
    view = PlainView(out, announce=True, every=60, clock=lambda: now[0])
    view.started(RunInfo(Path("o.xlsx"), "Orders", ("N",), 1000, Path("o.results.xlsx"), 8))
    for second in range(0, 200, 10):  # progress events every 10 s for 200 s
        now[0] = float(second)
        view.progressed(snapshot(second * 5), LIVE)
    lines = out.getvalue().splitlines()  # (no start line: the run has no session)
    assert lines == [
        "excelfmt: 300 of about 1,000 rows (30%), 299 ok, 1 failed, 30 rows/s, "
        "8 in flight (limit 8), 3 retries",
        "excelfmt: 600 of about 1,000 rows (60%), 599 ok, 1 failed, 60 rows/s, "
        "8 in flight (limit 8), 3 retries",
        "excelfmt: 900 of about 1,000 rows (90%), 899 ok, 1 failed, 90 rows/s, "
        "8 in flight (limit 8), 3 retries",
    ]
    quiet = io.StringIO()
    never = PlainView(quiet, announce=True, every=0, clock=lambda: now[0])
    never.progressed(snapshot(5), LIVE)
    assert quiet.getvalue() == ""


def test_off_a_terminal_a_run_logs_progress_lines_when_asked(api, workbook, cli):
    api.respond = lambda got: Reply(201, {}, delay=0.05)
    book = workbook(["N"], [[n] for n in range(40)])
    pinned = ["--concurrency", "2", "--min-concurrency", "2"]
    asked = cli("run", str(book), "--url", api.url, *pinned, "--log-every", "0.2s")
    assert asked.exit_code == 0, asked.output
    lines = [line for line in asked.stderr.splitlines() if "of about 40 rows" in line]
    assert len(lines) >= 2 and "\x1b" not in asked.output
    default = cli("run", str(book), "--url", api.url, *pinned)
    assert "of about 40 rows" not in default.stderr  # a short run: only its summary


def test_a_dumb_terminal_gets_plain_lines_not_the_live_view(api, workbook):
    api.respond = lambda got: Reply(201, {})
    book = workbook(["N"], [[n] for n in range(5)])
    run, controller = on_a_terminal("run", str(book), "--url", api.url, env={"TERM": "dumb"})
    seen = b""
    while run.poll() is None or not seen.endswith(b"\n"):
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert run.wait(30) == 0
    os.close(controller)
    assert b"excelfmt: 5 rows, 5 ok" in seen and b"\x1b[" not in seen


def test_follow_reads_whole_lines_as_they_come_and_stops_when_the_run_ends(tmp_path):
    from excelfmt.store import runlog

    path = tmp_path / "log.jsonl"
    path.write_text('{"level": "INFO", "message": "run started"}\n{"level": "INF')
    writes = iter(['O", "message": "a row"}\n', '{"level": "INFO", "message": "run finished"}\n'])
    state = {"running": True}

    def sleep(seconds: float) -> None:  # the run writes while the follower waits
        try:
            with path.open("a") as log:
                log.write(next(writes))
        except StopIteration:
            state["running"] = False

    lines = list(runlog.follow(path, lambda: state["running"], sleep=sleep))
    assert [line["message"] for line in lines] == ["run started", "a row", "run finished"]
