"""A session's HTML report written to a file (`excelfmt report`, serve's report route)."""

from __future__ import annotations

from pathlib import Path

from ..engine.metricsdata import session_metrics
from ..errors import UsageError
from ..store.folder import Store
from ..store.runfigures import run_figures
from .report import render_report


def report_page(store: Path, session_id: str | None) -> str:
    """The HTML report of a session (the latest without an id)."""
    with Store(store) as opened:
        data = session_metrics(opened, session_id)
        messages = run_figures(opened, opened.session(str(data["session"]))).top_errors
    return render_report(data, messages)


def write_report(store: Path, session_id: str | None, output: Path) -> None:
    """Write the HTML report of a session (the latest without an id) to `output`."""
    page = report_page(store, session_id)
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot write the report to {output}: {exc.strerror}.") from None
