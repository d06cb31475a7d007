"""The command line: a thin shell over excelfmt's library. The only package importing typer.

Each command group lives in its own module, imported only when its command is invoked
(commands.py); exceptions become exit codes in one place, `app.reported_errors`, which
every command body runs inside.
"""

from __future__ import annotations

from .app import app


def main() -> None:
    """Entry point of the `excelfmt` script and `python -m excelfmt`."""
    app(prog_name="excelfmt")


__all__ = ["app", "main"]
