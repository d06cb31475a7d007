"""`excelfmt sessions list|show`: the record of past runs, from the store."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .. import ui_records
from ..config import store_folder
from ..store import Store
from .app import reported_errors

sessions_app = typer.Typer(
    help="The record of past runs: one session per run.", no_args_is_help=True
)

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        metavar="DIR",
        show_default=False,
        help="The store's folder (default: $EXCELFMT_HOME, else the user data folder).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@sessions_app.command("list")
def list_sessions(store: StoreOption = None, as_json: JsonOption = False) -> None:
    """Every recorded run, newest first: id, start, state, input, rows, ok, failed."""
    with reported_errors(), Store(store_folder(store)) as opened:
        found = list(opened.sessions())
    if as_json:
        print(json.dumps([asdict(s) for s in found], ensure_ascii=False))
    else:
        ui_records.print_sessions(Console(highlight=False), found)


@sessions_app.command("show")
def show_session(
    session_id: Annotated[
        str, typer.Argument(metavar="ID", help="A session id, or any unique start of one.")
    ],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run in full: input and its fingerprint, sheet, settings, counts and metrics."""
    with reported_errors(), Store(store_folder(store)) as opened:
        session = opened.session(session_id)
    if as_json:
        print(json.dumps(asdict(session), ensure_ascii=False))
    else:
        ui_records.print_session(Console(highlight=False), session)
