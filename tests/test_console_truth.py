"""Every page of the console tells the truth about a run (issue 33): the same figures as
`excelfmt status --json`, after the run and after rows are sent again; charts drawn from
the stored timeline; a page for every refusal a person can reach.

Debian's Chromium at 1280x800 and at a phone's 390x844, a real `excelfmt serve`, the
orders API of tests/consolepages.py, examples/orders.xlsx uploaded through the page.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, run_subprocess
from .consolepages import browser, console, log_in, watched_page  # noqa: F401 - fixtures
from .serveserver import Served

PHONE = {"width": 390, "height": 844}


def number(text: str) -> int:
    return int(text.replace(",", "").strip())


def status_json(server: Served, session: str) -> dict[str, Any]:
    done = run_subprocess("status", session, "--json", "--store", str(server.folder / "store"))
    assert done.returncode == 0, done.stderr
    figures: dict[str, Any] = json.loads(done.stdout)["figures"]
    return figures


def upload_orders(page: Any, server: Served, tmp_path: Path) -> str:
    """examples/orders.xlsx through New run; the page lands on the run. Its session id."""
    book = tmp_path / "orders.xlsx"
    shutil.copy(ROOT / "examples" / "orders.xlsx", book)
    page.goto(f"{server.url}/new")
    page.select_option("#profile", "orders")
    page.set_input_files("#file", str(book))
    page.click("form.new-run button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]+$"))
    return str(page.url.rsplit("/", 1)[1])


def send_some_again(server: Served, operator: str, session: str, count: int) -> None:
    """`count` refused rows corrected and sent again through the API, as the grid does."""
    with server.client(operator) as client:
        errors = client.get(f"/api/errors/user-action/{session}").json()["errors"]
        for error in errors[:count]:
            record = {"Email": "fixed@orders.example", "Amount": 10}
            answer = client.post(
                f"/api/errors/user-action/{error['id']}/reprocess", json={"record": record}
            )
            assert answer.json()["state"] == "reprocessed", answer.text


def listed(page: Any, selector: str) -> dict[str, int]:
    """A page's "code: n" list items as a mapping."""
    found = {}
    for item in page.locator(f"{selector} li").all_inner_texts():
        code, n = item.rsplit(":", 1)
        found[code.strip()] = number(n)
    return found


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_every_page_says_what_status_says_after_the_run_and_after_a_reprocess(
    browser, console, api, tmp_path, viewport
):
    server, operator, _ = console
    page, requested, problems = watched_page(browser, server, viewport)
    log_in(page, server, operator)
    session = upload_orders(page, server, tmp_path)
    page.wait_for_selector('[data-field="state"]:text("finished")', timeout=60_000)

    # Watched live to its end: the link to the refused rows counts them, without a reload
    # (it said "(0)" beside Failed 15).
    failed = number(page.inner_text('[data-field="failed"]'))
    assert failed > 0
    assert number(page.inner_text('[data-field="open_errors"]')) == failed

    send_some_again(server, operator, session, 3)
    figures = status_json(server, session)
    assert figures["reprocessed"] == 3 and figures["failed"] == failed - 3

    # The run's page, reloaded.
    page.goto(f"{server.url}/runs/{session}")
    assert number(page.inner_text('[data-field="done"]')) == figures["rows"]
    assert number(page.inner_text('[data-field="ok"]')) == figures["ok"]
    assert number(page.inner_text('[data-field="failed"]')) == figures["failed"]
    assert number(page.inner_text('[data-field="open_errors"]')) == figures["open_errors"]
    assert listed(page, '[data-field="statuses"]') == figures["statuses"]
    tops = page.locator('[data-field="messages"] li').all_inner_texts()
    counted = [number(t.split("\u00d7")[0]) for t in tops]  # "3 (times sign) message"
    assert counted == [e["rows"] for e in figures["top_errors"]]
    # The report beside it.
    report = page.frame_locator("iframe.report").locator("body").inner_text()
    assert f"201\t{figures['statuses']['201']:,}" in report

    # The runs list.
    page.goto(f"{server.url}/")
    row = page.locator(f'tr[data-session="{session}"]')
    assert number(row.locator('[data-field="ok"]').inner_text()) == figures["ok"]
    assert number(row.locator('[data-field="failed"]').inner_text()) == figures["failed"]

    # The APIs page: the one API, its rows as they stand.
    page.goto(f"{server.url}/apis")
    host = page.locator("table.apis tbody tr").first
    cells = host.locator("td").all_inner_texts()
    assert number(cells[2]) == figures["rows"] and number(cells[3]) == figures["ok"]
    assert f"201: {figures['statuses']['201']:,}" in cells[-1]

    # `metrics` says the same.
    done = run_subprocess("metrics", session, "--json", "--store", str(server.folder / "store"))
    metrics = json.loads(done.stdout)
    for name in ("rows", "ok", "failed", "statuses", "open_errors", "reprocessed"):
        assert metrics[name] == figures[name], name
    assert problems == []
    assert all(url.startswith(server.url) for url in requested)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_a_finished_runs_chart_is_drawn_from_its_timeline_on_first_load(
    browser, console, workbook, viewport
):
    server, operator, _ = console
    rows = [[f"A-{n}", "a@b.example" if n % 4 else "nobody", 5] for n in range(40)]
    session = server.run_to_the_end(operator, workbook(["Order", "Email", "Amount"], rows))
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{server.url}/?token={operator}")
    page.goto(f"{server.url}/runs/{session}")
    # Drawn by the server: no script has run on it (it was an empty box after the end).
    page.wait_for_load_state("domcontentloaded")
    assert page.locator('[data-field="chart"] rect.bar-ok').count() >= 1
    assert page.locator('[data-field="chart"] rect.bar-failed').count() >= 1
    assert "over the run's" in page.inner_text('[data-field="bar_caption"]')
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    context.close()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_a_viewer_on_an_operators_page_gets_a_page_saying_what_a_viewer_may_do(
    browser, console, viewport
):
    server, _, viewer = console
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{server.url}/?token={viewer}")
    answer = page.goto(f"{server.url}/new")
    assert answer is not None and answer.status == 403
    assert "text/html" in answer.headers["content-type"]
    text = page.inner_text("main")
    assert "a viewer's" in text and "needs an operator's token" in text
    assert page.locator("header nav a", has_text="Runs").count() == 1  # the console around it
    answer = page.goto(f"{server.url}/runs/0123456789abcdef")  # no such run: a page too
    assert answer is not None and answer.status == 404
    assert "text/html" in answer.headers["content-type"]
    assert "No session" in page.inner_text("main") or "no session" in page.inner_text("main")
    answer = page.goto(f"{server.url}/nowhere")  # a mistyped address: a page
    assert (
        answer is not None and answer.status == 404 and "runs are at /" in page.inner_text("main")
    )
    answer = page.goto(f"{server.url}/api/sessions/0123456789abcdef")  # the API stays JSON
    assert answer is not None and "json" in answer.headers["content-type"]
    with server.client(viewer) as client:
        assert client.get("/api/nowhere").json()["detail"] == "Not Found"
    context.close()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_a_failover_shows_the_rows_sent_twice_and_the_lost_worker(
    browser, api, workbook, tmp_path, redis_server, viewport
):
    # Issue 33: a queued run never said which rows reached the API twice after a worker
    # died, and the Queue page just dropped the worker.
    pytest.importorskip("bullmq")
    from .serveserver import make_tokens, write_config
    from .test_failover import run_killing_a_worker

    tokens, operator, _ = make_tokens(tmp_path)
    server = Served(tmp_path, write_config(tmp_path, api.url), tokens, "--queue", redis_server.url)
    store = ("--store", str(tmp_path / "store"))
    victim, _, out, err = run_killing_a_worker(
        api, workbook, redis_server.url, 300, *store, within=40
    )
    summary = json.loads(out)
    assert summary["sent_twice"] > 0, err
    server.start()
    try:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(f"{server.url}/?token={operator}")
        page.goto(f"{server.url}/runs/{summary['session']}")
        assert number(page.inner_text('[data-field="sent_twice"]')) == summary["sent_twice"]
        said = page.inner_text('[data-field="sent_twice_rows"]')
        assert f"{summary['sent_twice_rows'][0]:,}" in said and "Idempotency-Key" in said
        assert status_json(server, summary["session"])["sent_twice"] == summary["sent_twice"]
        page.goto(f"{server.url}/queue")
        lost = page.locator(f'tr[data-lost$=":{victim.pid}"]')
        assert "lost" in lost.inner_text() and "went to other workers" in lost.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
        context.close()
    finally:
        server.stop()


def test_numbers_are_written_one_way_and_a_finished_run_says_what_it_ran_at(
    browser, console, workbook
):
    server, operator, _ = console
    rows = [[f"A-{n}", "a@b.example", 5] for n in range(1200)]
    session = server.run_to_the_end(operator, workbook(["Order", "Email", "Amount"], rows))
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{server.url}/?token={operator}")
    page.goto(f"{server.url}/runs/{session}")
    assert page.inner_text('[data-field="done"]') == "1,200"  # it was "1200" beside "1,200"
    assert page.inner_text('[data-field="ok"]') == "1,200"
    assert page.inner_text('[data-field="in_flight"]').startswith("- (ran at up to ")
    cards = page.frame_locator("iframe.report").locator(".card b")
    clipped = cards.evaluate_all("cards => cards.filter(c => c.scrollWidth > c.clientWidth + 1)")
    assert clipped == []  # a card read "162 r"


def test_new_run_takes_column_types_and_a_csv_delimiter(browser, console, api, tmp_path):
    server, operator, _ = console
    book = tmp_path / "orders.csv"
    book.write_text("Order;Email;Amount;Zip\nA-1;a@b.example;5;01234\n")
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{server.url}/?token={operator}")
    page.goto(f"{server.url}/new")
    page.set_input_files("#file", str(book))
    page.fill("#delimiter", ";")
    page.fill("#types", "Zip=text\nAmount=number")
    page.click('[data-action="preview"]')
    page.wait_for_selector('[data-field="preview"]:not([hidden])')
    assert "Order, Email, Amount, Zip" in page.inner_text('[data-field="preview-columns"]')
    shown = page.inner_text('[data-field="preview-requests"]')
    assert '"Zip": "01234"' in shown and '"Amount": 5' in shown  # text kept, number a number
    assert api.received == []
