"""excelfmt: send every row of an Excel workbook to an HTTP API and account for every row.

    from pathlib import Path
    import excelfmt

    settings = excelfmt.load_settings({"url": "https://api.example.com/orders"})
    summary = excelfmt.run(settings, Path("orders.xlsx"))
    print(summary.metrics.ok, "rows ok; exit code", summary.exit_code)

Importing excelfmt loads neither typer nor rich, nor the engine: each name below is
imported the first time it is used (PEP 562), so `import excelfmt`, and every command
that needs only part of the package, starts in a few milliseconds.
"""

import logging
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
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
    from .sending.events import Observer, RunInfo
    from .settings.config import Settings, load_settings

_HOMES = {
    "Category": "models",
    "CellError": "models",
    "ExcelfmtError": "errors",
    "ExitCode": "errors",
    "InputError": "errors",
    "Interrupted": "errors",
    "Job": "models",
    "Observer": "sending.events",
    "Outcome": "models",
    "Row": "models",
    "RunInfo": "sending.events",
    "RunStopped": "errors",
    "RunSummary": "metrics.summary",
    "Settings": "settings.config",
    "Snapshot": "metrics.counters",
    "TemplateError": "errors",
    "UsageError": "errors",
    "load_settings": "settings.config",
    "preview": "engine.preview",
    "run": "engine.runner",
}
"""Each public name and the module that defines it."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'excelfmt' has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    """The public names, and the subpackages imported so far."""
    loaded = [name for name, value in globals().items() if isinstance(value, ModuleType)]
    return sorted({*__all__, *loaded})


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
