"""A dry run: the first requests a run would send, planned and not sent."""

from __future__ import annotations

from pathlib import Path

from ..models import Job
from ..sending.events import RunInfo
from ..settings.config import Settings, default_output


def preview(settings: Settings, input_path: Path, count: int = 5) -> tuple[RunInfo, list[Job]]:
    """The first `count` requests a run would send (a dry run); sends nothing."""
    from ..calls.jobs import Planner
    from ..sheets.reader import open_sheet

    with open_sheet(input_path, settings) as sheet:
        planner = Planner(settings, sheet.columns)
        limit = min(count, settings.limit) if settings.limit else count
        jobs = [planner.plan(row) for row in sheet.rows(limit)]
        info = RunInfo(
            input_path,
            sheet.name,
            sheet.columns,
            sheet.estimated_rows,
            settings.output or default_output(input_path),
            settings.concurrency,
        )
        return info, jobs
