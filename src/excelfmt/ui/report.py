"""`excelfmt report`: one self-contained HTML page of how a run went.

Drawn from the session's metrics (metrics.digest's JSON) and its top error messages: no
script, no font, no image, nothing fetched. The page works offline, opens from a mail
attachment, and stays far under 3 MB whatever the run's length (charts are binned).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from ..metrics.histogram import bucket_middle
from . import charts
from .charts import Frame

COLUMNS = 240
"""Most bars on a time axis: a long run's seconds are binned to this many."""
HISTOGRAM_BINS = 48
OUTCOMES = [
    ("ok", "ok", "ok"),
    ("REQUIRES_USER_ACTION", "requires", "requires a person"),
    ("TEMPORARY_FAILURE", "temporary", "temporary failure"),
    ("SYSTEM_ERROR", "system", "system error"),
    ("NETWORK_ERROR", "network", "network error"),
    ("AUTH_ERROR", "auth", "auth error"),
    ("UNKNOWN_ERROR", "unknown", "unknown error"),
]

STYLE = """
:root { --fg:#1d2430; --muted:#5b6575; --bg:#fff; --card:#f4f6f9; --grid:#dde2ea;
  --ok:#2e9d5b; --requires:#e08a1e; --temporary:#d9c02a; --system:#d43d3d; --network:#8a4fd1;
  --auth:#8c5a3c; --unknown:#7d8794; --p50:#2f6fd6; --p90:#e08a1e; --p99:#d43d3d;
  --failed:#8a4fd1; --limit:#5b6575; --inflight:#2f6fd6; --pause:#f3d36b; --breaker:#f08a8a;
  --gap:#c9ced6; }
@media (prefers-color-scheme: dark) { :root { --fg:#e6e9ef; --muted:#9aa4b2; --bg:#14181f;
  --card:#1d232c; --grid:#2c3440; } }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 0 auto; max-width: 900px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 6px; }
.muted, .tick, .axis { color: var(--muted); fill: var(--muted); font-size: 11px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 8px;
  margin-top: 16px; }
.card { background: var(--card); border-radius: 6px; padding: 8px 12px; }
.card b { display: block; font-size: 20px; overflow-wrap: anywhere; }
.card b.small { font-size: 15px; }
.chart { width: 100%; height: auto; display: block; }
.grid { stroke: var(--grid); stroke-width: 1; }
.line { fill: none; stroke-width: 1.8; }
.band { opacity: .45; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 3px 8px;
  border-bottom: 1px solid var(--grid); vertical-align: top; } td.n { text-align: right; }
.legend span { margin-right: 14px; font-size: 12px; color: var(--muted); }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
  border-radius: 2px; background: currentColor; }
"""
for _, kind, _label in OUTCOMES:
    STYLE += f".{kind} {{ fill: var(--{kind}); color: var(--{kind}); }}\n"
for kind in ("p50", "p90", "p99", "failed", "limit", "inflight"):
    STYLE += (
        f".line.{kind} {{ stroke: var(--{kind}); }} .swatch.{kind} {{ color: var(--{kind}); }}\n"
    )
STYLE += ".line.failed { stroke-dasharray: 4 3; }\n"
for kind in ("pause", "breaker", "gap"):
    STYLE += f".band.{kind} {{ fill: var(--{kind}); }} .swatch.{kind} {{ color: var(--{kind}); }}\n"


def render_report(data: dict[str, Any], messages: Sequence[tuple[str, int]]) -> str:
    """The whole page for one session's metrics (`session_json`) and top messages."""
    seconds = data["seconds"]
    starts = [e["at"] for e in data["events"] if e["kind"] == "run" and e["detail"] == "started"]
    t0 = min(starts + [s["at"] for s in seconds], default=0.0)
    t1 = max([s["at"] + 1 for s in seconds] + [e["at"] for e in data["events"]], default=t0 + 1)
    spans = _periods(data["events"], t0)
    x1 = max(t1 - t0, 1.0)
    body = [
        _header(data),
        "<h2>Throughput by outcome (rows/s)</h2>",
        _throughput(seconds, t0, x1, spans),
        charts.legend(
            [(k, label) for name, k, label in OUTCOMES if _has(data, name)] + _marks(spans)
        ),
        "<h2>Latency over time (ms, per 10 s)</h2>",
        _latency(data["latency"], t0, x1, spans),
        charts.legend(
            [("p50", "ok p50"), ("p90", "ok p90"), ("p99", "ok p99"), ("failed", "failed p50")]
        ),
        "<h2>Latency histogram (ms, log scale)</h2>",
        _histogram(data["histogram"]),
        charts.legend([("ok", "ok"), ("system", "failed")]),
        "<h2>Concurrency</h2>",
        _concurrency(seconds, t0, x1, spans),
        charts.legend([("limit", "limit"), ("inflight", "most in flight"), *_marks(spans)]),
        _tables(data, messages),
    ]
    title = f"excelfmt report: session {data['session']}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )


def _has(data: dict[str, Any], name: str) -> bool:
    return bool(data["ok"]) if name == "ok" else name in data["categories"]


def _request_cards(data: dict[str, Any]) -> list[tuple[str, str]]:
    """With --batch, requests beside rows: the API's limits count requests."""
    size = int((data.get("settings") or {}).get("batch") or 1)
    if size <= 1:
        return []
    rate = data.get("requests_per_s")
    shown = "-" if rate is None else f"{rate:,.1f}"
    return [("requests/s", shown), ("batch", f"{size:,} rows")]


def _failover_cards(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows still for a person, and rows a failover sent twice, when there are any."""
    cards = []
    if data.get("open_errors"):
        cards.append(("open errors", f"{data['open_errors']:,}"))
    if data.get("sent_twice"):
        cards.append(("sent twice (failover)", f"{data['sent_twice']:,}"))
    return cards


def _header(data: dict[str, Any]) -> str:
    latency = data["latency_ms"]

    def ms(kind: str) -> str:
        got = latency[kind]
        return " / ".join(
            "-" if got[q] is None else f"{got[q]:,.0f}" for q in ("p50", "p90", "p99")
        )

    cards = [
        ("rows", f"{data['rows']:,}"),
        ("ok", f"{data['ok']:,}"),
        ("failed", f"{data['failed']:,} ({data['failure_share']:.1%})"),
        ("rows/s", "-" if data["rows_per_s"] is None else f"{data['rows_per_s']:,.0f}"),
        *_request_cards(data),
        *_failover_cards(data),
        ("time running", charts.clock(data["duration_s"])),
        ("ok p50 / p90 / p99", ms("ok") + " ms"),
        ("failed p50 / p90 / p99", ms("failed") + " ms"),
    ]
    return (
        f"<h1>{escape(str(data['input']).rsplit('/', 1)[-1])}: {data['state']}</h1>"
        f'<div class="muted">session {escape(data["session"])} · sheet '
        f"{escape(str(data['sheet']))} · {escape(data['api_host'])} · started "
        f"{escape(str(data['started_at']))} · {data['runs']} run(s)</div>"
        '<div class="cards">'
        + "".join(
            f'<div class="card"><span class="muted">{k}</span><b>{v}</b></div>' for k, v in cards
        )
        + "</div>"
    )


def _periods(events: list[dict[str, Any]], t0: float) -> list[tuple[float, float, str, str]]:
    """Pauses, open-breaker periods and gaps between runs, relative to t0."""
    spans = []
    opened: float | None = None
    ended: float | None = None
    for event in events:
        at = event["at"] - t0
        if event["kind"] == "pause":
            spans.append(
                (
                    at,
                    at + (event["seconds"] or 0),
                    "pause",
                    f"paused {event['seconds']} s (Retry-After)",
                )
            )
        elif event["kind"] == "breaker":
            if event["detail"] == "open":
                opened = at
            elif opened is not None:
                spans.append((opened, at, "breaker", f"breaker open {at - opened:.1f} s"))
                opened = None
        elif event["kind"] == "run":
            if event["detail"] == "ended":
                ended = at
            elif ended is not None:
                spans.append((ended, at, "gap", "not running"))
    return spans


def _marks(spans: list[tuple[float, float, str, str]]) -> list[tuple[str, str]]:
    names = {"pause": "paused by the API", "breaker": "breaker open", "gap": "not running"}
    return [(kind, names[kind]) for kind in names if any(s[2] == kind for s in spans)]


def _bin_width(x1: float) -> int:
    return max(1, math.ceil(x1 / COLUMNS))


def _throughput(seconds: list[dict[str, Any]], t0: float, x1: float, spans: list[Any]) -> str:
    width = _bin_width(x1)
    bins: dict[int, dict[str, int]] = {}
    for second in seconds:
        into = bins.setdefault(int((second["at"] - t0) // width), {})
        for name, n in second["outcomes"].items():
            into[name] = into.get(name, 0) + n
    columns = [
        (index * width, width, [(got.get(name, 0) / width, kind) for name, kind, _ in OUTCOMES])
        for index, got in sorted(bins.items())
    ]
    peak = max((sum(v for v, _ in stack) for _, _, stack in columns), default=1)
    frame = Frame(0, x1, charts.nice_ceiling(peak))
    body = (
        charts.bands(frame, spans)
        + charts.time_axes(frame, "rows/s")
        + charts.stacked_bars(frame, columns)
    )
    return charts.svg("rows per second by outcome", body)


def _latency(intervals: list[dict[str, Any]], t0: float, x1: float, spans: list[Any]) -> str:
    """ok p50/p90/p99 and failed p50 per interval; a long run's intervals are binned (the
    rows-weighted mean of p50, the highest p90 and p99, so that spikes stay visible)."""
    width = max(_bin_width(x1), intervals[0]["seconds"] if intervals else 1)
    bins: dict[int, list[dict[str, Any]]] = {}
    for interval in intervals:
        bins.setdefault(int((interval["start"] - t0) // width), []).append(interval)
    series: dict[str, list[tuple[float, float]]] = {"p50": [], "p90": [], "p99": [], "failed": []}
    for index, group in sorted(bins.items()):
        x = (index + 0.5) * width
        for kind, q, points in [
            ("ok", "p50", series["p50"]),
            ("ok", "p90", series["p90"]),
            ("ok", "p99", series["p99"]),
            ("failed", "p50", series["failed"]),
        ]:
            found = [(i[kind][q], i[kind]["count"]) for i in group if i[kind][q] is not None]
            if not found:
                continue
            if q == "p50":
                value = sum(v * n for v, n in found) / sum(n for _, n in found)
            else:
                value = max(v for v, _ in found)
            points.append((x, value))
    peak = max((y for points in series.values() for _, y in points), default=1)
    frame = Frame(0, x1, charts.nice_ceiling(peak))
    body = charts.bands(frame, spans) + charts.time_axes(frame, "ms")
    body += "".join(charts.line(frame, points, kind) for kind, points in series.items())
    return charts.svg("latency percentiles over time", body)


def _histogram(histogram: dict[str, Any]) -> str:
    """ok and failed latencies, binned on a log scale between the fastest and slowest."""
    found = {kind: {int(b): n for b, n in histogram[kind].items()} for kind in ("ok", "failed")}
    buckets = [b for got in found.values() for b in got]
    if not buckets:
        return charts.svg("latency histogram", "")
    low, high = min(buckets), max(buckets) + 1
    per_bin = max(1, math.ceil((high - low) / HISTOGRAM_BINS))
    bins: dict[int, list[float]] = {}
    for position, kind in enumerate(("ok", "failed")):
        for bucket, n in found[kind].items():
            bins.setdefault((bucket - low) // per_bin, [0.0, 0.0])[position] += n
    count = math.ceil((high - low) / per_bin)
    peak = max((sum(v) for v in bins.values()), default=1)
    frame = Frame(0, count, charts.nice_ceiling(peak))
    columns = [(i, 1, [(v[0], "ok"), (v[1], "system")]) for i, v in sorted(bins.items())]
    body = charts.stacked_bars(frame, columns)
    for step in range(5):  # y: rows
        value = frame.y1 * step / 4
        body += charts.label(charts.LEFT - 6, frame.y(value) + 4, charts.short(value), "end")
    for i in range(0, count + 1, max(1, count // 6)):  # x: milliseconds at bin edges
        ms = bucket_middle(low + i * per_bin) * 1000
        body += charts.label(frame.x(i), charts.HEIGHT - 8, f"{ms:,.3g}")
    return charts.svg("latency histogram", body)


def _concurrency(seconds: list[dict[str, Any]], t0: float, x1: float, spans: list[Any]) -> str:
    """The limit and the most in flight, per bin of seconds (the lowest limit in it, the
    most in flight)."""
    width = _bin_width(x1)
    bins: dict[int, tuple[int, int]] = {}
    for second in seconds:
        index = int((second["at"] - t0) // width)
        low, high = bins.get(index, (second["concurrency"], 0))
        bins[index] = (min(low, second["concurrency"]), max(high, second["in_flight"]))
    limit = [(index * width, low) for index, (low, _) in sorted(bins.items())]
    in_flight = [(index * width, high) for index, (_, high) in sorted(bins.items())]
    peak = max((y for _, y in limit + in_flight), default=1)
    frame = Frame(0, x1, charts.nice_ceiling(peak))
    body = charts.bands(frame, spans) + charts.time_axes(frame, "requests")
    body += charts.line(frame, limit, "limit", step=True)
    body += charts.line(frame, in_flight, "inflight", step=True)
    return charts.svg("concurrency limit and requests in flight", body)


def _rows(pairs: Sequence[tuple[Any, Any]]) -> str:
    return "".join(f'<tr><td>{escape(str(k))}</td><td class="n">{v:,}</td></tr>' for k, v in pairs)


def _event_row(event: dict[str, Any], t0: float) -> str:
    lasting = "" if event["seconds"] is None else f" for {event['seconds']} s"
    return (
        f"<tr><td>{charts.clock(event['at'] - t0)}</td><td>{escape(event['kind'])}</td>"
        f"<td>{escape(event['detail'])}{lasting}</td></tr>"
    )


def _tables(data: dict[str, Any], messages: Sequence[tuple[str, int]]) -> str:
    events = [e for e in data["events"] if e["kind"] != "run"]
    settings = data["settings"]
    return (
        "<h2>Outcomes</h2><table><tr><th>category</th><th></th></tr>"
        + _rows([("ok", data["ok"]), *data["categories"].items()])
        + "</table><h2>HTTP status codes</h2><table>"
        + _rows(list(data["statuses"].items()))
        + "</table><h2>Top error messages</h2><table>"
        + (_rows([(m, n) for m, n in messages]) or "<tr><td>none</td></tr>")
        + f"</table><h2>Policy events ({len(events)})</h2><table>"
        + "".join(_event_row(e, data["events"][0]["at"]) for e in events[:200])
        + "</table><h2>Settings (secrets masked)</h2><table>"
        + "".join(
            f"<tr><td>{escape(name)}</td><td>{escape(str(value))}</td></tr>"
            for name, value in settings.items()
            if value not in (None, [], "", False)
        )
        + "</table>"
    )
