"""`excelfmt serve`, route by route: a real server on a free port, a real API behind its
profile, the same store as the CLI (issue 22)."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from .apiserver import Reply
from .conftest import run_subprocess
from .serveserver import API_SECRET, Served, make_tokens, write_config

pytest.importorskip("fastapi")


@pytest.fixture
def served(api: Any, tmp_path: Path) -> Iterator[tuple[Served, str, str]]:
    tokens, operator, viewer = make_tokens(tmp_path)
    server = Served(tmp_path, write_config(tmp_path, api.url), tokens).start()
    yield server, operator, viewer
    server.stop()


def refuse_negative_amounts(got: Any) -> Reply:
    if got.json["Amount"] < 0:
        return Reply(422, {"errors": [{"field": "Amount", "message": "must be positive"}]})
    return Reply(201, {"id": got.json["Order"]})


def submit(server: Served, token: str, book: Path, **fields: str) -> Any:
    with server.client(token) as client, book.open("rb") as handle:
        return client.post(
            "/api/jobs",
            files={"file": (book.name, handle)},
            data={"profile": "orders", **fields},
        )


def test_a_job_posted_with_a_workbook_runs_as_the_cli_would(served, api, workbook):
    server, operator, viewer = served
    api.respond = refuse_negative_amounts
    book = workbook(["Order", "Amount"], [["A-1", 5], ["A-2", -3], ["A-3", 7]])

    started = submit(server, operator, book)
    assert started.status_code == 202, started.text
    session = started.json()["session"]
    assert started.json()["links"]["status"] == f"/api/jobs/{session}"
    status = server.wait_done(viewer, session)

    assert status["state"] == "finished", json.dumps(status)
    assert (status["summary"]["ok"], status["summary"]["failed"]) == (2, 1)
    # The profile's credential went with every row; the request named none.
    assert {r.headers["Authorization"] for r in api.received} == {f"Bearer {API_SECRET}"}
    # The same store as the CLI: `sessions list` shows the run started over HTTP.
    listed = run_subprocess("sessions", "list", "--json", "--store", str(server.folder / "store"))
    assert session in [s["id"] for s in json.loads(listed.stdout)]
    with server.client(viewer) as client:
        page = client.get("/api/sessions").json()
        assert page["total"] == 1 and page["sessions"][0]["id"] == session
        assert page["sessions"][0]["settings"]["profile"] == "orders"
        log = client.get(f"/api/logs/{session}").json()["lines"]
        assert any(line.get("by") == "olga" for line in log)  # who started it
        results = client.get(f"/api/sessions/{session}/results")
        assert results.status_code == 200
        sheet = load_workbook(io.BytesIO(results.content), read_only=True)["Results"]
        assert sum(1 for row in sheet.iter_rows(min_row=2, values_only=True) if row[2] == "ok") == 2
        report = client.get(f"/api/sessions/{session}/report")
        assert report.status_code == 200 and "<html" in report.text.lower()


def test_per_file_settings_choose_the_sheet_the_header_row_and_a_limit(served, api, workbook):
    server, operator, viewer = served
    book = workbook(["Code"], [["x1"], ["x2"], ["x3"]], sheet="Data", before=[["title"], []])
    started = submit(server, operator, book, sheet="data", header_row="3", limit="2")
    assert started.status_code == 202, started.text
    server.wait_done(viewer, started.json()["session"])
    assert sorted(r.json["Code"] for r in api.received) == ["x1", "x2"]


def test_errors_are_paged_resolved_reprocessed_and_cleared_over_http(served, api, workbook):
    server, operator, viewer = served
    api.respond = refuse_negative_amounts
    rows = [[f"A-{i}", -i if i % 2 else i] for i in range(1, 8)]  # 4 refused: 1, 3, 5, 7
    session = submit(server, operator, workbook(["Order", "Amount"], rows)).json()["session"]
    server.wait_done(viewer, session)

    with server.client(viewer) as reader, server.client(operator) as changer:
        first = reader.get(f"/api/errors/user-action/{session}", params={"limit": 3}).json()
        assert (first["total"], len(first["errors"])) == (4, 3)
        assert [e["row"] for e in first["errors"]] == [2, 4, 6]
        rest = reader.get(first["next"]).json()
        assert [e["row"] for e in rest["errors"]] == [8] and rest["next"] is None
        error = first["errors"][0]
        assert error["fields"] == [["Amount", "must be positive"]]

        fixed = changer.post(
            f"/api/errors/user-action/{error['id']}/reprocess", json={"record": {"Amount": 1}}
        )
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["state"] == "reprocessed"
        assert api.received[-1].json == {"Order": "A-1", "Amount": 1}  # the rest as stored

        other = first["errors"][1]["id"]
        closed = changer.post(
            f"/api/errors/user-action/{other}/resolve",
            json={"status": "resolved", "resolution": "cancelled by the customer"},
        )
        assert closed.json()["state"] == "resolved"
        assert closed.json()["note"] == "cancelled by the customer"
        again = changer.post(f"/api/errors/user-action/{other}/resolve", json={})
        assert again.status_code == 409 and "already resolved" in again.json()["detail"]

        counts = reader.get("/api/errors/summary", params={"session": session}).json()
        assert (counts["open"], counts["resolved"], counts["reprocessed"]) == (2, 1, 1)
        fix = reader.get(f"/api/sessions/{session}/fix")
        assert fix.status_code == 200 and fix.content[:2] == b"PK"

        cleared = changer.delete(f"/api/errors/user-action/{session}")
        assert cleared.json()["deleted"] == 4
        log = reader.get(f"/api/logs/{session}").json()["lines"]
    said = [line["event"] for line in log if line.get("by") == "olga"]
    assert {
        "row sent again over HTTP",
        "error resolved over HTTP",
        "errors cleared over HTTP",
    } <= set(said)


def html_saved_as_xlsx(folder: Path) -> Path:
    page = folder / "orders.xlsx"
    page.write_text("<html><body><table><tr><td>1</td></tr></table></body></html>")
    return page


def entity_bomb(folder: Path) -> Path:
    import zipfile

    from .conftest import CORPUS
    from .test_reader import LAUGHS

    bomb = folder / "bomb.xlsx"
    source = CORPUS / "readings_plain_table.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(bomb, "w") as copy:
        for name in original.namelist():
            data = original.read(name)
            if name == "xl/sharedStrings.xml":
                head, _, rest = data.partition(b"?>")
                data = head + b"?>" + LAUGHS + rest.replace(b"<sst ", b"<sst a='&a9;' ", 1)
            copy.writestr(name, data)
    return bomb


def zip_bomb(folder: Path) -> Path:
    from .test_hostile_xlsx import with_leading_whitespace

    return with_leading_whitespace(folder / "sparse.xlsx", 64 << 20)


def from_corpus(name: str) -> Any:
    def copy(folder: Path) -> Path:
        from .conftest import CORPUS

        target = folder / name
        target.write_bytes((CORPUS / name).read_bytes())
        return target

    return copy


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (html_saved_as_xlsx, "HTML"),
        (entity_bomb, "entity bomb"),
        (zip_bomb, "zip bomb"),
        (from_corpus("encrypted_aes.xlsx"), "password"),
        (from_corpus("corrupt_bad_crc.xlsx"), "damaged"),
    ],
)
def test_a_hostile_or_broken_file_gets_the_clis_sentence_and_leaves_nothing(
    served, api, tmp_path, make, said
):
    server, operator, viewer = served
    refused = submit(server, operator, make(tmp_path))

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert said in refused.json()["detail"]
    uploads = server.folder / "store" / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []
    with server.client(viewer) as client:
        assert client.get("/api/sessions").json()["total"] == 0
    assert api.received == []


def test_an_unknown_profile_or_id_is_a_404_with_a_sentence(served, workbook):
    server, operator, _viewer = served
    with server.client(operator) as client, workbook(["A"], [[1]]).open("rb") as handle:
        refused = client.post("/api/jobs", files={"file": ("a.xlsx", handle)},
                              data={"profile": "nope"})  # fmt: skip
        assert refused.status_code == 404
        assert refused.json()["detail"] == "No profile named 'nope' (this server offers: orders)."
        missing = client.get("/api/sessions/0123456789")
        assert missing.status_code == 404 and "No session" in missing.json()["detail"]
        assert client.get("/api/errors/ffffffffff").status_code == 404


def test_a_running_job_stops_as_on_ctrl_c_and_says_who_stopped_it(served, api, workbook):
    server, operator, viewer = served
    api.respond = lambda got: Reply(201, {}, delay=0.2)
    session = submit(server, operator, workbook(["Order"], [[i] for i in range(400)])).json()[
        "session"
    ]
    with server.client(operator) as client:
        while not api.received:
            time.sleep(0.02)
        stopped = client.post(f"/api/jobs/{session}/stop")
        assert stopped.status_code == 202
    status = server.wait_done(viewer, session)
    assert status["state"] == "interrupted"
    assert 0 < status["summary"]["rows"] < 400  # the requests in flight finished, no more


def test_the_openapi_document_lists_every_route(served):
    server, _operator, viewer = served
    with server.client(viewer) as client:
        document = client.get("/api/openapi.json").json()
    paths = document["paths"]
    for path, verb in [
        ("/api/sessions", "post"), ("/api/jobs", "post"), ("/api/jobs/{session_id}", "get"),
        ("/api/logs/{session_id}", "get"), ("/api/metrics/api", "get"),
        ("/api/metrics/worker-pool", "get"), ("/api/metrics/performance-test", "post"),
        ("/api/errors/summary", "get"), ("/api/errors/user-action/{session_id}", "get"),
        ("/api/errors/user-action/{error_id}/resolve", "post"),
        ("/api/errors/user-action/{error_id}/reprocess", "post"),
        ("/api/errors/user-action/{session_id}", "delete"),
    ]:  # fmt: skip
        assert verb in paths[path], (path, verb)


def test_a_run_started_over_http_outlives_a_restart_of_the_server(api, workbook, tmp_path):
    tokens, operator, viewer = make_tokens(tmp_path)
    config = write_config(tmp_path, api.url)
    api.respond = lambda got: Reply(201, {}, delay=0.05)
    first = Served(tmp_path, config, tokens).start()
    try:
        session = submit(first, operator, workbook(["Order"], [[i] for i in range(120)])).json()[
            "session"
        ]
    finally:
        first.stop()  # mid-run
    second = Served(tmp_path, config, tokens).start()
    try:
        status = second.wait_done(viewer, session)
    finally:
        second.stop()
    assert status["state"] == "finished" and status["summary"]["ok"] == 120


def test_metrics_add_up_the_runs_per_api_in_prometheus_format(served, api, workbook):
    from prometheus_client.parser import text_string_to_metric_families

    server, operator, viewer = served
    api.respond = refuse_negative_amounts
    rows = [[f"A-{i}", -1 if i < 3 else 1] for i in range(10)]  # 3 refused
    session = submit(server, operator, workbook(["Order", "Amount"], rows)).json()["session"]
    server.wait_done(viewer, session)
    with server.client(viewer) as client:
        text = client.get("/metrics").text
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    host = f"http://127.0.0.1:{api.port}"
    assert found[("excelfmt_rows_total", (("api", host), ("outcome", "ok")))] == 7
    refused = (("api", host), ("outcome", "requires_user_action"))
    assert found[("excelfmt_rows_total", refused)] == 3
    assert found[("excelfmt_requests_total", (("api", host), ("status_class", "4xx")))] == 3
    assert found[("excelfmt_request_duration_seconds_count", (("api", host),))] == 10
    assert session not in text and "A-1" not in text


def test_metrics_public_lets_a_scraper_in_without_a_token(api, tmp_path):
    tokens, _, _ = make_tokens(tmp_path)
    server = Served(tmp_path, write_config(tmp_path, api.url), tokens, "--metrics-public")
    server.start()
    try:
        with server.client() as anonymous:
            assert anonymous.get("/metrics").status_code == 200
            assert anonymous.get("/api/sessions").status_code == 401  # the rest stays shut
    finally:
        server.stop()


def test_the_performance_test_goes_to_the_profiles_url_with_its_credential(served, api):
    server, operator, _ = served
    with server.client(operator) as client:
        unsafe = client.post("/api/metrics/performance-test", json={"profile": "orders"})
        assert unsafe.status_code == 422 and "may change data there" in unsafe.json()["detail"]
        done = client.post(
            "/api/metrics/performance-test",
            json={"profile": "orders", "iterations": 5, "confirm": True},
        )
    assert done.status_code == 200, done.text
    assert done.json()["url"] == f"{api.url}/orders" and done.json()["pool_per_s"] > 0
    assert len(api.received) == 10
    assert {r.headers["Authorization"] for r in api.received} == {f"Bearer {API_SECRET}"}


def test_profiles_api_metrics_and_the_pool_are_read_by_a_viewer(served, api, workbook):
    server, operator, viewer = served
    session = submit(server, operator, workbook(["Order"], [["A-1"]])).json()["session"]
    server.wait_done(viewer, session)
    with server.client(viewer) as client:
        offered = client.get("/api/profiles").json()["profiles"]
        assert [p["name"] for p in offered] == ["orders"]
        assert offered[0]["settings"]["auth_env"] == "ORDERS_TOKEN"  # the name, not its value
        hosts = client.get("/api/metrics/api", params={"since": "1d"}).json()
        assert json.dumps(hosts).count(f"127.0.0.1:{api.port}") >= 1
        assert client.get("/api/metrics/worker-pool").json() == {"runs": []}
        wrong = client.get("/api/metrics/api", params={"since": "soon"})
        assert wrong.status_code == 422 and wrong.json()["detail"].startswith("since:")


def test_a_corrected_fix_workbook_uploaded_sends_its_rows_again(served, api, workbook, tmp_path):
    from openpyxl import load_workbook as open_book

    server, operator, viewer = served
    api.respond = refuse_negative_amounts
    rows = [["A-1", -1], ["A-2", 2], ["A-3", -3]]
    session = submit(server, operator, workbook(["Order", "Amount"], rows)).json()["session"]
    server.wait_done(viewer, session)
    with server.client(viewer) as client:
        fix = tmp_path / "fix.xlsx"
        fix.write_bytes(client.get(f"/api/sessions/{session}/fix").content)
    book = open_book(fix)
    sheet = book.active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    amount = header.index("Amount") + 1
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row, amount).value = abs(int(str(sheet.cell(row, amount).value)))
    book.save(fix)

    with server.client(operator) as client, fix.open("rb") as handle:
        sent = client.post(
            f"/api/errors/user-action/{session}/fix", files={"file": ("fix.xlsx", handle)}
        )
    assert sent.status_code == 200, sent.text
    assert (sent.json()["sent"], sent.json()["reprocessed"]) == (2, 2)
    assert {r.json["Order"]: r.json["Amount"] for r in api.received[-2:]} == {"A-1": 1, "A-3": 3}


def test_with_a_queue_runs_go_through_it_and_the_pool_shows_it(
    api, workbook, tmp_path, redis_server
):
    pytest.importorskip("bullmq")
    tokens, operator, viewer = make_tokens(tmp_path)
    server = Served(tmp_path, write_config(tmp_path, api.url), tokens, "--queue", redis_server.url)
    server.start()
    try:
        session = submit(server, operator, workbook(["Order"], [[i] for i in range(30)])).json()[
            "session"
        ]
        status = server.wait_done(viewer, session)
        with server.client(viewer) as client:
            pool = client.get("/api/metrics/worker-pool").json()
    finally:
        server.stop()
    assert status["state"] == "finished" and status["summary"]["ok"] == 30
    assert set(pool["queue"]) == {"workers", "batches"}
    sessions_in_redis = redis_server.client().zrange("excelfmt:sessions", 0, -1)
    assert session in sessions_in_redis  # it went through the queue


def test_the_server_stops_promptly_while_a_page_follows_a_run_which_goes_on(served, api, workbook):
    import threading

    server, operator, viewer = served
    api.respond = lambda got: Reply(201, {}, delay=0.2)
    rows = [[i] for i in range(400)]  # 4 in flight at 0.2 s: some 20 s of run
    session = submit(server, operator, workbook(["Order"], rows)).json()["session"]
    first_event = threading.Event()

    def follow() -> None:
        with (
            server.client(viewer) as client,
            client.stream("GET", f"/api/sessions/{session}/events") as stream,
        ):
            try:
                for line in stream.iter_lines():
                    if line.startswith("data:"):
                        first_event.set()
            except httpx.RemoteProtocolError:
                pass  # the server went away mid-stream, as it should

    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    assert first_event.wait(10)
    began = time.monotonic()
    server.stop()  # SIGTERM; Served.stop waits at most 15 s
    assert time.monotonic() - began < 10
    store = server.folder / "store"
    status = json.loads(run_subprocess("status", session, "--json", "--store", str(store)).stdout)
    assert status["state"] == "running"  # the run was not the server's
    os.kill(status["pid"], signal.SIGINT)  # as Ctrl-C: it ends before the test's API does
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        shown = run_subprocess("status", session, "--json", "--store", str(store)).stdout
        if json.loads(shown)["state"] != "running":
            break
        time.sleep(0.2)


def test_a_zip_bomb_upload_is_refused_at_once_and_the_server_keeps_answering(served, api, tmp_path):
    """64 MiB of whitespace in 64 KiB of zip, to every route that reads an upload, while
    another user reads the runs: each refused with the sentence, none of it inflated."""
    import concurrent.futures

    server, operator, viewer = served
    bomb = zip_bomb(tmp_path)

    def upload(route: str) -> Any:
        with server.client(operator) as client, bomb.open("rb") as handle:
            return client.post(
                route, files={"file": (bomb.name, handle)}, data={"profile": "orders"}
            )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        refusals = [pool.submit(upload, route) for route in ("/api/jobs", "/api/preview") * 2]
        with server.client(viewer) as client:
            listed = [client.get("/api/sessions").status_code for _ in range(5)]
        answers = [refused.result() for refused in refusals]
    assert listed == [200] * 5
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert "zip bomb" in answer.json()["detail"] and "sparse.xlsx" in answer.json()["detail"]
    assert api.received == []
