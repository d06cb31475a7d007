"""`excelfmt serve` reads no upload itself: each is read in a child process that stops
when its client leaves or --read-limit passes (issue 34, point 5).

A real server on a free port; its children seen through /proc, as an operator's `ps`
would see them. The uploads are slow to read on purpose: a CSV of millions of rows (a
check plans each), a fix workbook of a million rows, an .xlsx of two million shared
strings (a run opens it before it records its session).
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .apiserver import Reply
from .serveserver import Served, make_tokens, write_config
from .xlsxparts import MAIN, package

pytest.importorskip("fastapi")

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> dict[int, str]:
    """The processes `pid` started that are alive now, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # it ended while we looked
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU time `pid` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max cpu time"):
            return line.split()[3]
    raise AssertionError("no cpu limit line")


def server_pid(server: Served) -> int:
    assert server.process is not None
    return server.process.pid


def sent_raw(server: Served, token: str, path: str, upload: Path, **fields: str) -> socket.socket:
    """A multipart upload sent whole on a socket of its own, its answer not read: the
    caller leaves by closing it, as a browser tab closed mid-wait."""
    with upload.open("rb") as handle:
        request = httpx.Request(
            "POST", f"{server.url}{path}", files={"file": (upload.name, handle)}, data=fields,
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        body = request.read()
    head = f"POST {path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in request.headers.items()
    )
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    raw.sendall(head.encode("latin-1") + b"\r\n" + body)
    return raw


def first_child(server: Served, within: float = 20) -> tuple[int, str]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := children(server_pid(server)):
            return next(iter(found.items()))
        time.sleep(0.01)
    raise AssertionError("no child process started")


def gone_within(server: Served, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not children(server_pid(server)):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def slow_uploads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("slow")
    rows = folder / "rows.csv"  # a check plans each of its rows: ~18 s here
    rows.write_text("Order,Amount\n" + "7,1\n" * 3_000_000)
    fix = folder / "fix.csv"  # ~13 s to read here
    fix.write_text("error id,Amount\n" + "".join(f"{i:x},1\n" for i in range(1_000_000)))
    strings = "".join(f"<si><t>{random.getrandbits(40):x}</t></si>" for _ in range(2_000_000))
    book = package(  # ~8 s to open here: every shared string is read before the first row
        folder / "strings.xlsx",
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>1</v></c></row>',
        strings_xml=f'<sst xmlns="{MAIN}" count="2000000">{strings}</sst>',
    )
    return {"rows": rows, "fix": fix, "book": book}


@pytest.fixture
def served(api: Any, tmp_path: Path) -> Iterator[tuple[Served, str]]:
    tokens, operator, _ = make_tokens(tmp_path)
    server = Served(tmp_path, write_config(tmp_path, api.url), tokens).start()
    yield server, operator
    server.stop()


def refused_rows_session(server: Served, operator: str, api: Any, tmp_path: Path) -> str:
    """A session with open errors, for a fix workbook to correct."""
    api.respond = lambda got: Reply(422, {"errors": [{"field": "Amount", "message": "no"}]})
    book = tmp_path / "orders.csv"
    book.write_text("Order,Amount\n1,-5\n2,-6\n")
    return server.run_to_the_end(operator, book)


def test_a_preview_is_read_by_one_child_that_stops_when_its_client_leaves(served, slow_uploads):
    # Issue 34: preview started two children one after the other, the second after the
    # client had gone; and nothing stopped either.
    server, operator = served
    began = cpu_seconds(server_pid(server))
    raw = sent_raw(server, operator, "/api/preview", slow_uploads["rows"], profile="orders")
    pid, command = first_child(server)
    assert " check " in command and "--json" in command, command
    assert cpu_limit(pid) == "120", "a preview's child is bounded even if the server dies"
    seen = {pid}
    for _ in range(20):  # still the one child, reading
        seen |= set(children(server_pid(server)))
        time.sleep(0.05)
    assert seen == {pid}
    raw.close()  # the person closes the tab
    assert gone_within(server, 5), "the child went on reading for no one"
    assert not list((server.folder / "store" / "uploads").iterdir()), "the upload was kept"
    assert cpu_seconds(server_pid(server)) - began < 3, "the server read the upload itself"
    with server.client(operator) as client:  # and it still answers
        assert client.get("/api/sessions").status_code == 200


def test_a_fix_workbook_is_read_by_a_child_not_by_the_server(served, slow_uploads, api, tmp_path):
    # Issue 34: a fix workbook was parsed in the server's own process (11.7 s of its CPU
    # for a hostile one), and went on after the client disconnected.
    server, operator = served
    session = refused_rows_session(server, operator, api, tmp_path)
    began = cpu_seconds(server_pid(server))
    path = f"/api/errors/user-action/{session}/fix"
    raw = sent_raw(server, operator, path, slow_uploads["fix"])
    pid, command = first_child(server)
    assert "excelfmt.sheets.fixbook" in command, command
    assert cpu_limit(pid) == "120"
    time.sleep(1.0)  # it reads; the server waits for it
    raw.close()
    assert gone_within(server, 5), "the fix workbook was still read after its client left"
    assert cpu_seconds(server_pid(server)) - began < 3, "the server read the workbook itself"
    with server.client(operator) as client:  # nothing was sent again: both rows still open
        errors = client.get(f"/api/errors/user-action/{session}").json()
    assert [e["state"] for e in errors["errors"]] == ["open", "open"]


def test_a_run_whose_client_leaves_while_it_opens_is_stopped_and_leaves_nothing(
    served, slow_uploads
):
    server, operator = served
    raw = sent_raw(server, operator, "/api/jobs", slow_uploads["book"], profile="orders")
    _, command = first_child(server)
    assert " run " in command, command
    time.sleep(0.5)
    raw.close()
    assert gone_within(server, 5), "the run went on opening for no one"
    with server.client(operator) as client:
        assert client.get("/api/sessions").json()["total"] == 0
    assert not list((server.folder / "store" / "uploads").iterdir())


def test_past_the_read_limit_an_upload_is_refused_with_a_sentence(api, tmp_path, slow_uploads):
    tokens, operator, _ = make_tokens(tmp_path)
    config = write_config(tmp_path, api.url)
    server = Served(tmp_path, config, tokens, "--read-limit", "2").start()
    try:
        with server.client(operator) as client:
            for route, upload in (("/api/preview", "rows"), ("/api/jobs", "book")):
                with slow_uploads[upload].open("rb") as handle:
                    answer = client.post(
                        route,
                        files={"file": (slow_uploads[upload].name, handle)},
                        data={"profile": "orders"},
                    )
                assert answer.status_code == 422, answer.text
                detail = answer.json()["detail"]
                assert detail.startswith(f"{slow_uploads[upload].name} was still being read")
                assert "--read-limit" in detail
                assert not children(server_pid(server)), "the child outlived its refusal"
            assert client.get("/api/sessions").json()["total"] == 0
        assert not list((server.folder / "store" / "uploads").iterdir())
    finally:
        server.stop()
