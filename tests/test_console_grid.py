"""The errors grid as the people who know the data use it (issue 33): the fix loop says
what happened, rows are found by filters that live in the address, every row that
matches is one click, and the grid fits a phone.

Debian's Chromium at 1280x800 and 390x844, a real `excelfmt serve` and a real API.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook

from .apiserver import Reply
from .conftest import run_subprocess
from .consolepages import browser, console, orders_api  # noqa: F401 - fixtures
from .serveserver import Served

HEADER = ["Order", "Customer", "Email", "Amount", "Currency"]


def mixed_api(got: Any) -> Reply:
    """Refusals of every kind a grid meets: a field (Email), a whole request (400, no
    field), a conflict (409, no field)."""
    order = str(got.json["Order"])
    if got.json.get("Currency") == "XXX":
        return Reply(400, {"message": "unsupported currency XXX"})
    if order.endswith("7"):
        return Reply(409, {"message": f"order {order} already exists"})
    if "@" not in str(got.json.get("Email") or ""):
        return Reply(422, {"errors": [{"field": "Email", "message": "is not an email address"}]})
    return Reply(201, {"id": order})


def book_of(workbook: Any, count: int) -> Path:
    rows = []
    for n in range(count):
        email = "nobody" if n % 3 == 0 else f"buyer{n}@shop.example"
        currency = "XXX" if n % 10 == 5 else "EUR"
        rows.append([f"PO-{n:04d}", f"Customer {n:04d}", email, 10 + n, currency])
    path: Path = workbook(HEADER, rows, name="orders.xlsx")
    return path


def opened(browser: Any, server: Served, token: str, phone: bool = False) -> Any:
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
    page = browser.new_context(viewport=size).new_page()
    page.goto(f"{server.url}/?token={token}")
    return page


def grid_rows(page: Any) -> list[int]:
    return [int(r) for r in page.locator("tr[data-error]").evaluate_all(
        "rows => rows.map(r => r.dataset.row)")]  # fmt: skip


@pytest.mark.parametrize("phone", [False, True], ids=["1280", "390"])
def test_sending_again_says_what_happened_and_the_marks_follow(
    browser, console, api, workbook, phone
):
    server, operator, _ = console
    api.respond = orders_api
    rows = [["A-1", "x", "nobody", 5], ["A-2", "y", "nobody", -3], ["A-3", "z", "a@b.example", 7]]
    session = server.run_to_the_end(
        operator, workbook(["Order", "Customer", "Email", "Amount"], rows)
    )
    page = opened(browser, server, operator, phone)
    page.goto(f"{server.url}/runs/{session}/errors")
    first, second = page.locator('tr[data-row="2"]'), page.locator('tr[data-row="3"]')
    assert first.locator("td.refused").count() == 1  # Email
    assert second.locator("td.refused").count() == 2  # Email and Amount
    first.locator('input[data-column="Email"]').fill("x@fixed.example")
    second.locator('input[data-column="Email"]').fill("y@fixed.example")  # Amount still -3
    page.click('[data-action="send-again"]')
    page.wait_for_selector('[data-field="outcome"]:not([hidden])')

    said = page.inner_text('[data-field="outcome"]')
    assert "Sent again: 2 sent, 1 ok, 1 still refused." in said
    assert "Row 3: " in said
    # The row that went through has lost its marks; the other is marked where it still is.
    assert first.locator("td.refused, .mark").count() == 0
    assert first.locator('[data-field="state"]').inner_text() == "ok (sent again)"
    assert second.locator("td.refused").count() == 1
    assert second.locator("td.refused input").get_attribute("data-column") == "Amount"
    assert second.locator('[data-field="message"]').inner_text().startswith("tried again at ")
    page.reload()  # and so it stays
    assert (
        page.locator('tr[data-row="3"] [data-field="message"]')
        .inner_text()
        .startswith("tried again at ")
    )

    # The log says which cells were changed, from what to what, and by whom.
    done = run_subprocess("logs", session, "--json", "--store", str(server.folder / "store"))
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    changes = [line for line in lines if line["event"] in ("row reprocessed", "row failed again")]
    assert {(c["row"], json.dumps(c["changed"]), c["by"]) for c in changes} == {
        (2, json.dumps({"Email": ["nobody", "x@fixed.example"]}), "olga"),
        (3, json.dumps({"Email": ["nobody", "y@fixed.example"]}), "olga"),
    }


def test_an_uploaded_fix_workbook_says_what_it_sent_without_leaving_the_page(
    browser, console, api, workbook, tmp_path
):
    server, operator, _ = console
    api.respond = orders_api
    rows = [[f"A-{n}", "c", "nobody", 5] for n in range(4)]
    session = server.run_to_the_end(
        operator, workbook(["Order", "Customer", "Email", "Amount"], rows)
    )
    with server.client(operator) as client:
        fix = tmp_path / "fix.xlsx"
        fix.write_bytes(client.get(f"/api/sessions/{session}/fix").content)
    book = load_workbook(fix)
    sheet = book.worksheets[0]
    emails = [c.value for c in sheet[1]].index("Email") + 1
    for row in range(2, 5):  # three rows corrected; the fourth left as it was
        sheet.cell(row, emails).value = f"buyer{row}@fixed.example"
    book.save(fix)

    page = opened(browser, server, operator)
    page.goto(f"{server.url}/runs/{session}/errors")
    page.evaluate("window.stayed = true")
    page.set_input_files("#fix", str(fix))
    page.click('[data-action="upload-fix"] button[type=submit]')
    page.wait_for_selector('[data-field="outcome"]:not([hidden])')
    said = page.inner_text('[data-field="outcome"]')
    assert "The fix workbook: 4 sent, 3 ok, 1 still refused." in said
    assert page.evaluate("window.stayed === true"), "the page reloaded and forgot it"
    assert page.locator('tr[data-state="reprocessed"]').count() == 3


@pytest.mark.parametrize("phone", [False, True], ids=["1280", "390"])
def test_rows_are_found_by_filters_that_live_in_the_address(browser, console, api, workbook, phone):
    server, operator, viewer = console
    api.respond = mixed_api
    session = server.run_to_the_end(operator, book_of(workbook, 300))
    with server.client(operator) as client:
        every = client.get(f"/api/errors/user-action/{session}", params={"limit": 500}).json()
    by_status: dict[int, int] = {}
    for error in every["errors"]:
        by_status[error["http_status"]] = by_status.get(error["http_status"], 0) + 1
    assert set(by_status) == {400, 409, 422}

    page = opened(browser, server, operator, phone)
    page.goto(f"{server.url}/runs/{session}/errors")
    page.fill('input[name="status"]', "409")
    page.click(".filters button[type=submit]")
    page.wait_for_url(re.compile(r"status=409"))
    assert f"{by_status[409]} rows match" in page.inner_text("main")
    orders = page.locator('input[data-column="Order"]')
    assert all(o.endswith("7") for o in orders.evaluate_all("cells => cells.map(c => c.value)"))
    hint = page.locator('[data-field="hint"]').first.inner_text()
    assert "exists already" in hint  # a refusal naming no cell says what to change

    # The link, sent to a colleague (a viewer), shows them the same rows.
    link = page.url
    colleague = opened(browser, server, viewer)
    colleague.goto(link)
    assert grid_rows(colleague) == grid_rows(page)

    # Refused for Email, and then those whose message names the currency.
    page.goto(f"{server.url}/runs/{session}/errors?column=Email")
    assert f"{by_status[422]} rows match" in page.inner_text("main")
    assert page.locator('tr[data-error] td.refused input[data-column="Email"]').count() == min(
        50, by_status[422]
    )
    following = page.locator("nav.pages a", has_text="Next")
    assert parse_qs(urlsplit(str(following.get_attribute("href"))).query)["column"] == ["Email"]
    page.goto(f"{server.url}/runs/{session}/errors?message=currency")
    assert f"{by_status[400]} rows match" in page.inner_text("main")
    page.fill('input[name="q"]', "customer 0025")  # any cell, any case
    page.click(".filters button[type=submit]")
    page.wait_for_url(re.compile(r"q=customer"))
    assert grid_rows(page) == [27]  # PO-0025, sheet row 27: a 400 for its currency

    # Every row that matches is the scope of the fix workbook and of Send again.
    page.goto(f"{server.url}/runs/{session}/errors?status=409")
    href = page.get_attribute('[data-field="fix-link"]', "href")
    with server.client(operator) as client:
        fix = client.get(str(href))
    assert fix.status_code == 200
    scratch = server.folder / "matching.xlsx"
    scratch.write_bytes(fix.content)
    assert load_workbook(scratch).worksheets[0].max_row - 1 == by_status[409]
    api.respond = lambda got: Reply(201, {"id": got.json["Order"]})  # the API fixed its side
    api.received.clear()
    page.check("[data-all-matching]")
    page.click('[data-action="send-again"]')
    page.wait_for_selector(
        f'[data-field="outcome"]:has-text("{by_status[409]} ok")', timeout=60_000
    )
    assert len(api.received) == by_status[409], "each matching row once, no other"
    assert {str(r.json["Order"])[-1] for r in api.received} == {"7"}


@pytest.mark.parametrize("phone", [False, True], ids=["1280", "390"])
def test_the_grid_shows_whole_values_and_fits_a_phone_as_cards(
    browser, console, api, workbook, phone
):
    server, operator, _ = console
    api.respond = mixed_api
    long_email = "accounts.payable.department@a-very-long-company-name.example"
    rows = [["PO-0001", "Acme", "nobody", 10, "EUR"], ["PO-0007", "Globex", long_email, 12, "EUR"]]
    session = server.run_to_the_end(operator, workbook(HEADER, rows, name="orders.xlsx"))
    page = opened(browser, server, operator, phone)
    page.goto(f"{server.url}/runs/{session}/errors")
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "it scrolls sideways"
    for row in page.locator("tr[data-error]").all():  # the API's message is on screen
        message = row.locator('[data-field="message"]')
        box = message.bounding_box()
        assert message.inner_text() and box is not None and box["x"] + box["width"] <= width
    cell = page.locator('tr[data-row="3"] input[data-column="Email"]')
    cell.focus()
    if not phone:  # the whole value shows while it is edited
        assert int(str(cell.get_attribute("size"))) >= len(long_email)
        assert cell.evaluate("c => c.scrollWidth <= c.clientWidth + 1")
    if phone:  # a card: its message above its cells
        said = page.locator('tr[data-row="2"] td.said').bounding_box()
        first_cell = page.locator('tr[data-row="2"] td[data-label="Order"]').bounding_box()
        assert said is not None and first_cell is not None and said["y"] < first_cell["y"]
