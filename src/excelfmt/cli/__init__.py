"""The command line: a thin shell over excelfmt's library. The only package importing typer.

Each command group lives in its own module, imported only when its command is invoked
(commands.py); exceptions become exit codes in one place, `app.reported_errors`, which
every command body runs inside.
"""

from __future__ import annotations

import gc

from .app import app


def main() -> None:
    """Entry point of the `excelfmt` script and `python -m excelfmt`."""
    try:
        app(prog_name="excelfmt")
    finally:
        # The interpreter's exit collects garbage over every object of every module
        # loaded: 0.1 s after a run, when nothing is left to free that the end of the
        # process does not free anyway. Frozen, the objects are not walked.
        gc.freeze()


__all__ = ["app", "main"]
