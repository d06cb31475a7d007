"""`excelfmt check WORKBOOK`: what a run would refuse, found before anything is sent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..settings.config import load_settings
from ..ui.console import stdout_console
from .app import reported_errors
from .flags import (
    OUTPUT,
    WORKBOOK,
    ApiKeyEnv,
    ApiKeyHeader,
    AuthEnv,
    BasicAuthEnv,
    Batch,
    Body,
    Bulk,
    BulkAction,
    ColumnType,
    ConfigFile,
    DecimalComma,
    Delimiter,
    Encoding,
    Header,
    HeaderRow,
    Limit,
    MaxInflation,
    Method,
    Profile,
    Sheet,
    Url,
    given_settings,
)


def check_command(
    workbook: Annotated[
        Path,
        typer.Argument(
            metavar="WORKBOOK", show_default=False, help="The workbook or CSV to check."
        ),
    ],
    url: Url = None,
    batch: Batch = None,
    bulk: Bulk = None,
    bulk_action: BulkAction = None,
    method: Method = None,
    header: Header = None,
    body: Body = None,
    sheet: Sheet = None,
    header_row: HeaderRow = None,
    limit: Limit = None,
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    type: ColumnType = None,
    decimal_comma: DecimalComma = None,
    max_inflation: MaxInflation = None,
    auth_env: AuthEnv = None,
    basic_auth_env: BasicAuthEnv = None,
    api_key_header: ApiKeyHeader = None,
    api_key_env: ApiKeyEnv = None,
    unique: Annotated[
        list[str] | None,
        typer.Option(
            "--unique",
            metavar="COLUMN",
            show_default=False,
            rich_help_panel=WORKBOOK,
            help="A column whose values must not repeat (an order id); repeatable.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PROBLEMS.xlsx",
            show_default=False,
            rich_help_panel=OUTPUT,
            help="Write every problem, with its row's cells, to this workbook.",
        ),
    ] = None,
    config: ConfigFile = None,
    profile: Profile = None,
    as_json: Annotated[
        bool, typer.Option("--json", rich_help_panel=OUTPUT, help="Print one JSON object.")
    ] = False,
) -> None:
    """Read every row and plan its request as `run` would, and send nothing.

    Reports the rows a run would refuse before sending (an empty value the URL needs, an Excel error in a cell, a value not of its column's --type, a value repeated in a --unique column). Takes the same settings as run.

    Exit codes: 0 every row could be sent; 1 some rows would fail; 2 bad usage, settings or input.
    """  # noqa: E501 - rich help keeps line breaks, so paragraphs are single lines
    given = dict(locals())
    with reported_errors():
        settings = load_settings(given_settings(given), config_file=config)
        from ..engine.check import check  # loads the workbook readers: only when checking
        from ..ui.check import print_check, print_check_json

        if output is not None:
            from ..sheets.problembook import ProblemBook

            with ProblemBook(output) as book:
                report = check(
                    settings,
                    workbook,
                    unique=unique or (),
                    on_problem=lambda p: book.add(p.row.number, p.message, p.row.values),
                )
        else:
            report = check(settings, workbook, unique=unique or ())
        if as_json:
            print_check_json(sys.stdout, report, output)
        else:
            print_check(stdout_console(), report, output)
    if not report.clean:
        raise typer.Exit(1)
