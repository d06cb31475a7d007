"""The results workbook again, from the input sheet and the session's journal.

The journal is the source of truth: after a resume or a reprocess, the results are
rendered from it, at any time. Rows a reprocess corrected show the values that were
sent; rows the journal does not know (a run stopped before them) are left out, as
the run itself leaves them out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ..errors import UsageError
from ..metrics.counters import Metrics
from ..metrics.summary import RunSummary
from ..models import Outcome, Row
from ..settings.config import default_output
from ..store.folder import Store
from ..store.records import Session
from ..store.rowerrors import as_cells
from ..store.sessions import fingerprint
from .reader import OpenSheet
from .writer import open_results


def session_output(session: Session) -> Path:
    """Where the session's run wrote its results."""
    if session.output:
        return Path(session.output)
    return default_output(Path(session.input))  # recorded by an early version


def export_results(store: Store, session: Session, output: Path | None = None) -> RunSummary:
    """Render the session's results workbook (or .jsonl) to `output`; return its summary."""
    input_path = Path(session.input)
    if not input_path.is_file():
        raise UsageError(
            f"The input of session {session.id}, {input_path}, is gone; "
            "its results can only be rendered from it."
        )
    if fingerprint(input_path) != session.fingerprint:
        raise UsageError(
            f"{input_path} changed since session {session.id} read it; its rows no "
            "longer match the journal, so the results cannot be rendered from it."
        )
    output = output or session_output(session)
    if output.resolve() == input_path.resolve():
        raise UsageError(f"The results file would overwrite the input {input_path}.")
    corrected = {e.seq: e.values for e in store.errors(session.id) if e.state == "reprocessed"}
    settings = session.settings
    capture = [str(path) for path in settings.get("capture") or []]  # type: ignore[union-attr]
    limit = settings.get("limit")
    header_row = settings.get("header_row")
    duration = float(session.summary.get("duration_s") or 0.0)  # type: ignore[arg-type]
    metrics = Metrics(started=0.0)
    journal = store.journal(session.id)
    try:
        with OpenSheet(
            input_path,
            session.sheet,
            header_row if isinstance(header_row, int) else 1,
            delimiter=_text(settings.get("delimiter")),
            encoding=_text(settings.get("encoding")),
        ) as sheet:
            try:
                writer = open_results(output, sheet.columns, capture)
            except OSError as exc:
                raise UsageError(f"Cannot write {output}: {exc.strerror or exc}.") from None
            try:
                for row in sheet.rows(int(limit) if isinstance(limit, int) else None):
                    recorded = journal.get(row.seq)
                    if recorded is None:
                        continue
                    if row.seq in corrected:
                        row = Row(
                            row.seq, row.number, {**row.values, **as_cells(corrected[row.seq])}
                        )
                    outcome = Outcome.from_recorded(row, recorded)
                    metrics.record(outcome)
                    writer.add([outcome])
                summary = RunSummary(
                    input=input_path,
                    sheet=sheet.name,
                    output=output,
                    started_at=datetime.fromisoformat(session.started_at),
                    finished_at=(
                        datetime.fromisoformat(session.finished_at)
                        if session.finished_at
                        else datetime.now(UTC)
                    ),
                    metrics=metrics.snapshot(max(duration, 1e-9)),
                    settings=settings,
                    session=session.id,
                    interrupted=session.state == "interrupted",
                    stopped=str(session.summary.get("stopped") or "") or None,
                )
                writer.finish(summary)
            except BaseException:
                writer.discard()
                raise
    finally:
        journal.close()
    return summary


def _text(value: object) -> str | None:
    """A recorded text setting; None when the session did not record one."""
    return value if isinstance(value, str) else None
