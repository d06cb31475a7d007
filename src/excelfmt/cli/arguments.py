"""The arguments of the commands that read the store: which store, which session, JSON.

Apart from flags.py, whose options come from the settings table: `status`, `sessions`
and `errors` need none of it, and start faster without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
LatestSession = Annotated[
    str | None,
    typer.Argument(
        metavar="ID",
        show_default=False,
        help="A session id, or any unique start of one (default: the latest run).",
    ),
]
