"""A dry run: the first requests a run would send, planned and not sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..models import Job
from ..sending.events import RunInfo
from ..settings.config import Settings, default_output


@dataclass(frozen=True)
class Preview:
    info: RunInfo
    jobs: list[Job]
    """The first requests, and the rows among them refused before sending."""
    batched: list[int] = field(default_factory=list)
    """With --batch: the sheet rows the last job carries, one request for them all."""


def preview(settings: Settings, input_path: Path, count: int = 5) -> Preview:
    """The first `count` requests a run would send (a dry run); with --batch, the first
    request whole, and the rows refused before it among those read for it. Sends nothing."""
    from ..calls.bulk import first_batch, style_for
    from ..calls.jobs import Planner
    from ..sheets.reader import open_sheet

    with open_sheet(input_path, settings) as sheet:
        planner = Planner(settings, sheet.columns)
        wanted = count if settings.batch <= 1 else max(count, settings.batch)
        limit = min(wanted, settings.limit) if settings.limit else wanted
        jobs = [planner.plan(row) for row in sheet.rows(limit)]
        info = RunInfo(
            input_path,
            sheet.name,
            sheet.columns,
            sheet.estimated_rows,
            settings.output or default_output(input_path),
            settings.concurrency,
        )
    if settings.batch <= 1:
        return Preview(info, jobs)
    batch = first_batch(jobs, settings)
    refused = [job for job in jobs if job.problem is not None][:count]
    if not batch:
        return Preview(info, refused)
    request = style_for(settings).wrap(batch)
    return Preview(info, [*refused, request], [job.row.number for job in batch])
