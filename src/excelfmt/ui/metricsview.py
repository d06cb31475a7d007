"""`excelfmt metrics` on a terminal: the figures of `metrics.digest`'s JSON as tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .words import count

SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60


def sparkline(values: list[int], width: int = SPARK_WIDTH) -> str:
    """Values squeezed into at most `width` characters (each the mean of its share)."""
    if not values:
        return ""
    step = max(1, -(-len(values) // width))
    means = [sum(values[i : i + step]) / step for i in range(0, len(values), step)]
    peak = max(means) or 1
    return "".join(SPARK[min(len(SPARK) - 1, int(m / peak * (len(SPARK) - 1)))] for m in means)


def _ms(figures: dict[str, Any]) -> list[str]:
    return ["-" if figures[q] is None else f"{figures[q]:,.0f}" for q in ("p50", "p90", "p99")] + [
        f"{figures['count']:,}"
    ]


def batched(data: dict[str, Any]) -> bool:
    """Whether the session sent many rows a request (--batch)."""
    return int((data.get("settings") or {}).get("batch") or 1) > 1


def requests_line(data: dict[str, Any]) -> str:
    """Requests and requests/s beside the rows they carried, for a batched session."""
    rate = data.get("requests_per_s")
    per_second = f", {rate:,.1f}/s" if rate else ""
    size = int(data["settings"]["batch"])
    return f"{data.get('requests', 0):,}{per_second}, up to {size:,} rows each (--batch)"


def print_session(console: Console, data: dict[str, Any]) -> None:
    console.print(
        f"[bold]Session {data['session']}[/] · {escape(str(data['input']))} · sheet "
        f"{escape(str(data['sheet']))} · {escape(str(data['api_host']))} · {data['state']}"
    )
    rate = f", {data['rows_per_s']:,.0f} rows/s" if data["rows_per_s"] else ""
    runs = count(data["runs"], "run")
    console.print(
        f"{count(data['rows'], 'row')}: [green]{data['ok']:,} ok[/], "
        f"[red]{data['failed']:,} failed[/] "
        f"({data['failure_share']:.1%}); {runs}, {data['duration_s']:,.1f} s{rate}"
    )
    table = Table(box=None, padding=(0, 2), show_edge=False)
    for name in ("latency (ms)", "p50", "p90", "p99", "rows"):
        table.add_column(name, justify="left" if name.startswith("latency") else "right")
    for kind in ("all", "ok", "failed"):
        table.add_row(kind, *_ms(data["latency_ms"][kind]))
    console.print(table)
    statuses = " · ".join(f"{code} {n:,}" for code, n in data["statuses"].items())
    console.print(f"HTTP status    {statuses or '-'}")
    if data["categories"]:
        failures = " · ".join(f"{name} {n:,}" for name, n in data["categories"].items())
        console.print(f"failures       [red]{failures}[/]")
    per_second = [sum(s["outcomes"].values()) for s in data["seconds"]]
    if per_second:
        console.print(
            f"rows/s         [green]{sparkline(per_second)}[/] (peak {max(per_second):,})"
        )
    if batched(data):
        console.print(f"requests       {requests_line(data)}")
    pauses = [e for e in data["events"] if e["kind"] == "pause"]
    opened = [e for e in data["events"] if e["kind"] == "breaker" and e["detail"] == "open"]
    if pauses or opened:
        console.print(
            f"policies       {len(pauses)} pause(s) asked by the API, "
            f"breaker opened {len(opened)} time(s)"
        )
    console.print(
        f"[dim]excelfmt report {data['session'][:8]} -o report.html draws it; "
        "--json gives every second.[/]"
    )


def print_hosts(console: Console, data: dict[str, Any]) -> None:
    if not data["hosts"]:
        console.print(f"No runs in the last {data['since']}.")
        return
    table = Table(title=f"Runs of the last {data['since']}, per API", title_justify="left")
    for name in ("API", "runs", "rows", "rows/s", "p50 ms", "p99 ms", "failed"):
        table.add_column(name, justify="left" if name == "API" else "right")
    for host in data["hosts"]:
        latency = host["latency_ms"]["all"]
        table.add_row(
            escape(host["host"]),
            f"{host['runs']:,}",
            f"{host['rows']:,}",
            "-" if host["rows_per_s"] is None else f"{host['rows_per_s']:,.0f}",
            "-" if latency["p50"] is None else f"{latency['p50']:,.0f}",
            "-" if latency["p99"] is None else f"{latency['p99']:,.0f}",
            f"{host['failure_share']:.1%}",
        )
    console.print(table)
