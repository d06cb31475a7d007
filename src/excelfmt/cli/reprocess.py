"""`excelfmt reprocess`: rows that needed a person, corrected and sent again."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import ExitCode, UsageError
from ..models import JSONValue
from ..settings.environment import store_folder
from ..settings.options import parse_header
from ..store.folder import Store
from ..store.records import error_json
from ..ui import records
from ..ui.console import stdout_console
from .app import reported_errors
from .arguments import JsonOption, StoreOption
from .errors import CategoryOption, category_named, chosen_errors

if TYPE_CHECKING:
    from ..engine.reprocess import Reprocessed

# Commands that read or write workbooks import what does it when they run: the `run`
# command loads this module too, and its sending process never opens a workbook
# (XlsxWriter alone is 12 MiB of its memory, and the workbook process inherits it).

_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


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
                chosen = chosen_errors(opened, session, category_named(category), "open")
                if not chosen:
                    raise UsageError(f"Session {session} has no open errors to reprocess.")
                corrections = {}
                if from_file:
                    # The rows of the fix workbook are the ones to send: a row deleted
                    # from it is one the person is not ready to send again.
                    from ..engine.reprocess import fix_file_corrections

                    corrections = fix_file_corrections(chosen, from_file)
                    left_out = len(chosen) - len(corrections)
                    chosen = [e for e in chosen if e.id in corrections]
                    if left_out:
                        print(
                            f"excelfmt: {left_out} open errors are not in {from_file}; "
                            "they stay open, unsent.",
                            file=sys.stderr,
                        )
            from ..engine.reprocess import reprocess

            console = stdout_console()
            with records.reprocess_progress(console, len(chosen), not as_json) as progress:
                result = reprocess(
                    opened, chosen, corrections, headers=headers, progress=progress, by=_user()
                )
    if as_json:
        print(json.dumps(_result_json(result), ensure_ascii=False))
    else:
        records.print_reprocessed(console, result)
    code = ExitCode.STOPPED if result.stopped else ExitCode.ROWS_FAILED if result.failed else 0
    if code:
        raise typer.Exit(int(code))


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
        "errors": [
            {**error_json(e), "result": result.outcomes[e.id].status} for e in result.errors
        ],
    }


def _user() -> str | None:
    """Who corrects the rows, as the log names them: the account running the command."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container)
        return None
