"""Interrupted runs resume: nothing settled is sent twice, nothing is lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from .apiserver import Reply


def start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "excelfmt", *args],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
    )


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def sessions(cli: Any) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(cli("sessions", "list", "--json").stdout)
    return listed


def test_killed_again_and_again_a_run_resumes_until_every_row_succeeded_once(api, workbook, cli):
    rows = 300
    book = workbook(["N"], [[n] for n in range(rows)])
    api.respond = lambda got: Reply(201, {"n": got.json["N"]}, delay=0.02)
    command = ["run", str(book), "--url", api.url, "--concurrency", "6", "--json"]
    rng = random.Random(7)
    session_id: str | None = None
    stops = 0
    used: set[signal.Signals] = set()
    for _ in range(40):
        run = start(command + (["--resume", session_id] if session_id else []))
        sent_before = len(api.received)
        # Stop it at a random moment while it sends (or let the last one finish).
        wait_for(
            lambda run=run, sent=sent_before: len(api.received) > sent or run.poll() is not None
        )
        time.sleep(rng.uniform(0.05, 0.4))
        if run.poll() is None:
            how = (signal.SIGKILL, signal.SIGINT, signal.SIGTERM)[stops % 3]
            used.add(how)
            if how == signal.SIGINT:  # Ctrl-C: the terminal signals the whole group
                os.killpg(run.pid, how)
            else:
                run.send_signal(how)
            stops += 1
        out, err = run.communicate(timeout=30)
        assert "Traceback" not in err
        if session_id is None:
            session_id = sessions(cli)[0]["id"]
        if run.returncode == 0:
            break
        if run.returncode == 130:  # SIGTERM, Ctrl-C: what was in flight finished, recorded
            interrupted = json.loads(out)
            assert interrupted["interrupted"] and interrupted["session"] == session_id
    else:
        raise AssertionError("the run never finished")

    assert len(used) == 3, "the test should have stopped the run in each of the three ways"
    summary = json.loads(out)
    assert summary["session"] == session_id and summary["ok"] == rows
    assert 0 < summary["resumed"] <= rows  # a kill while saving leaves nothing to send
    # Every row reached the API and succeeded; a row sent twice was in flight when a
    # process was killed, and it carried the same Idempotency-Key both times.
    keys: dict[int, set[str]] = defaultdict(set)
    for got in api.received:
        keys[got.json["N"]].add(got.headers["Idempotency-Key"])
    assert sorted(keys) == list(range(rows))
    assert all(len(k) == 1 for k in keys.values())
    resent = len(api.received) - rows
    assert resent <= stops * 6  # at most what was in flight at each stop
    results = load_workbook(book.with_name("input.results.xlsx"))["Results"]
    values = list(results.iter_rows(min_row=2, values_only=True))
    assert [v[0] for v in values] == list(range(rows))
    assert {v[1] for v in values} == {"ok"}


def test_resume_sends_only_what_the_first_run_did_not_settle(api, workbook, cli):
    book = workbook(["N"], [[n] for n in range(6)])
    # The first run: rows 0-2 succeed, row 3 needs a person, rows 4-5 meet an outage.
    api.respond = lambda got: Reply(
        {3: 422, 4: 503, 5: 503}.get(got.json["N"], 201), {"detail": "no"}
    )
    first = cli(
        "run", str(book), "--url", api.url, "--json", "--retries", "0", "--concurrency", "1"
    )
    session_id = json.loads(first.stdout)["session"]
    api.received.clear()
    api.respond = lambda got: Reply(201, {"n": got.json["N"]})

    second = cli("run", "--resume", session_id, "--url", api.url, "--json")

    summary = json.loads(second.stdout)
    assert summary["session"] == session_id
    assert sorted(got.json["N"] for got in api.received) == [4, 5]  # only the temporary failures
    assert summary["rows"] == 6 and summary["resumed"] == 4
    assert summary["categories"] == {"REQUIRES_USER_ACTION": 1} and second.exit_code == 1
    results = load_workbook(book.with_name("input.results.xlsx"))["Results"]
    statuses = [row[1] for row in results.iter_rows(min_row=2, values_only=True)]
    assert statuses == ["ok", "ok", "ok", "REQUIRES_USER_ACTION", "ok", "ok"]
    assert sessions(cli)[0]["state"] == "finished"


def test_a_changed_file_is_not_resumed(api, workbook, cli):
    book = workbook(["N"], [[1], [2]])
    session_id = json.loads(cli("run", str(book), "--url", api.url, "--json").stdout)["session"]
    workbook(["N"], [[1], [2], [3]])  # the same path, other content

    result = cli("run", str(book), "--url", api.url, "--resume", session_id)

    assert result.exit_code == 2
    assert "content differs" in result.output and "Traceback" not in result.output


def test_a_session_runs_in_one_process_at_a_time(api, workbook, cli, tmp_path: Path):
    book = workbook(["N"], [[n] for n in range(100)])
    api.respond = lambda got: Reply(201, {}, delay=0.5)
    run = start(["run", str(book), "--url", api.url, "--concurrency", "2", "--json"])
    try:
        wait_for(lambda: len(api.received) >= 1)
        busy = sessions(cli)[0]

        second = cli("run", str(book), "--url", api.url, "--resume", busy["id"])

        assert second.exit_code == 2
        assert f"pid {run.pid}" in second.output
    finally:
        run.kill()
        run.communicate(timeout=30)


def _stopped_by_refused_credentials(api, book, cli, *flags):
    """A run that stops early (exit 3): the API refuses every request until told."""
    api.respond = lambda got: Reply(401, {"message": "invalid token"})
    first = cli("run", str(book), *flags, "--json")
    assert first.exit_code == 3, first.output
    return json.loads(first.stdout)["session"]


def test_resume_from_the_session_id_alone_sends_the_rest_as_the_first_run_did(
    api, workbook, cli, monkeypatch
):
    book = workbook(["Order", "Amount"], [[n, n * 10] for n in range(1, 21)])
    monkeypatch.setenv("ORDERS_TOKEN", "t0ken-value")
    session_id = _stopped_by_refused_credentials(
        api,
        book,
        cli,
        *("--url", api.url + "/orders/{Order}", "--method", "PUT"),
        *("--header", "X-Team: ops", "--auth-env", "ORDERS_TOKEN", "--concurrency", "2"),
        *("--body", '{"amount": "{Amount}"}', "--output", "out.jsonl"),
    )
    sent_before = len(api.received)
    api.respond = lambda got: Reply(200, {"ok": True})

    resumed = cli("run", "--resume", session_id, "--json")

    assert resumed.exit_code == 0, resumed.output
    assert "differ" not in resumed.stderr  # nothing was given again, nothing differs
    summary = json.loads(resumed.stdout)
    assert summary["session"] == session_id and summary["rows"] == 20 and summary["ok"] == 20
    sent = api.received[sent_before:]
    assert sorted(r.path for r in sent) == sorted(f"/orders/{n}" for n in range(1, 21))
    assert {r.method for r in sent} == {"PUT"}
    assert {r.headers["X-Team"] for r in sent} == {"ops"}
    assert {r.headers["Authorization"] for r in sent} == {"Bearer t0ken-value"}
    assert sorted(r.json["amount"] for r in sent) == [n * 10 for n in range(1, 21)]
    assert len(Path("out.jsonl").read_text().splitlines()) == 20


def test_a_resume_says_which_settings_differ_and_needs_the_same_secrets(
    api, workbook, cli, monkeypatch
):
    book = workbook(["N"], [[n] for n in range(10)])
    monkeypatch.setenv("ORDERS_TOKEN", "t0ken-value")
    session_id = _stopped_by_refused_credentials(
        api, book, cli, "--url", api.url, "--auth-env", "ORDERS_TOKEN", "--concurrency", "2"
    )
    api.respond = lambda got: Reply(201, {})

    monkeypatch.delenv("ORDERS_TOKEN")
    missing = cli("run", "--resume", session_id)
    assert missing.exit_code == 2
    assert "ORDERS_TOKEN" in missing.stderr and "t0ken" not in missing.output

    monkeypatch.setenv("ORDERS_TOKEN", "t0ken-value")
    changed = cli("run", "--resume", session_id, "--concurrency", "3", "--json")
    assert changed.exit_code == 0, changed.output
    assert f"resuming session {session_id} with settings that differ" in changed.stderr
    assert "concurrency 3 (was 2)" in changed.stderr and "t0ken" not in changed.stderr


def test_the_hint_after_a_stopped_run_is_the_whole_command(api, workbook, cli):
    book = workbook(["N"], [[n] for n in range(10)])
    api.respond = lambda got: Reply(401, {"message": "invalid token"})
    stopped = cli("run", str(book), "--url", api.url)
    assert stopped.exit_code == 3
    session_id = sessions(cli)[0]["id"]
    assert f"To send the rest: excelfmt run --resume {session_id} (" in stopped.output
    elsewhere = cli("run", str(book), "--url", api.url, "--store", "other-store")
    assert f"excelfmt run --resume {sessions_in(cli, 'other-store')[0]['id']} --store " in (
        elsewhere.output
    )


def sessions_in(cli: Any, store: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(
        cli("sessions", "list", "--json", "--store", store).stdout
    )
    return listed
