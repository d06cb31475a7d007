"""What a run prints on a terminal with rich: the end-of-run table and the dry run.

Apart from live.py's plain lines so that a run piped to a file or a cron job's mail, and
every command that prints no table, loads no rich (0.04 s of every start).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..metrics.summary import RunSummary
from ..sending.events import RunInfo
from .live import resume_hint, shown_ms


def print_summary_table(console: Console, summary: RunSummary) -> None:
    """The end-of-run report on a terminal."""
    m = summary.metrics
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row("rows", f"{m.done:,}")
    table.add_row("[green]ok[/]", f"{m.ok:,}")
    for name, rows in m.by_category.items():
        table.add_row(f"[red]{name}[/]", f"{rows:,}")
    if m.cached:
        table.add_row("answered from cache", f"{m.cached:,}")
    table.add_row("rows/s", f"{m.rows_per_second:.0f}")
    figures = summary.policies or {}
    if figures.get("batch", 1) > 1:
        requests = figures.get("requests", 0)
        per_second = requests / m.elapsed if m.elapsed > 0 else 0.0
        table.add_row(
            "requests (batch)",
            f"{requests:,} ({per_second:.1f}/s, up to {figures['batch']:,} rows each)",
        )
        if figures.get("bisect_requests"):
            table.add_row("  narrowing refused batches", f"{figures['bisect_requests']:,}")
    table.add_row(
        "latency p50 / p90 / p99",
        f"{shown_ms(m.latency_p50)} / {shown_ms(m.latency_p90)} / {shown_ms(m.latency_p99)}",
    )
    table.add_row(
        "concurrency (final / highest)",
        f"{figures.get('concurrency_final', '-')} / {figures.get('concurrency_max', '-')}",
    )
    if figures.get("retries") or figures.get("throttled") or figures.get("breaker_opened"):
        table.add_row(
            "retries / 429s / breaker trips",
            f"{figures.get('retries', 0)} / {figures.get('throttled', 0)} / "
            f"{figures.get('breaker_opened', 0)}",
        )
    table.add_row("results", str(summary.output))
    if summary.session:
        table.add_row("session", summary.session)
    console.print(table)
    if summary.stopped:
        console.print(
            f"[yellow]Stopped early: {escape(summary.stopped)}. The rows not "
            "listed in the results were not sent.[/]"
        )
    if summary.interrupted:
        console.print(
            "[yellow]Interrupted: the rows above were recorded; the rest were not sent.[/]"
        )
    if hint := resume_hint(summary):
        console.print(escape(hint))


def print_dry_run(
    console: Console, info: RunInfo, requests: Sequence[Mapping[str, object]]
) -> None:
    for request in requests:
        if "problem" in request:
            console.print(f"[red]not sent: {escape(str(request['problem']))}[/]", highlight=False)
            continue
        line = f"Row {request['row']}: {request['method']} {request['url']}"
        if "rows" in request:
            rows: list[int] = request["rows"]  # type: ignore[assignment]
            span = f"Rows {rows[0]}-{rows[-1]}" if len(rows) > 1 else f"Row {rows[0]}"
            line = f"{span} ({len(rows):,} in one request): {request['method']} {request['url']}"
        console.print(f"[bold]{escape(line)}[/]", highlight=False, soft_wrap=True)
        for name, value in request["headers"].items():  # type: ignore[attr-defined]
            console.print(f"  {name}: {value}", markup=False, highlight=False, soft_wrap=True)
        headers: dict[str, str] = request["headers"]  # type: ignore[assignment]
        ndjson = "ndjson" in headers.get("Content-Type", "")
        if ndjson and isinstance(request["body"], list):  # a line per value, as sent
            lines = (json.dumps(value, ensure_ascii=False) for value in request["body"])
            console.print("  " + "\n  ".join(lines), markup=False, highlight=False, soft_wrap=True)
        elif request["body"] is not None:
            text = json.dumps(request["body"], ensure_ascii=False, indent=2)
            console.print(
                "  " + text.replace("\n", "\n  "), markup=False, highlight=False, soft_wrap=True
            )
        console.print()
    about = info.estimated_rows if info.estimated_rows is not None else "an unknown number of"
    console.print(
        f"Dry run: nothing was sent. Sheet '{info.sheet}' has about {about} data "
        f"rows; results would go to {info.output}.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
