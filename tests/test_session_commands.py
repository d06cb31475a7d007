"""status, logs, sessions prune and --resume auto, from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from .apiserver import Received, Reply
from .conftest import on_a_terminal
from .test_resume import sessions, start, wait_for

TOKEN = "tok-7f1c9e2a-never-in-logs"


def test_status_tells_how_a_run_goes_from_another_terminal_and_that_it_crashed(api, workbook, cli):
    book = workbook(["N"], [[n] for n in range(100)])
    api.respond = lambda got: Reply(201, {}, delay=0.3)
    run = start(
        ["run", str(book), "--url", api.url, "--concurrency", "2", "--min-concurrency", "2", "-q"]
    )
    try:
        wait_for(lambda: len(api.received) >= 8)
        session_id = sessions(cli)[0]["id"]
        # The first record may be the run's start (nothing done yet): wait for rows.
        wait_for(
            lambda: json.loads(cli("status", session_id, "--json").stdout)["progress"].get("done")
        )
        status = json.loads(cli("status", session_id, "--json").stdout)
        assert status["state"] == "running" and status["pid"] == run.pid
        progress = status["progress"]
        assert 0 < progress["done"] < 100 and progress["estimated_rows"] == 100
        assert progress["in_flight"] <= 2 and progress["breaker"] == "closed"
        line = cli("status", session_id).stdout
        assert f"running (pid {run.pid})" in line and "of about 100 rows" in line
    finally:
        run.send_signal(signal.SIGKILL)
        run.communicate()
    assert "crashed" in cli("status", session_id).stdout
    assert sessions(cli)[0]["state"] == "crashed"
    # The rows in flight at the kill have no recorded outcome: they are shown as unknown.
    unknown = json.loads(cli("status", session_id, "--json").stdout)["unknown_outcome"]
    assert 1 <= len(unknown) <= 2
    assert "Unknown outcome: " in cli("status", session_id).stdout
    assert "unknown outcome" in cli("sessions", "show", session_id).stdout

    # The same file again, under cron: a new run unless told to resume it.
    resumed = cli("run", str(book), "--url", api.url, "--resume", "auto", "--json")
    assert resumed.exit_code == 0, resumed.output
    summary = json.loads(resumed.stdout)
    assert summary["session"] == session_id and summary["resumed"] > 0
    assert "finished" in cli("status", session_id).stdout
    assert json.loads(cli("status", session_id, "--json").stdout)["unknown_outcome"] == []
    # Those rows were sent again, with the Idempotency-Key they had the first time.
    for number in unknown:
        keys = {r.headers["Idempotency-Key"] for r in api.received if r.json["N"] == number - 2}
        assert len(keys) == 1


def stopped_halfway(api: Any, workbook: Any, cli: Any) -> tuple[Path, str]:
    """A run of 20 rows stopped (exit 3) by an outage from row 10 on: book, session id."""
    book = workbook(["N"], [[n] for n in range(20)])
    api.respond = lambda got: Reply(503 if got.json["N"] >= 10 else 201, {})
    stopped = cli(
        "run", str(book), "--url", api.url, "--concurrency", "1", "--breaker-min-calls", "5",
        "--breaker-window", "5", "--max-outage", "0.2", "--json",
    )  # fmt: skip
    assert stopped.exit_code == 3, stopped.output
    return book, json.loads(stopped.stdout)["session"]


def test_a_new_run_on_an_unfinished_files_mentions_it(api, workbook, cli):
    book, session_id = stopped_halfway(api, workbook, cli)

    api.respond = lambda got: Reply(201, {})
    fresh = cli("run", str(book), "--url", api.url)
    assert f"--resume {session_id}" in fresh.stderr and "this is a new run" in fresh.stderr
    new_id = json.loads(cli("sessions", "list", "--json").stdout)[0]["id"]
    assert new_id != session_id
    # Off a terminal the new session's id comes first, to follow it with `status`.
    assert f"session {new_id}: sending input.xlsx" in fresh.stderr
    assert f"excelfmt status {new_id}" in fresh.stderr


def test_sending_a_file_already_sent_in_full_says_so_and_sends_it_again(api, workbook, cli):
    book = workbook(["N"], [[1], [2]])
    first = cli("run", str(book), "--url", api.url, "--json")
    session_id = json.loads(first.stdout)["session"]

    again = cli("run", str(book), "--url", api.url)

    assert again.exit_code == 0 and len(api.received) == 4
    note = f"excelfmt: note: session {session_id} sent this very file in full on "
    assert note in again.stderr and "(2 rows, 2 ok); sending it again" in again.stderr
    # Unchanged requests, unchanged keys: the API can tell the second sending apart.
    keys = [r.headers["Idempotency-Key"] for r in api.received]
    assert sorted(keys[:2]) == sorted(keys[2:]) and len(set(keys)) == 2
    # A changed file is another input: nothing to say.
    changed = workbook(["N"], [[1], [3]])
    assert "note:" not in cli("run", str(changed), "--url", api.url).stderr


def flaky_and_strict(got: Received) -> Reply:
    """Row 2 is refused; row 3 fails once, then succeeds."""
    n = got.json["N"]
    if n == 2:
        return Reply(422, {"detail": f"bad N {n}"})
    if n == 3 and not getattr(flaky_and_strict, "seen", False):
        flaky_and_strict.seen = True  # type: ignore[attr-defined]
        return Reply(503, {"detail": "busy"})
    return Reply(201, {})


def test_logs_show_failures_and_retries_filtered_by_level_and_row(api, workbook, cli, monkeypatch):
    monkeypatch.setenv("API_TOKEN", TOKEN)
    book = workbook(["N"], [[n] for n in range(6)])
    api.respond = flaky_and_strict
    run = cli(
        "run", str(book), "--url", api.url, "--json", "--retry-wait", "0.01",
        "--auth-env", "API_TOKEN",
    )  # fmt: skip
    session_id = json.loads(run.stdout)["session"]

    lines = [json.loads(x) for x in cli("logs", session_id, "--json").stdout.splitlines()]
    events = [(x["level"], x["event"], x.get("row")) for x in lines]
    assert events[0] == ("INFO", "run started", None)
    assert ("INFO", "retrying", 5) in events  # row 3 of the data is sheet row 5
    assert ("INFO", "row succeeded after retries", 5) in events
    assert ("WARNING", "row failed", 4) in events
    assert events[-1][:2] == ("INFO", "run finished")

    warnings = cli("logs", session_id, "--level", "warning").stdout.splitlines()
    assert len(warnings) == 1 and "row 4: row failed" in warnings[0] and "bad N 2" in warnings[0]
    about_row = cli("logs", session_id, "--row", "5").stdout
    assert "retrying" in about_row and "row 4" not in about_row
    assert cli("logs", session_id, "--level", "loud").exit_code == 2
    assert TOKEN not in cli("logs", session_id, "--json").stdout


def test_prune_deletes_old_sessions_with_everything_they_kept(api, workbook, cli, tmp_path):
    book = workbook(["N"], [[1], [2]])
    api.respond = lambda got: Reply(422 if got.json["N"] == 2 else 201, {})
    for _ in range(2):
        cli("run", str(book), "--url", api.url, "--quiet")
    assert len(sessions(cli)) == 2

    kept = json.loads(cli("sessions", "prune", "--older-than", "30d", "--json").stdout)
    assert kept["sessions"] == [] and len(sessions(cli)) == 2
    would = cli("sessions", "prune", "--older-than", "0s", "--dry-run")
    assert "Would delete 2 sessions" in would.stdout and len(sessions(cli)) == 2

    pruned = cli("sessions", "prune", "--older-than", "0s")
    assert "Deleted 2 sessions older than 0s and their 2 errors" in pruned.stdout
    assert sessions(cli) == []
    assert json.loads(cli("errors", "list", "--json", "--state", "all").stdout) == []
    home = tmp_path / "home"
    assert list((home / "journals").iterdir()) == [] and list((home / "logs").iterdir()) == []
    assert cli("sessions", "prune", "--older-than", "soon").exit_code == 2


def test_on_a_terminal_a_run_on_an_unfinished_file_offers_to_resume_it(api, workbook, cli):
    book, session_id = stopped_halfway(api, workbook, cli)
    api.respond = lambda got: Reply(201, {})
    api.received.clear()

    run, controller = on_a_terminal("run", str(book), "--url", api.url)
    seen = b""
    while b"Resume it" not in seen:
        seen += os.read(controller, 1024)
    assert f"Session {session_id} on this file stopped after".encode() in seen
    os.write(controller, b"y\n")
    assert run.wait(30) == 0
    os.close(controller)
    assert sorted(r.json["N"] for r in api.received) == list(range(10, 20))
    assert json.loads(cli("sessions", "show", session_id, "--json").stdout)["state"] == "finished"


def test_resume_auto_needs_nothing_but_the_file(api, workbook, cli):
    book, session_id = stopped_halfway(api, workbook, cli)
    api.respond = lambda got: Reply(201, {})
    resumed = cli("run", str(book), "--resume", "auto", "--json")
    assert resumed.exit_code == 0, resumed.output
    summary = json.loads(resumed.stdout)
    assert summary["session"] == session_id and summary["rows"] == 20 and summary["ok"] == 20


def test_commands_piped_into_head_end_quietly(api, workbook, cli):
    """`excelfmt logs ID | head -1`: the reader leaves early; no bug report, no noise."""
    book = workbook(["N"], [[n] for n in range(600)])
    api.respond = lambda got: Reply(422, {"message": f"refused {got.json['N']} " + "x" * 200})
    session = json.loads(cli("run", str(book), "--url", api.url, "--json").stdout)["session"]
    for command in (["logs", session], ["errors", "list", "--all"], ["errors", "list", "--json"]):
        reader = subprocess.Popen(
            [sys.executable, "-m", "excelfmt", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert reader.stdout is not None and reader.stderr is not None
        assert reader.stdout.readline()
        reader.stdout.close()  # as head does after its line
        stderr = reader.stderr.read()
        reader.stderr.close()
        # 141 as for git or grep (128 + SIGPIPE) when excelfmt sees the pipe close; a
        # last write that the closing reader cut short may go unnoticed (then 0).
        assert reader.wait(30) in (0, 141), (command, stderr)
        assert stderr == "", command


def test_logs_follow_prints_a_running_sessions_lines_until_it_ends(api, workbook, cli):
    def respond(got: Received) -> Reply:
        return Reply(422 if got.json["N"] % 10 == 0 else 201, {"message": "refused"}, delay=0.05)

    api.respond = respond
    book = workbook(["N"], [[n] for n in range(60)])
    pinned = ["--concurrency", "2", "--min-concurrency", "2", "--json"]
    run = start(["run", str(book), "--url", api.url, *pinned])
    wait_for(lambda: bool(sessions(cli)) and sessions(cli)[0]["state"] == "running")
    session_id = sessions(cli)[0]["id"]

    follower = subprocess.run(
        [sys.executable, "-m", "excelfmt", "logs", session_id, "--follow"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.wait(30) == 1  # six rows refused
    assert run.stdout is not None and run.stderr is not None
    run.stdout.close()
    run.stderr.close()
    assert follower.returncode == 0, follower.stderr
    lines = follower.stdout.splitlines()
    assert "run started" in lines[0] and "run finished" in lines[-1]
    assert sum("row failed" in line for line in lines) == 6


def test_status_and_logs_without_an_id_are_about_the_latest_run(api, workbook, cli):
    nothing = cli("status")
    assert nothing.exit_code == 2 and "No runs are recorded in " in nothing.stderr

    cli("run", str(workbook(["N"], [[1], [2]], name="first.xlsx")), "--url", api.url)
    api.respond = lambda got: Reply(422, {"message": "no"})
    cli("run", str(workbook(["N"], [[1]], name="second.xlsx")), "--url", api.url)

    latest = sessions(cli)[0]["id"]
    status = cli("status")
    assert status.exit_code == 0
    assert f"Session {latest} (second.xlsx, sheet" in status.stdout
    assert ": 1 row, 0 ok, 1 failed." in status.stdout
    assert "row 2: row failed" in cli("logs").stdout
    queued = cli("status", "--queue", "redis://127.0.0.1:1/0")
    assert queued.exit_code == 2 and "status --queue needs the run's session id" in queued.stderr
