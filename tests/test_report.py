"""`excelfmt report` and `run --report`: one self-contained HTML page of a run."""

from __future__ import annotations

from html.parser import HTMLParser

from excelfmt.metrics.digest import session_json
from excelfmt.metrics.timeline import Closed, LatencyRecord, PolicyEvent, SecondRecord
from excelfmt.models import JSONValue
from excelfmt.ui.report import render_report

from .apiserver import Reply

MB = 1024 * 1024


class Page(HTMLParser):
    """What a browser would load: tags, the attributes that fetch, the charts' shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.fetching: list[str] = []
        self.shapes: dict[int, int] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.fetching += [f"{k}={v}" for k, v in attrs if k in ("src", "href", "srcset")]
        if tag == "svg":
            self.shapes[len(self.shapes)] = 0
        elif tag in ("rect", "polyline") and self.shapes:
            self.shapes[len(self.shapes) - 1] += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_the_report_of_a_run_has_its_charts_and_fetches_nothing(api, workbook, cli, tmp_path):
    def respond(got):
        if got.json["N"] % 10 == 0:
            return Reply(422, {"message": "N must not end in 0"}, delay=0.01)
        return Reply(201, {}, delay=0.02)

    api.respond = respond
    book = workbook(["N"], [[n] for n in range(120)])
    secret = {"API_TOKEN": "s3cret-token-value"}
    ran = cli(
        "run", str(book), "--url", api.url, "--auth-env", "API_TOKEN",
        "--report", str(tmp_path / "run.html"), env=secret,
    )  # fmt: skip
    assert ran.exit_code == 1 and "report written to" in ran.stderr

    made = cli("report", "-o", str(tmp_path / "later.html"))
    assert made.exit_code == 0 and "later.html" in made.stdout
    for name in ("run.html", "later.html"):
        html = (tmp_path / name).read_text()
        page = parse(html)
        assert len(html.encode()) < 3 * MB
        assert page.fetching == [] and "script" not in page.tags and "link" not in page.tags
        assert "url(" not in html and "@import" not in html
        assert len(page.shapes) == 4 and all(page.shapes.values())  # four charts, drawn
        text = " ".join(page.text)
        for heading in ("Throughput by outcome", "Latency over time", "Latency histogram"):
            assert heading in text
        assert "N must not end in 0" in text and "REQUIRES_USER_ACTION" in text
        assert "s3cret-token-value" not in html and "API_TOKEN" in text  # its name, masked


def test_a_day_long_run_still_makes_a_small_report():
    start = 1_700_000_000
    seconds = tuple(
        SecondRecord(
            start + n, {"ok": 300, "SYSTEM_ERROR": n % 7}, {"201": 300, "500": n % 7}, 64, 60
        )
        for n in range(86_400)
    )
    latency = tuple(
        LatencyRecord(start + n, {400 + n % 50: 3000}, {500: n % 70}) for n in range(0, 86_400, 10)
    )
    events: tuple[PolicyEvent, ...] = (
        PolicyEvent(start, "run", "started"),
        PolicyEvent(start + 86_400, "run", "ended"),
    )
    events += tuple(
        PolicyEvent(start + n, "pause", "Retry-After", 5.0) for n in range(0, 86_400, 600)
    )
    about: dict[str, JSONValue] = {
        "session": "0123abcd", "input": "big.xlsx", "sheet": "S", "api_host": "http://x",
        "state": "finished", "started_at": "2026-12-01T00:00:00+00:00", "finished_at": None,
        "settings": {},
    }  # fmt: skip
    html = render_report(session_json(about, Closed(seconds, latency, events)), [])
    assert len(html.encode()) < 3 * MB
    page = parse(html)
    assert len(page.shapes) == 4 and "24:00:00" in " ".join(page.text)


def test_a_short_runs_time_axis_says_each_time_once():
    # Issue 33: a 3 s run's charts read 0:00, 0:01, 0:01, 0:02, 0:02, 0:03.
    import re

    start = 1_700_000_000
    seconds = tuple(SecondRecord(start + n, {"ok": 5}, {"201": 5}, 4, 4) for n in range(3))
    events = (PolicyEvent(start, "run", "started"), PolicyEvent(start + 3, "run", "ended"))
    about: dict[str, JSONValue] = {
        "session": "0123abcd", "input": "small.xlsx", "sheet": "S", "api_host": "http://x",
        "state": "finished", "started_at": "2026-12-01T00:00:00+00:00", "finished_at": None,
        "settings": {},
    }  # fmt: skip
    html = render_report(session_json(about, Closed(seconds, (), events)), [])
    for chart in re.findall(r"<svg.*?</svg>", html, re.S):
        times = [t for t in parse(chart).text if re.fullmatch(r"\d+:\d\d", t.strip())]
        assert len(times) == len(set(times)), times
