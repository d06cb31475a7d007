"""The console in a real browser, shared by its tests: Debian's Chromium driven by
Playwright, a real `excelfmt serve`, a real API behind its profile (as examples/api.py:
a bad email or a non-positive amount refused, by field)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .apiserver import Reply
from .serveserver import Served, make_tokens, write_config

CHROMIUM = "/usr/bin/chromium"
pytest.importorskip("playwright")
if not Path(CHROMIUM).exists():  # CI installs it (.ci/run); a skip fails CI there
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


def orders_api(got: Any) -> Reply:
    """As examples/api.py: a bad email or a non-positive amount is refused, by field."""
    errors = []
    if "@" not in str(got.json.get("Email") or ""):
        errors.append({"field": "Email", "message": "is not an email address"})
    amount = got.json.get("Amount")
    if not isinstance(amount, int | float) or amount <= 0:
        errors.append({"field": "Amount", "message": "must be a number above 0"})
    if errors:
        return Reply(422, {"message": "Validation failed", "errors": errors})
    return Reply(201, {"id": got.json["Order"]})


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def console(api: Any, tmp_path: Path) -> Iterator[tuple[Served, str, str]]:
    api.respond = orders_api
    tokens, operator, viewer = make_tokens(tmp_path)
    server = Served(tmp_path, write_config(tmp_path, api.url), tokens).start()
    yield server, operator, viewer
    server.stop()


def watched_page(
    browser: Any, server: Served, viewport: dict[str, int] | None = None
) -> tuple[Any, list[str], list[str]]:
    """A page (1280x800 unless told), every URL it requested, and every error its console
    logged (a CSP violation is one)."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    page = context.new_page()
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    def logged(message: Any) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", logged)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, requested, problems


def log_in(page: Any, server: Served, token: str) -> None:
    page.goto(f"{server.url}/")
    assert "/login" in page.url  # not logged in: the form
    page.fill("#token", token)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    assert page.url == f"{server.url}/"
