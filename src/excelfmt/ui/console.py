"""The console that commands print their tables and reports on."""

from __future__ import annotations

from rich.console import Console

from ..settings.environment import columns_asked

UNWRAPPED = 10_000
"""Columns off a terminal: as many as a line needs."""


def stdout_console() -> Console:
    """On a terminal, its width. Piped or redirected, lines as long as they need: a grep, a
    file or a cron mail should not get a message folded in three at 80 columns (COLUMNS,
    when set, still decides)."""
    console = Console(highlight=False)
    if not console.is_terminal and not columns_asked():
        return Console(highlight=False, width=UNWRAPPED)
    return console
