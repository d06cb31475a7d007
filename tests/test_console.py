"""The web console in a real browser: Debian's Chromium driven by Playwright (issue 23).

A real `excelfmt serve`, a real API behind its profile, examples/orders.xlsx uploaded
through the page, a refused cell corrected in the grid and sent again.
"""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest

from .apiserver import Reply
from .conftest import ROOT
from .consolepages import (  # noqa: F401 - fixtures
    CHROMIUM,
    browser,
    console,
    log_in,
    orders_api,
    watched_page,
)
from .serveserver import Served, make_tokens, write_config


def test_an_operator_uploads_watches_and_fixes_a_row_in_the_browser(
    browser, console, api, tmp_path
):
    server, operator, _ = console
    page, requested, problems = watched_page(browser, server)
    log_in(page, server, operator)
    assert "No runs yet" in page.inner_text("main")

    # New run: the profile, examples/orders.xlsx; the page lands on the run.
    book = tmp_path / "orders.xlsx"
    shutil.copy(ROOT / "examples" / "orders.xlsx", book)
    page.click("text=New run")
    page.select_option("#profile", "orders")
    page.set_input_files("#file", str(book))
    page.click("form.new-run button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]+$"))
    page.wait_for_selector('[data-field="state"]:text("finished")', timeout=60_000)
    figures = page.inner_text(".figures")
    assert "250" in figures  # every row, with its outcome written, not only coloured
    refused = int(page.inner_text('[data-field="failed"]').replace(",", ""))
    assert refused > 0

    # The grid: the refused cell is marked; correct it and send the row again.
    page.click("text=Rows that need a person")
    page.wait_for_selector("[data-grid]")
    row = page.locator("tr[data-error]").first
    order = row.locator('input[data-column="Order"]').input_value()
    corrected: dict[str, Any] = {}
    for cell in row.locator("td.refused input").all():  # every refused cell of the row
        column = str(cell.get_attribute("data-column"))
        corrected[column] = "billing@fixed.example" if column == "Email" else 12.5
        cell.fill(str(corrected[column]))
    assert corrected
    api.received.clear()
    page.click('[data-action="send-again"]')
    page.wait_for_selector(
        'tr[data-error] td[data-field="state"]:text("ok (sent again)")', timeout=30_000
    )
    sent = [r.json for r in api.received if r.json["Order"] == order]
    assert len(sent) == 1, "the API got the row once"
    for column, value in corrected.items():
        assert sent[0][column] == value  # a number stays a number

    # Nothing left the origin; nothing broke the page's CSP.
    origin = server.url
    assert all(url.startswith(origin) for url in requested), [
        u for u in requested if not u.startswith(origin)
    ]
    assert problems == []


def test_a_viewer_sees_no_action_and_a_forged_one_is_refused(browser, console, api, workbook):
    server, operator, viewer = console
    book = workbook(["Order", "Email", "Amount"], [["A-1", "nobody", 5]])
    session = server.run_to_the_end(operator, book)

    page, _, problems = watched_page(browser, server)
    log_in(page, server, viewer)
    assert page.locator("text=New run").count() == 0
    page.goto(f"{server.url}/runs/{session}/errors")
    assert page.locator('[data-action="send-again"]').count() == 0
    assert page.locator("input[data-column]").count() == 0  # cells shown, not editable
    error = page.locator("tr[data-error]").first.get_attribute("data-error")
    # The same call the operator's button makes, forged from the viewer's page.
    status = page.evaluate(
        """async (id) => {
            const csrf = document.querySelector('meta[name="csrf"]').content;
            const answer = await fetch(`/api/errors/user-action/${id}/reprocess`, {
                method: "POST", headers: {"X-CSRF-Token": csrf, "Content-Type": "application/json"},
                body: JSON.stringify({record: {Email: "x@y.example"}})});
            return answer.status;
        }""",
        error,
    )
    assert status == 403
    assert len(api.received) == 1  # only the run's own request
    assert [p for p in problems if "status of 403" not in p] == []  # the refusal itself


def test_the_runs_list_and_a_run_fit_a_phone(browser, console, workbook):
    server, operator, _ = console
    book = workbook(["Order", "Email", "Amount"], [["A-1", "a@b.example", 5]])
    session = server.run_to_the_end(operator, book)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{server.url}/?token={operator}")
    for path in ("/", f"/runs/{session}"):
        page.goto(f"{server.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    context.close()


def test_every_page_renders_under_its_csp_with_the_runs_figures(browser, console, api, workbook):
    server, operator, _ = console
    book = workbook(["Order", "Email", "Amount"], [["A-1", "a@b.example", 5], ["A-2", "x", 1]])
    session = server.run_to_the_end(operator, book)
    page, requested, problems = watched_page(browser, server)
    log_in(page, server, operator)

    page.goto(f"{server.url}/runs/{session}")
    assert page.inner_text('[data-field="rate"]') == "none"  # the policies, as the dashboard
    assert page.inner_text('[data-field="retry_budget"]').startswith("0 of ")
    assert page.inner_text('[data-field="pauses"]') == "0"
    frame = page.frame_locator("iframe.report")
    assert "input.xlsx" in frame.locator("body").inner_text()  # the report, framed
    page.goto(f"{server.url}/runs/{session}/log")
    assert "run started over HTTP" in page.inner_text("table.log")
    page.goto(f"{server.url}/queue")
    assert "excelfmt serve --queue" in page.inner_text("main")  # how to turn it on
    page.goto(f"{server.url}/apis")
    assert f"127.0.0.1:{api.port}" in page.inner_text("table.apis")
    page.fill("#iterations", "3")
    page.check("input[name=confirm]")
    page.click("form.bench button[type=submit]")
    page.wait_for_selector('[data-field="bench-result"]:has-text("through the pool")')
    assert problems == []
    assert all(url.startswith(server.url) or url.startswith("data:") for url in requested)


def test_new_run_previews_the_first_requests_and_sends_nothing(browser, console, api, tmp_path):
    from .serveserver import API_SECRET

    server, operator, _ = console
    page, _, problems = watched_page(browser, server)
    log_in(page, server, operator)
    page.goto(f"{server.url}/new")
    page.set_input_files("#file", str(ROOT / "examples" / "orders.xlsx"))
    page.click('[data-action="preview"]')
    page.wait_for_selector('[data-field="preview"]:not([hidden])')
    shown = page.inner_text('[data-field="preview"]')
    assert "Sheet Orders: 250 rows" in shown and "PO-1001" in shown
    assert "Columns, from row 1: Order, Customer, Email, Amount" in shown
    offered = page.eval_on_selector_all("#sheets option", "options => options.map(o => o.value)")
    assert "Orders" in offered  # the sheets read, to pick from
    assert API_SECRET not in page.content()
    page.fill("#sheet", "Nope")
    page.click('[data-action="preview"]')
    page.wait_for_selector('[data-field="problem"]:not([hidden])')
    assert "Nope" in page.inner_text('[data-field="problem"]')  # the CLI's sentence
    assert api.received == []
    assert [p for p in problems if "status of 422" not in p] == []


def test_a_row_is_fixed_and_sent_again_from_the_keyboard_alone(browser, console, api, workbook):
    server, operator, _ = console
    book = workbook(["Order", "Email", "Amount"], [["A-1", "nobody", 5]])
    session = server.run_to_the_end(operator, book)
    page, _, problems = watched_page(browser, server)
    log_in(page, server, operator)
    page.goto(f"{server.url}/runs/{session}/errors")
    page.focus('[data-action="send-again"]')
    # Tab from the actions into the grid: the row's checkbox, Order, Email (refused).
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.column") == "Email":
            break
    assert page.evaluate("document.activeElement.dataset.column") == "Email"
    page.keyboard.press("Control+A")
    page.keyboard.type("a1@fixed.example")
    page.keyboard.press("Shift+Tab")
    while page.evaluate("document.activeElement.dataset.action") != "send-again":
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector('td[data-field="state"]:text("ok (sent again)")')
    assert api.received[-1].json["Email"] == "a1@fixed.example"
    assert problems == []


def test_the_queue_page_lists_the_workers_and_runs(browser, api, workbook, tmp_path, redis_server):
    pytest.importorskip("bullmq")
    from .test_queue import start_worker

    api.respond = orders_api
    tokens, operator, _ = make_tokens(tmp_path)
    config = write_config(tmp_path, api.url)
    server = Served(tmp_path, config, tokens, "--queue", redis_server.url).start()
    worker = start_worker(redis_server.url)  # each run's own concurrency
    try:
        book = workbook(
            ["Order", "Email", "Amount"], [[f"A-{i}", "a@b.example", 1] for i in range(20)]
        )
        session = server.run_to_the_end(operator, book)
        page, _, problems = watched_page(browser, server)
        log_in(page, server, operator)
        page.goto(f"{server.url}/queue")
        shown = page.inner_text("main")
    finally:
        worker.terminate()
        worker.communicate(timeout=30)
        server.stop()
    assert str(worker.pid) in shown  # the worker, by its pid
    assert "each run's own" in shown and "Concurrency\n0" not in shown  # it said "0"
    assert session[:8] in shown and "done" in shown
    assert problems == []


def test_a_picture_uploaded_as_a_run_shows_the_servers_sentence(browser, console, api, tmp_path):
    server, operator, _ = console
    picture = tmp_path / "orders.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    page, _, problems = watched_page(browser, server)
    log_in(page, server, operator)
    page.goto(f"{server.url}/new")
    page.set_input_files("#file", str(picture))
    page.click("form.new-run button[type=submit]")
    page.wait_for_selector('[data-field="problem"]:not([hidden])')
    said = page.inner_text('[data-field="problem"]')
    assert "orders.png" in said and "Traceback" not in said
    assert page.url.endswith("/new")  # still there, the form as filled
    assert api.received == []
    assert [p for p in problems if "status of 422" not in p] == []


def test_a_token_link_from_another_site_or_over_a_session_asks_first(browser, console, api):
    # Issue 34: a page elsewhere that navigated to ?token=<its own viewer token> logged
    # the browser in as that viewer, silently (a login CSRF).
    server, operator, viewer = console

    trap = f'<script>location.href = "{server.url}/?token={viewer}";</script>'
    api.respond = lambda got: Reply(200, trap, headers={"Content-Type": "text/html"})
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{api.url}/cats")
    page.wait_for_selector("text=Log in as vic?")
    assert "another site" in page.inner_text("main")
    assert context.request.get(f"{server.url}/api/whoami").status == 401  # not logged in
    with page.expect_navigation():
        page.click("form.confirm button[type=submit]")  # the person's own choice
    assert context.request.get(f"{server.url}/api/whoami").json()["name"] == "vic"
    context.close()

    context = browser.new_context()
    page = context.new_page()
    log_in(page, server, operator)
    page.goto(f"{server.url}/?token={viewer}")  # typed, but over olga's own session
    assert "logged in as olga" in page.inner_text("main")
    assert context.request.get(f"{server.url}/api/whoami").json()["name"] == "olga"
    context.close()
