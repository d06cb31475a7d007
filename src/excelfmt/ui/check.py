"""What `excelfmt check` shows: how many rows would fail, of what, and the first of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..engine.check import CheckReport
from .words import count


def print_check(console: Console, report: CheckReport, output: Path | None) -> None:
    where = f"{report.input.name}, sheet '{report.sheet}'"
    if report.clean:
        every = "it" if report.rows == 1 else "every one"
        console.print(f"{where}: {count(report.rows, 'row')} checked; {every} could be sent.")
        _print_first_request(console, report)
        return
    console.print(
        f"{where}: {count(report.rows, 'row')} checked; {report.failing:,} would fail before "
        "anything is sent:"
    )
    kinds = Table(box=None, padding=(0, 2, 0, 2), show_header=False)
    kinds.add_column(justify="right")
    kinds.add_column()
    for kind, rows in report.kinds.most_common():
        kinds.add_row(f"{rows:,}", escape(kind))
    console.print(kinds)
    console.print("First problems:")
    for problem in report.first:
        console.print(f"  {escape(problem.message)}", overflow="fold")
    shown = len(report.first)
    total = sum(report.kinds.values())
    if output is not None:
        console.print(f"All {count(total, 'problem')}, with each row's cells: {output}")
    elif total > shown:
        console.print(f"{total - shown:,} more; --output problems.xlsx lists them all.")
    _print_first_request(console, report)


def _print_first_request(console: Console, report: CheckReport) -> None:
    request = report.first_request
    if request is None:
        return
    rows = report.first_rows
    carries = (
        f"rows {rows[0]}-{rows[-1]}, {len(rows):,} in one request"
        if len(rows) > 1
        else f"row {rows[0]}"
    )
    console.print(
        f"First request ({carries}): {request['method']} {request['url']}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    body = request["body"]
    if body is not None:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        console.print(f"  {text}", markup=False, highlight=False, soft_wrap=True)


def print_check_json(stream: TextIO, report: CheckReport, output: Path | None) -> None:
    shown = {
        "input": str(report.input),
        "sheet": report.sheet,
        "sheets": list(report.sheets),
        "columns": list(report.columns),
        "rows": report.rows,
        "failing": report.failing,
        "kinds": dict(report.kinds.most_common()),
        "first": [
            {"row": p.row.number, "kind": p.kind, "problem": p.message} for p in report.first
        ],
        "first_request": report.first_request,
        "first_request_rows": report.first_rows,
        "requests": report.dry_run,
        "output": str(output) if output else None,
        "exit_code": 0 if report.clean else 1,
    }
    stream.write(json.dumps(shown, ensure_ascii=False) + "\n")
