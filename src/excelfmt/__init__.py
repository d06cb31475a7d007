"""excelfmt: send every row of an Excel workbook to an HTTP API and account for every row.

    from pathlib import Path
    import excelfmt

    settings = excelfmt.load_settings({"url": "https://api.example.com/orders"})
    summary = excelfmt.run(settings, Path("orders.xlsx"))
    print(summary.metrics.ok, "rows ok; exit code", summary.exit_code)

Importing excelfmt loads neither typer nor rich: those belong to the command line.
"""

import logging

from ._version import __version__
from .engine.events import Observer, RunInfo
from .engine.preview import preview
from .engine.runner import run
from .errors import (
    ExcelfmtError,
    ExitCode,
    InputError,
    Interrupted,
    RunStopped,
    TemplateError,
    UsageError,
)
from .metrics.counters import Snapshot
from .metrics.summary import RunSummary
from .models import Category, CellError, Job, Outcome, Row
from .settings.config import Settings, load_settings

# A library never prints on its own; the CLI decides where log records go.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Category",
    "CellError",
    "ExcelfmtError",
    "ExitCode",
    "InputError",
    "Interrupted",
    "Job",
    "Observer",
    "Outcome",
    "Row",
    "RunInfo",
    "RunStopped",
    "RunSummary",
    "Settings",
    "Snapshot",
    "TemplateError",
    "UsageError",
    "__version__",
    "load_settings",
    "preview",
    "run",
]
