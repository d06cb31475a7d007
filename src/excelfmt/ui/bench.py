"""What `excelfmt bench` shows: the two ways side by side, and the speedup."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..engine.bench import BenchFigures, BenchReport


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.1f}"


def print_bench(console: Console, report: BenchReport) -> None:
    batched = report.batch > 1
    carrying = f" of {report.batch:,} rows" if batched else ""
    console.print(
        f"{report.method} {escape(report.url)}, {report.direct.requests:,} requests{carrying} "
        "each way"
    )
    table = Table(box=None, pad_edge=False)
    columns = ("", "req/s", *(("rows/s",) if batched else ()), "seconds", "p50 ms", "p90 ms")
    for column in (*columns, "p99 ms", "errors"):
        table.add_column(column, justify="left" if not column else "right")
    ways: tuple[tuple[str, BenchFigures], ...] = (
        ("one at a time", report.direct),
        (f"pool (up to {report.concurrency})", report.pool),
    )
    for name, figures in ways:
        table.add_row(
            name,
            f"{figures.per_second:,.1f}",
            *((f"{figures.rows_per_second:,.1f}",) if batched else ()),
            f"{figures.seconds:,.2f}",
            _ms(figures.p50),
            _ms(figures.p90),
            _ms(figures.p99),
            f"{figures.errors:,}",
        )
    console.print(table)
    console.print(f"Speedup: {report.speedup:.1f}x")
