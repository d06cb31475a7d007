"""`excelfmt queue status`: the workers alive, the batches waiting, the runs using a queue."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from ..settings.config import merged_values
from ..ui.console import stdout_console
from .app import reported_errors
from .flags import ConfigFile, Queue, given_settings

queue_app = typer.Typer(
    help="The queue that runs and workers share (scale-out).", no_args_is_help=True
)


def tell(text: str) -> None:
    """A notice for the person waiting on a status read (Redis away, trying again)."""
    print(f"excelfmt: {text}", file=sys.stderr, flush=True)


def queue_settings(given: dict[str, object], config: Path | None) -> dict[str, object]:
    """The settings merged from flags, EXCELFMT_* and excelfmt.toml, with a queue among
    them; a UsageError without one."""
    from ..errors import UsageError

    values = merged_values(given_settings(given), config_file=config)
    if not isinstance(values["queue"], str):
        raise UsageError(
            "No queue: give --queue redis://host:port/db, set EXCELFMT_QUEUE, or put queue "
            "in excelfmt.toml."
        )
    return values


@queue_app.command("status")
def queue_status_command(
    queue: Queue = None,
    config: ConfigFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Workers alive (host, pid, concurrency, rows/s), batches by state, and the latest runs."""
    given = dict(locals())
    with reported_errors():
        from ..broker.connection import masked
        from ..scaleout.status import queue_status
        from ..ui.queue import print_queue_status

        url = str(queue_settings(given, config)["queue"])
        status = queue_status(url, tell)
        if as_json:
            print(json.dumps({"queue": masked(url), **asdict(status)}))
        else:
            print_queue_status(stdout_console(), status, masked(url))
