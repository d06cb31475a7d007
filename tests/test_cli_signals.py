"""Stopping a run: Ctrl-C and SIGTERM finish what is in flight, record it, exit 130."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from .apiserver import Reply


def start(args: list[str], **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "excelfmt", *args], text=True, **kwargs)


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_lets_requests_in_flight_finish_and_records_them(api, workbook, signum):
    book = workbook(["N"], [[n] for n in range(200)])
    api.respond = lambda got: Reply(201, {"n": got.json["N"]}, delay=0.3)
    run = start(
        ["run", str(book), "--url", api.url, "--concurrency", "5", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    wait_for(lambda: len(api.received) >= 5)
    run.send_signal(signum)
    out, err = run.communicate(timeout=30)

    assert run.returncode == 130, err
    summary = json.loads(out)
    assert summary["interrupted"] is True
    sent = len(api.received)
    assert summary["rows"] == sent < 200  # what was sent finished and was counted
    assert summary["ok"] == sent
    sheet = load_workbook(book.with_name("input.results.xlsx"))["Results"]
    assert sheet.max_row - 1 == sent
    assert "stopping, waiting for" in err and "Traceback" not in err


def test_second_signal_abandons_requests_in_flight(api, workbook):
    book = workbook(["N"], [[n] for n in range(50)])
    api.respond = lambda got: Reply(201, {}, delay=30)
    run = start(
        ["run", str(book), "--url", api.url, "--concurrency", "3", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    wait_for(lambda: len(api.received) >= 3)
    run.send_signal(signal.SIGINT)
    time.sleep(0.3)
    run.send_signal(signal.SIGINT)
    out, _ = run.communicate(timeout=20)

    assert run.returncode == 130
    assert json.loads(out)["rows"] == 0


def test_terminal_shows_the_live_dashboard_and_a_summary_table(api, workbook):
    book = workbook(["N"], [[n] for n in range(30)])
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    run = start(["run", str(book), "--url", api.url], stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    run.wait(30)
    os.close(primary)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))

    assert run.returncode == 0
    assert "Sending rows of input.xlsx" in screen
    assert "30 of ~30 (100%)" in screen and "rows/s" in screen and "finished" in screen
    assert "latency p50 / p90 / p99" in screen and "input.results.xlsx" in screen


def test_a_dead_workbook_process_is_reported_not_a_traceback(api, workbook):
    book = workbook(["N"], [[n] for n in range(100)])
    api.respond = lambda got: Reply(201, {}, delay=0.2)
    run = start(
        ["run", str(book), "--url", api.url, "--concurrency", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for(lambda: len(api.received) >= 2)
    children = Path(f"/proc/{run.pid}/task/{run.pid}/children").read_text().split()
    for child in children:
        os.kill(int(child), signal.SIGKILL)

    _, err = run.communicate(timeout=30)

    assert run.returncode == 1
    assert "workbook process stopped unexpectedly (killed by signal 9" in err
    assert "Traceback" not in err
