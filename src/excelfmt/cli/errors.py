"""Rows that need a person: `excelfmt errors ...`, `resolve`, `reprocess` and `export`."""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from ..models import Category
from ..settings.environment import store_folder
from ..store.errortable import ErrorFilter
from ..store.folder import Store
from ..store.records import STATES, RowError, error_json, now
from ..ui.lines import errors_table
from .app import reported_errors
from .arguments import JsonOption, StoreOption

# Commands that read or write workbooks import what does it when they run: the `run`
# command loads this module too, and its sending process never opens a workbook
# (XlsxWriter alone is 12 MiB of its memory, and the workbook process inherits it).

errors_app = typer.Typer(
    help="Rows that need a person (bad data, 4xx): list, inspect, export to fix, clear.",
    no_args_is_help=True,
)

PAGE = 50
"""Errors `errors list` shows unless told: a screenful or two, not ten thousand lines."""

SessionOption = Annotated[
    str | None,
    typer.Option("--session", metavar="ID", show_default=False, help="Only this session's."),
]
CategoryOption = Annotated[
    str | None,
    typer.Option(
        "--category",
        metavar="CATEGORY",
        show_default=False,
        help="Only this category: REQUIRES_USER_ACTION, AUTH_ERROR or UNKNOWN_ERROR.",
    ),
]
ErrorId = Annotated[str, typer.Argument(metavar="ID", help="An error id, or any unique start.")]


def category_named(given: str | None) -> str | None:
    if given is None:
        return None
    wanted = given.strip().upper().replace("-", "_")
    if wanted not in Category.__members__:
        raise UsageError(
            f"--category {given!r} is not a category; use one of {', '.join(Category)}."
        )
    return wanted


def chosen_errors(
    store: Store, session: str | None, category: str | None, state: str = "all"
) -> list[RowError]:
    """The chosen errors: newest session first, then in sheet order."""
    session_id = store.session(session).id if session else None
    chosen = None if state == "all" else state
    return list(store.errors(session_id, state=chosen, category=category))


def _print_json_array(items: Iterable[dict[str, object]]) -> None:
    """A JSON array written item by item: ten thousand errors are never all in memory."""
    sys.stdout.write("[")
    for index, item in enumerate(items):
        sys.stdout.write((",\n" if index else "\n") + json.dumps(item, ensure_ascii=False))
    sys.stdout.write("\n]\n")


@errors_app.command("list")
def list_errors(
    session: SessionOption = None,
    category: CategoryOption = None,
    state: Annotated[
        str, typer.Option("--state", help="open, resolved, reprocessed or all.")
    ] = "open",
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            metavar="N",
            min=1,
            show_default=False,
            help=f"Show the first N errors [default: {PAGE}; with --json, all].",
        ),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Show every error, however many.")
    ] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """The rows that need a person, newest session first, a page at a time."""
    with reported_errors():
        if state not in (*STATES, "all"):
            raise UsageError(f"--state {state!r}: use open, resolved, reprocessed or all.")
        with Store(store_folder(store)) as opened:
            session_id = opened.session(session).id if session else None
            chosen = ErrorFilter(None if state == "all" else state, category_named(category))
            found = opened.errors(session_id, matching=chosen)
            if as_json:
                _print_json_array(map(error_json, islice(found, limit) if limit else found))
                return
            shown = list(found if show_all else islice(found, limit or PAGE))
            print(errors_table(shown))
            more = 0 if show_all else opened.count_errors(session_id, matching=chosen) - len(shown)
        if more:
            print(
                f"excelfmt: {more:,} more not shown; --limit N or --all shows more, "
                "--json prints them all.",
                file=sys.stderr,
            )


@errors_app.command("show")
def show_error(error_id: ErrorId, store: StoreOption = None, as_json: JsonOption = False) -> None:
    """One error in full: the row's cells, the request sent, the API's answer."""
    with reported_errors(), Store(store_folder(store)) as opened:
        error = opened.error(error_id)
        if as_json:
            print(json.dumps(error_json(error), ensure_ascii=False))
        else:
            from ..ui import records  # rich's tables: only for the table
            from ..ui.console import stdout_console

            records.print_error(stdout_console(), error)


@errors_app.command("summary")
def summarize_errors(
    session: SessionOption = None, store: StoreOption = None, as_json: JsonOption = False
) -> None:
    """How many errors there are, per category and state."""
    with reported_errors(), Store(store_folder(store)) as opened:
        session_id = opened.session(session).id if session else None
        table: dict[str, dict[str, int]] = defaultdict(dict)
        totals: Counter[str] = Counter()
        for (category, state), count in opened.error_counts(session_id).items():
            table[category][state] = count
            totals[state] += count
        if as_json:
            print(
                json.dumps(
                    {"categories": table, **{state: totals[state] for state in STATES}},
                    ensure_ascii=False,
                )
            )
        else:
            from ..ui import records
            from ..ui.console import stdout_console

            records.print_error_summary(stdout_console(), table)


@errors_app.command("clear")
def clear_errors(
    session: Annotated[
        str, typer.Option("--session", metavar="ID", help="The session whose errors to delete.")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    store: StoreOption = None,
) -> None:
    """Delete every recorded error of a session (open or not)."""
    with reported_errors(), Store(store_folder(store)) as opened:
        session_id = opened.session(session).id
        found = list(opened.errors(session_id))
        if not found:
            print(f"Session {session_id} has no recorded errors.")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError("Clearing errors asks first; add --yes to clear without asking.")
            typer.confirm(
                f"Delete the {len(found)} recorded errors of session {session_id}?", abort=True
            )
        opened.delete_errors(e.id for e in found)
        print(f"Deleted {len(found)} errors of session {session_id}.")


@errors_app.command("export")
def export_errors(
    session: Annotated[
        str,
        typer.Option("--session", metavar="ID", help="The session whose open errors to export."),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE.xlsx", help="The workbook to write.")
    ],
    category: CategoryOption = None,
    store: StoreOption = None,
) -> None:
    """The open errors as a workbook to correct in Excel, then `reprocess --from` it."""
    with reported_errors():
        if output.suffix.lower() != ".xlsx":
            raise UsageError(f"--output must end in .xlsx, got {output.name!r}.")
        with Store(store_folder(store)) as opened:
            found = chosen_errors(opened, session, category_named(category), "open")
            session_id = opened.session(session).id
        if not found:
            print(f"Session {session_id} has no open errors; nothing written.")
            return
        from ..sheets import fixbook

        count = fixbook.write(found, output)
        print(
            f"Wrote {count} open errors of session {session_id} to {output}. Correct the "
            f"cells, save, then: excelfmt reprocess --session {session_id} --from {output}"
        )


def resolve_command(
    error_id: ErrorId,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT", help="Why it is closed.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Close an error without sending its row again (fixed elsewhere, or not wanted)."""
    with reported_errors(), Store(store_folder(store)) as opened:
        error = opened.error(error_id)
        if error.state != "open":
            raise UsageError(f"Error {error.short_id} is already {error.state}.")
        error.state, error.note, error.updated_at = "resolved", note, now()
        opened.save_error(error)
        print(f"Resolved error {error.short_id} (session {error.session}, row {error.row}).")


def export_command(
    session: Annotated[str, typer.Argument(metavar="SESSION", help="A session id.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            show_default=False,
            help="Where to write (.xlsx or .jsonl); default: where the run wrote its results.",
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Render a session's results workbook again from its input and journal."""
    with reported_errors():
        if output is not None and output.suffix.lower() not in (".xlsx", ".jsonl"):
            raise UsageError(f"--output must end in .xlsx or .jsonl, got {output.name!r}.")
        from ..sheets.export import export_results

        with Store(store_folder(store)) as opened:
            summary = export_results(opened, opened.session(session), output)
        m = summary.metrics
        print(f"Wrote {summary.output}: {m.done} rows, {m.ok} ok, {m.failed} failed.")
