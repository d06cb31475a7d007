"""Which command lives where, so a command imports only its own module.

Built eagerly, every command's module and options would load for every command:
`excelfmt --version` took 0.4 s, most of it importing the engine, httpx and the
store for commands that were not asked for. Here each command is a name, the module
that defines it and its one-line summary (what `excelfmt --help` lists); the module is
imported and the command built only when it is the one invoked. pip keeps its commands
the same way (pip/_internal/commands/__init__.py). A test holds each summary to the
first line of the command's own help.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

import typer
from typer.core import TyperGroup


@dataclass(frozen=True, slots=True)
class Entry:
    """A command: the attribute of `excelfmt.cli.<module>` that implements it."""

    module: str
    attribute: str
    summary: str
    no_args_is_help: bool = False


COMMANDS: dict[str, Entry] = {
    "run": Entry(
        "run",
        "run_command",
        "Send every row of WORKBOOK to an API and write a results workbook beside it.",
        no_args_is_help=True,
    ),
    "check": Entry(
        "check",
        "check_command",
        "Read every row and plan its request as `run` would, and send nothing.",
        no_args_is_help=True,
    ),
    "status": Entry(
        "sessions",
        "status_command",
        "Where a run stands, while it goes (from another terminal) or after it ended.",
    ),
    "logs": Entry(
        "sessions",
        "logs_command",
        "A run's log: its start and end, rows that failed, retries, the breaker, stops.",
    ),
    "export": Entry(
        "errors",
        "export_command",
        "Render a session's results workbook again from its input and journal.",
        no_args_is_help=True,
    ),
    "reprocess": Entry(
        "reprocess",
        "reprocess_command",
        "Send rows that needed a person again, corrected, as their session sent them.",
        no_args_is_help=True,
    ),
    "resolve": Entry(
        "errors",
        "resolve_command",
        "Close an error without sending its row again (fixed elsewhere, or not wanted).",
        no_args_is_help=True,
    ),
    "worker": Entry(
        "worker",
        "worker_command",
        "Take batches of rows from the queue and send them, until stopped.",
    ),
    "bench": Entry(
        "bench",
        "bench_command",
        "Measure an API: N requests one at a time, then N through the pool; the speedup.",
        no_args_is_help=True,
    ),
    "metrics": Entry(
        "metrics",
        "metrics_command",
        "How a run went second by second (rows/s, latency, status codes, concurrency, "
        "pauses), or every API's runs over a period.",
    ),
    "report": Entry(
        "metrics",
        "report_command",
        "One self-contained HTML page of how a run went: throughput, latency, "
        "concurrency, pauses and breaker periods over time, outcomes, top errors and "
        "settings.",
    ),
    "sessions": Entry("sessions", "sessions_app", "The record of past runs: one session per run."),
    "errors": Entry(
        "errors",
        "errors_app",
        "Rows that need a person (bad data, 4xx): list, inspect, export to fix, clear.",
    ),
    "queue": Entry("queue", "queue_app", "The queue that runs and workers share (scale-out)."),
    "serve": Entry(
        "serve",
        "serve_command",
        "Serve the HTTP API over the store the CLI uses: runs, errors, metrics.",
    ),
    "token": Entry(
        "serve", "token_app", "Who may use `excelfmt serve`: tokens with a role, kept as hashes."
    ),
}


def implementation(name: str) -> Any:
    """The function or sub-application behind command `name`, its module imported."""
    entry = COMMANDS[name]
    return getattr(import_module(f"{__package__}.{entry.module}"), entry.attribute)


def build(name: str) -> typer.core.TyperCommand | TyperGroup:
    """The click command for `name`, built from its Typer definition."""
    found = implementation(name)
    if isinstance(found, typer.Typer):
        group = typer.main.get_group(found)
        group.name = name
        return group
    single = typer.Typer(
        rich_markup_mode="rich", pretty_exceptions_enable=False, add_completion=False
    )
    single.command(name, no_args_is_help=COMMANDS[name].no_args_is_help)(found)
    command = typer.main.get_command(single)
    assert isinstance(command, typer.core.TyperCommand)
    return command


# Contexts and formatters are typed as Any: typer types them with its vendored click,
# whose module path changes between typer releases.
class LazyCommands(TyperGroup):
    """The root group: lists the commands from COMMANDS and builds only the one invoked.

    Its own help is click's plain one: Rich's help formatter takes 0.1 s to import,
    more than the rest of `excelfmt --help`. Each command's help keeps Rich's panels.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        return build(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        super(TyperGroup, self).format_help(ctx, formatter)  # click's, not TyperGroup's

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, entry.summary) for name, entry in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
