"""What people see of the store: sessions, the rows that need a person, reprocess results.

Tables on a terminal, for `excelfmt sessions ...`, `errors ...` and `reprocess`; the
commands print JSON themselves when asked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..store.records import STATES, RowError, Session
from .lines import reprocess_line, unknown_outcome

if TYPE_CHECKING:
    from ..engine.reprocess import Reprocessed  # only a type: reprocess loads the workbook modules


def print_session(console: Console, session: Session, unknown: Sequence[int] = ()) -> None:
    """`excelfmt sessions show ID`: one run in full."""
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # a fingerprint or a path is shown whole
    table.add_row("session", session.id)
    table.add_row("state", session.state)
    table.add_row("input", escape(session.input))
    table.add_row("fingerprint", session.fingerprint)
    table.add_row("sheet", escape(session.sheet))
    table.add_row("started", session.started_at)
    table.add_row("finished", session.finished_at or "-")
    table.add_row("process", str(session.pid))
    if unknown:
        table.add_row("[yellow]unknown outcome[/]", escape(unknown_outcome(unknown)))
    for name, value in session.summary.items():
        if name in ("input", "sheet", "session", "started_at", "finished_at"):
            continue
        table.add_row(name, escape(_plain(value)))
    console.print(table)
    settings = Table(show_header=False, box=None, padding=(0, 2), title="settings")
    for name, value in session.settings.items():
        if value not in (None, [], ""):
            settings.add_row(name, escape(_plain(value)))
    console.print(settings)


def _plain(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def print_error(console: Console, error: RowError) -> None:
    """`excelfmt errors show ID`: one error in full, with the request that was sent."""
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("error", error.id)
    table.add_row("session", error.session)
    table.add_row("row", str(error.row))
    table.add_row("state", error.state + (f" ({escape(error.note)})" if error.note else ""))
    table.add_row("category", error.category)
    table.add_row("http status", str(error.http_status or "-"))
    table.add_row("message", escape(error.message or "-"))
    for field, message in error.fields:
        table.add_row(f"  field {escape(field)}", escape(message))
    table.add_row("recorded", error.created_at)
    if error.updated_at:
        table.add_row("updated", error.updated_at)
    if error.request:
        table.add_row("request", escape(f"{error.request['method']} {error.request['url']}"))
        headers = error.request.get("headers")
        for pair in headers if isinstance(headers, list) else []:
            if isinstance(pair, list) and len(pair) == 2:
                table.add_row(f"  {escape(str(pair[0]))}", escape(str(pair[1])))
        if error.request.get("body") is not None:
            table.add_row("  body", escape(_plain(error.request["body"])))
    console.print(table)
    values = Table(show_header=False, box=None, padding=(0, 2), title="cells")
    refused = {f.casefold() for f, _ in error.fields}
    for column, value in error.values.items():
        mark = "[red]" if column.casefold() in refused else ""
        values.add_row(f"{mark}{escape(column)}", escape(_plain(value)))
    console.print(values)


def print_error_summary(console: Console, counts: dict[str, dict[str, int]]) -> None:
    """`excelfmt errors summary`: errors per category and state."""
    if not counts:
        console.print("No errors recorded.")
        return
    table = Table(box=None, padding=(0, 2, 0, 0))
    table.add_column("category")
    for state in (*STATES, "total"):
        table.add_column(state, justify="right")
    for category, by_state in sorted(counts.items()):
        figures = [by_state.get(state, 0) for state in STATES]
        table.add_row(category, *map(str, figures), str(sum(figures)))
    console.print(table)


@contextmanager
def reprocess_progress(
    console: Console, total: int, shown: bool = True
) -> Iterator[Callable[[int, int], None]]:
    """A progress bar while rows are sent again, on a terminal; a no-op elsewhere."""
    if not (shown and console.is_terminal):
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("reprocessing"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:
        task = bar.add_task("rows", total=total)
        yield lambda done, total: bar.update(task, completed=done)


def print_reprocessed(console: Console, result: Reprocessed) -> None:
    """`excelfmt reprocess`: what became of each error sent again."""
    table = Table(box=None, padding=(0, 2, 0, 0))
    for column in ("id", "row", "result"):
        table.add_column(column, no_wrap=True)
    table.add_column("message", overflow="fold")
    for error in result.errors:
        outcome = result.outcomes[error.id]
        table.add_row(
            error.short_id,
            str(error.row),
            "[green]ok[/]" if outcome.ok else f"[red]{outcome.status}[/]",
            escape(outcome.message or ""),
        )
    console.print(table)
    console.print(escape(reprocess_line(result)), soft_wrap=True)
