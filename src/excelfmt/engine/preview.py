"""A dry run: the first requests a run would send, planned and not sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..models import Job, JSONValue
from ..redaction import Redactor
from ..sending.events import RunInfo
from ..settings.config import Settings, default_output

SHOWN = 5
"""Requests a dry run shows."""


@dataclass(frozen=True)
class Preview:
    info: RunInfo
    jobs: list[Job]
    """The first requests, and the rows among them refused before sending."""
    batched: list[int] = field(default_factory=list)
    """With --batch: the sheet rows the last job carries, one request for them all."""

    def described(self, redactor: Redactor) -> list[dict[str, JSONValue]]:
        return described(self.jobs, self.batched, redactor)


def rows_wanted(settings: Settings, count: int = SHOWN) -> int:
    """The rows to plan for `first_requests`: `count`, or with --batch a whole batch."""
    wanted = count if settings.batch <= 1 else max(count, settings.batch)
    return min(wanted, settings.limit) if settings.limit else wanted


def first_requests(
    planned: Sequence[Job], settings: Settings, count: int = SHOWN
) -> tuple[list[Job], list[int]]:
    """The first `count` requests among the planned rows; with --batch, the first request
    whole, after the rows refused before it. Also the sheet rows that request carries."""
    from ..calls.bulk import first_batch, style_for

    if settings.batch <= 1:
        return list(planned[:count]), []
    batch = first_batch(planned, settings)
    refused = [job for job in planned if job.problem is not None][:count]
    if not batch:
        return refused, []
    return [*refused, style_for(settings).wrap(batch)], [job.row.number for job in batch]


def preview(settings: Settings, input_path: Path, count: int = SHOWN) -> Preview:
    """The first `count` requests a run would send (a dry run). Sends nothing."""
    from ..calls.jobs import Planner
    from ..sheets.reader import open_sheet

    with open_sheet(input_path, settings) as sheet:
        planner = Planner(settings, sheet.columns)
        planned = [planner.plan(row) for row in sheet.rows(rows_wanted(settings, count))]
        info = RunInfo(
            input_path,
            sheet.name,
            sheet.columns,
            sheet.estimated_rows,
            settings.output or default_output(input_path),
            settings.concurrency,
        )
    jobs, batched = first_requests(planned, settings, count)
    return Preview(info, jobs, batched)


def described(
    jobs: Sequence[Job], batched: Sequence[int], redactor: Redactor
) -> list[dict[str, JSONValue]]:
    """Requests as data, secrets masked, as `run --dry-run --json` and `check --json`
    show them: a refused row as its problem; with --batch, the last request carries the
    sheet rows it is for."""
    from ..store.rowerrors import describe_request

    shown: list[dict[str, JSONValue]] = []
    for job in jobs:
        request = describe_request(job, redactor)
        if request is None:
            shown.append({"row": job.row.number, "problem": job.problem})
            continue
        headers = dict(request.pop("headers"))  # type: ignore[arg-type]
        shown.append({"row": job.row.number, **request, "headers": headers})
    if batched and shown:
        shown[-1]["rows"] = list(batched)
    return shown
