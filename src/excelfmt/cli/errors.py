"""Rows that need a person: `excelfmt errors ...`, `resolve`, `reprocess` and `export`."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ..errors import ExitCode, UsageError
from ..models import Category, JSONValue
from ..settings.config import store_folder
from ..settings.options import parse_header
from ..store.folder import Store
from ..store.records import RowError
from ..store.rowerrors import STATES, now
from ..ui import records
from .app import reported_errors
from .sessions import JsonOption, StoreOption

if TYPE_CHECKING:
    from ..engine.reprocess import Reprocessed

# Commands that read or write workbooks import what does it when they run: the `run`
# command loads this module too, and its sending process never opens a workbook
# (openpyxl alone is 10 MiB of its memory, and the workbook process inherits it).

errors_app = typer.Typer(
    help="Rows that need a person (bad data, 4xx): list, inspect, export to fix, clear.",
    no_args_is_help=True,
)

_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")

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


def _category(given: str | None) -> str | None:
    if given is None:
        return None
    wanted = given.strip().upper().replace("-", "_")
    if wanted not in Category.__members__:
        raise UsageError(
            f"--category {given!r} is not a category; use one of {', '.join(Category)}."
        )
    return wanted


def _errors(
    store: Store, session: str | None, category: str | None, state: str = "all"
) -> list[RowError]:
    """The chosen errors: newest session first, then in sheet order."""
    session_id = store.session(session).id if session else None
    order = {s.id: index for index, s in enumerate(store.sessions())}
    found = [
        e
        for e in store.errors(session_id)
        if (category is None or e.category == category) and state in ("all", e.state)
    ]
    return sorted(found, key=lambda e: (order.get(e.session, len(order)), e.seq))


def _as_json(error: RowError) -> dict[str, object]:
    return {"short_id": error.short_id, **asdict(error)}


@errors_app.command("list")
def list_errors(
    session: SessionOption = None,
    category: CategoryOption = None,
    state: Annotated[
        str, typer.Option("--state", help="open, resolved, reprocessed or all.")
    ] = "open",
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """The rows that need a person, newest session first."""
    with reported_errors():
        if state not in (*STATES, "all"):
            raise UsageError(f"--state {state!r}: use open, resolved, reprocessed or all.")
        with Store(store_folder(store)) as opened:
            found = _errors(opened, session, _category(category), state)
    if as_json:
        print(json.dumps([_as_json(e) for e in found], ensure_ascii=False))
    else:
        records.print_errors(Console(highlight=False), found)


@errors_app.command("show")
def show_error(error_id: ErrorId, store: StoreOption = None, as_json: JsonOption = False) -> None:
    """One error in full: the row's cells, the request sent, the API's answer."""
    with reported_errors(), Store(store_folder(store)) as opened:
        error = opened.error(error_id)
    if as_json:
        print(json.dumps(_as_json(error), ensure_ascii=False))
    else:
        records.print_error(Console(highlight=False), error)


@errors_app.command("summary")
def summarize_errors(
    session: SessionOption = None, store: StoreOption = None, as_json: JsonOption = False
) -> None:
    """How many errors there are, per category and state."""
    with reported_errors(), Store(store_folder(store)) as opened:
        found = _errors(opened, session, None)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for error in found:
        counts[error.category][error.state] += 1
    table = {category: dict(by_state) for category, by_state in counts.items()}
    if as_json:
        totals = Counter(e.state for e in found)
        print(
            json.dumps(
                {"categories": table, **{state: totals[state] for state in STATES}},
                ensure_ascii=False,
            )
        )
    else:
        records.print_error_summary(Console(highlight=False), table)


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
            found = _errors(opened, session, _category(category), "open")
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


def _cell(text: str) -> JSONValue:
    """A value given on the command line: numbers, true/false and empty (None) as such."""
    if _NUMBER.fullmatch(text):
        return int(text) if text.lstrip("-").isdigit() else float(text)
    return {"true": True, "false": False, "": None}.get(text.strip().lower(), text)


def _corrections(assignments: list[str], data: str | None) -> dict[str, JSONValue]:
    found: dict[str, JSONValue] = {}
    if data is not None:
        try:
            parsed = json.loads(data)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--data is not valid JSON ({exc.msg}).") from None
        if not isinstance(parsed, dict):
            raise UsageError('--data must be a JSON object, e.g. {"Amount": 50}.')
        found.update(parsed)
    for item in assignments:
        column, sep, value = item.partition("=")
        if not sep or not column.strip():
            raise UsageError(f"--set expects Column=value, got {item!r}.")
        found[column.strip()] = _cell(value)
    return found


def reprocess_command(
    error_id: Annotated[
        str | None,
        typer.Argument(
            metavar="ID", show_default=False, help="The error to send again (or --session)."
        ),
    ] = None,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="COLUMN=VALUE", show_default=False, help="Correct a cell; repeatable."
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data", metavar="JSON", show_default=False, help='Corrected cells: {"Column": value}.'
        ),
    ] = None,
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            metavar="ID",
            show_default=False,
            help="Send every open error of this session again.",
        ),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="FIX.xlsx",
            show_default=False,
            help="With --session: send the errors listed in this `errors export` "
            "workbook, with the cells as corrected there.",
        ),
    ] = None,
    category: CategoryOption = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            metavar="'NAME: VALUE'",
            show_default=False,
            help="A header whose secret value the session did not store; repeatable.",
        ),
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send rows that needed a person again, corrected, as their session sent them.

    Success marks an error reprocessed; the journal and the session's results file are updated.

    Exit codes: 0 every row sent now succeeded; 1 some still fail; 2 bad usage; 3 stopped early (the API stayed down).
    """  # noqa: E501 - rich help keeps line breaks, so paragraphs are single lines
    with reported_errors():
        headers = tuple(header or ())
        for item in headers:
            try:
                parse_header(item)
            except ValueError as exc:
                raise UsageError(f"--header: {exc}.") from None
        with Store(store_folder(store)) as opened:
            if (error_id is None) == (session is None):
                raise UsageError("Give one error id, or --session ID for all its open errors.")
            if error_id is not None:
                if from_file or category:
                    raise UsageError("--from and --category go with --session, not an error id.")
                error = opened.error(error_id)
                chosen = [error]
                corrections = {error.id: _corrections(assignments or [], data)}
            else:
                if assignments or data:
                    raise UsageError("--set and --data correct one error; give its id.")
                chosen = _errors(opened, session, _category(category), "open")
                if not chosen:
                    raise UsageError(f"Session {session} has no open errors to reprocess.")
                corrections = {}
                if from_file:
                    # The rows of the fix workbook are the ones to send: a row deleted
                    # from it is one the person is not ready to send again.
                    corrections = _from_fix_file(chosen, from_file)
                    left_out = len(chosen) - len(corrections)
                    chosen = [e for e in chosen if e.id in corrections]
                    if left_out:
                        print(
                            f"excelfmt: {left_out} open errors are not in {from_file}; "
                            "they stay open, unsent.",
                            file=sys.stderr,
                        )
            from ..engine.reprocess import reprocess

            console = Console(highlight=False)
            with records.reprocess_progress(console, len(chosen), not as_json) as progress:
                result = reprocess(opened, chosen, corrections, headers=headers, progress=progress)
    if as_json:
        print(json.dumps(_result_json(result), ensure_ascii=False))
    else:
        records.print_reprocessed(console, result)
    code = ExitCode.STOPPED if result.stopped else ExitCode.ROWS_FAILED if result.failed else 0
    if code:
        raise typer.Exit(int(code))


def _from_fix_file(errors: list[RowError], path: Path) -> dict[str, dict[str, JSONValue]]:
    """Corrections by error id: the cells of the fix workbook's rows, for the sheet's columns."""
    from ..sheets import fixbook

    rows = fixbook.read(path)
    corrections: dict[str, dict[str, JSONValue]] = {}
    for error in errors:
        cells = next((c for key, c in rows.items() if error.id.startswith(key)), None)
        if cells is not None:
            corrections[error.id] = {k: v for k, v in cells.items() if k in error.values}
    if rows and not corrections:
        raise UsageError(f"None of the error ids in {path} is an open error of this session.")
    return corrections


def _result_json(result: Reprocessed) -> dict[str, object]:
    return {
        "session": result.session.id,
        "sent": len(result.errors),
        "reprocessed": result.succeeded,
        "failed": result.failed,
        "unsent": len(result.unsent),
        "stopped": result.stopped,
        "output": str(result.output) if result.output else None,
        "output_problem": result.output_problem,
        "errors": [{**_as_json(e), "result": result.outcomes[e.id].status} for e in result.errors],
    }


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
