"""Every run is a session in the store: recorded, listed, shown, secrets kept out."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path
from typing import Any

from .apiserver import Reply


def run_json(cli, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = cli("run", *args, "--json", env=env)
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_a_run_is_recorded_and_can_be_listed_and_shown(api, workbook, cli, tmp_path):
    book = workbook(["Id", "Name"], [[1, "a"], [2, "b"], [3, "c"]])
    api.respond = lambda got: Reply(422 if got.json["Id"] == 2 else 201, {"m": "bad"})

    summary = run_json(cli, str(book), "--url", api.url)

    session_id = summary["session"]
    assert len(session_id) == 8
    listed = json.loads(cli("sessions", "list", "--json").stdout)
    assert [s["id"] for s in listed] == [session_id]
    assert listed[0]["state"] == "finished"
    assert listed[0]["summary"]["ok"] == 2 and listed[0]["summary"]["failed"] == 1
    shown = json.loads(cli("sessions", "show", session_id[:3], "--json").stdout)
    assert shown["input"] == str(book.resolve()) and shown["sheet"] == "Sheet1"
    assert shown["fingerprint"] == "sha256:" + hashlib.sha256(book.read_bytes()).hexdigest()
    assert shown["settings"]["url"] == api.url
    assert shown["finished_at"] is not None


def test_sessions_list_and_show_read_as_tables(api, workbook, cli):
    book = workbook(["Id"], [[1]])
    session_id = run_json(cli, str(book), "--url", api.url)["session"]

    listing = cli("sessions", "list").stdout
    assert session_id in listing and "input.xlsx" in listing and "finished" in listing
    shown = cli("sessions", "show", session_id).stdout
    assert "fingerprint" in shown and "sha256:" in shown and api.url in shown


def test_newest_session_is_listed_first(api, workbook, cli):
    book = workbook(["Id"], [[1]])
    first = run_json(cli, str(book), "--url", api.url)["session"]
    second = run_json(cli, str(book), "--url", api.url, "--limit", "1")["session"]

    listed = json.loads(cli("sessions", "list", "--json").stdout)
    assert {s["id"] for s in listed} == {first, second}
    assert listed[0]["started_at"] >= listed[1]["started_at"]


def test_a_run_stopped_by_refused_credentials_is_recorded_as_stopped(api, workbook, cli):
    book = workbook(["Id"], [[n] for n in range(10)])
    api.respond = lambda got: Reply(401, {"error": "bad token"})

    summary = run_json(cli, str(book), "--url", api.url, "--concurrency", "1")

    assert summary["exit_code"] == 3
    shown = json.loads(cli("sessions", "show", summary["session"], "--json").stdout)
    assert shown["state"] == "stopped" and shown["summary"]["stopped"]
    again = cli("run", str(book), "--url", api.url, "--concurrency", "1")  # as cron sees it
    assert again.exit_code == 3
    assert "To send the rest: excelfmt run --resume " in again.stdout


def test_secrets_never_reach_the_store(api, workbook, cli, tmp_path):
    book = workbook(["Id"], [[1]])
    secret = "tok-very-secret-4711"
    api.respond = lambda got: Reply(400, {"echo": got.headers.get("Authorization")})

    run_json(
        cli,
        str(book),
        "--url",
        api.url,
        "--auth-env",
        "ORDERS_TOKEN",
        "--header",
        f"X-Api-Key: {secret}-2",
        env={"ORDERS_TOKEN": secret},
    )

    files = [p for p in (tmp_path / "home").rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert secret.encode() not in path.read_bytes(), path


def test_the_store_is_readable_by_its_owner_only(api, workbook, cli, tmp_path):
    book = workbook(["Id"], [[1]])
    run_json(cli, str(book), "--url", api.url)

    home = tmp_path / "home"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in home.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))


def test_store_flag_overrides_the_home_folder(api, workbook, cli, tmp_path):
    book = workbook(["Id"], [[1]])
    elsewhere = tmp_path / "elsewhere"

    session_id = run_json(cli, str(book), "--url", api.url, "--store", str(elsewhere))["session"]

    assert json.loads(cli("sessions", "list", "--json").stdout) == []
    listed = json.loads(cli("sessions", "list", "--json", "--store", str(elsewhere)).stdout)
    assert [s["id"] for s in listed] == [session_id]


def test_unknown_and_ambiguous_ids_are_one_clear_sentence(api, workbook, cli, tmp_path: Path):
    empty = cli("sessions", "list")
    assert empty.exit_code == 0 and "No sessions recorded yet" in empty.stdout
    book = workbook(["Id"], [[1]])
    ids = {run_json(cli, str(book), "--url", api.url)["session"] for _ in range(20)}

    unknown = cli("sessions", "show", "zzzz")
    assert unknown.exit_code == 2
    assert "No session 'zzzz'" in unknown.output and "Traceback" not in unknown.output
    # With 20 random ids, some first hex digit is shared by two of them.
    shared = next(d for d in "0123456789abcdef" if sum(i.startswith(d) for i in ids) > 1)
    ambiguous = cli("sessions", "show", shared)
    assert ambiguous.exit_code == 2 and "ambiguous" in ambiguous.output


def test_the_store_finds_runs_by_file_and_indexes_a_store_from_before_its_index(tmp_path):
    import shutil

    from excelfmt.store.folder import Store
    from excelfmt.store.records import Session

    def recorded(n: int, fingerprint: str, sheet: str = "Sheet1") -> Session:
        started = f"2026-12-0{n}T10:00:00+00:00"
        return Session(f"s{n}", "in.xlsx", fingerprint, sheet, {}, started, 1, "finished")

    home = tmp_path / "home"
    with Store(home) as store:
        for session in (recorded(1, "A"), recorded(3, "B"), recorded(2, "A", "Other")):
            store.save(session)
        assert [s.id for s in store.sessions()] == ["s3", "s2", "s1"]
        assert [s.id for s in store.sessions("A")] == ["s2", "s1"]
        assert [s.id for s in store.sessions("A", "Sheet1")] == ["s1"]
        store.save(recorded(3, "B"))  # saved again as it progresses: listed once
        assert [s.id for s in store.sessions()] == ["s3", "s2", "s1"]

    shutil.rmtree(home / "session-index")  # a store kept by a version without the index
    with Store(home) as store:
        assert [s.id for s in store.sessions()] == ["s3", "s2", "s1"]
        store.delete_session("s2")
        assert [s.id for s in store.sessions("A")] == ["s1"]
    with Store(home) as store:
        assert store.session_or_latest(None).id == "s3"
