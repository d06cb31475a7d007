"""`excelfmt check`: every row read and planned as a run would, and nothing sent.

A run finds a row's local problems only when it reaches the row: an empty value the URL
needs, an Excel error in a cell, a value not of its column's type, a header that would
hold a line break. A check finds
them all first, plus values repeated in a column that must be unique (an order typed
twice is two orders to the API). Each problem goes to `on_problem` as it is found (the
problems file); the report keeps counts and the first few for the screen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..calls.bulk import first_batch, style_for
from ..calls.jobs import Planner
from ..calls.template import require_column
from ..models import CellValue, Job, JSONValue, Row
from ..settings.config import Settings
from ..sheets.reader import open_sheet
from ..store.rowerrors import describe_request
from .preview import described, first_requests, rows_wanted

SHOWN = 20
"""Problems the report keeps for the screen; the problems file has them all."""
_KINDS = (
    ("holds the Excel error", "Excel error in a cell"),
    ("is empty, but the URL needs it", "empty value the URL needs"),
    ("would contain a line break", "line break in a header"),
    ("not an HTTP method", "no HTTP method"),
)
"""The planner's sentences, by what a summary calls them."""


@dataclass(frozen=True)
class Problem:
    row: Row
    kind: str
    message: str
    """A sentence for a person, starting "Row N: "."""


@dataclass
class CheckReport:
    input: Path
    sheet: str
    columns: tuple[str, ...]
    sheets: tuple[str, ...] = ()
    """Every worksheet of the file, the one read among them."""
    rows: int = 0
    failing: int = 0
    """Rows with at least one problem: a run would not send them."""
    kinds: Counter[str] = field(default_factory=Counter)
    first: list[Problem] = field(default_factory=list)
    first_request: dict[str, JSONValue] | None = None
    """The first request a run would send (with --batch, for all the rows it carries),
    secrets masked."""
    first_rows: list[int] = field(default_factory=list)
    """The sheet rows the first request carries."""
    dry_run: list[dict[str, JSONValue]] = field(default_factory=list)
    """The first requests as `run --dry-run --json` shows them, secrets masked: one
    reading of a file gives both (serve's preview)."""

    @property
    def clean(self) -> bool:
        return self.failing == 0


def check(
    settings: Settings,
    input_path: Path,
    *,
    unique: Sequence[str] = (),
    on_problem: Callable[[Problem], None] = lambda problem: None,
) -> CheckReport:
    """Read and plan every row of the sheet (up to settings.limit); send nothing.

    A wrong setting or file raises as a run would (UsageError, InputError,
    TemplateError); a row's problems are reported, never raised.
    """
    with open_sheet(input_path, settings) as sheet:
        for column in unique:
            require_column(column, sheet.columns, f"--unique names '{column}'")
        planner = Planner(settings, sheet.columns)
        report = CheckReport(input_path, sheet.name, sheet.columns, sheet.sheets)
        seen: dict[str, dict[str, int]] = {column: {} for column in unique}
        opening: list[Job] = []  # planned whole, for the first request only
        previewed: list[Job] = []  # the first rows, planned whole, for the dry run's view
        for row in sheet.rows(settings.limit):
            report.rows += 1
            if len(opening) < settings.batch or len(previewed) < rows_wanted(settings):
                planned = planner.plan(row)
                if len(previewed) < rows_wanted(settings):
                    previewed.append(planned)
                if planned.problem is None and len(opening) < settings.batch:
                    opening.append(planned)  # a refused row never enters the batch
            found = []
            why = planner.problem(row)
            if why:
                kind = "value not of its column's type" if row.problem else _kind(why)
                found.append(Problem(row, kind, why))
            for column, values in seen.items():
                value = _key(row.values.get(column))
                if value is None:
                    continue
                first = values.setdefault(value, row.number)
                if first != row.number:
                    message = f"Row {row.number}: {column} {value!r} repeats row {first}."
                    found.append(Problem(row, f"{column} repeated", message))
            if found:
                report.failing += 1
            for problem in found:
                report.kinds[problem.kind] += 1
                if len(report.first) < SHOWN:
                    report.first.append(problem)
                on_problem(problem)
    batch = first_batch(opening, settings)
    if batch:
        request = style_for(settings).wrap(batch) if settings.batch > 1 else batch[0]
        report.first_request = describe_request(request, settings.redactor())
        report.first_rows = [job.row.number for job in batch]
    report.dry_run = described(*first_requests(previewed, settings), settings.redactor())
    return report


def _kind(message: str) -> str:
    for phrase, kind in _KINDS:
        if phrase in message:
            return kind
    return "cannot be sent"


def _key(value: CellValue) -> str | None:
    """A cell as the uniqueness of a column sees it: its text, trimmed; None if empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None
