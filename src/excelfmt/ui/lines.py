"""The plain lines people read of the store: a run's status, its log, a reprocess.

Plain text without rich: `excelfmt status`, `logs`, `sessions list` and `errors list`
print these and nothing else, and a command that prints lines should not pay for
loading a table renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..store.records import RowError, Session
from . import plaintable
from .words import count

if TYPE_CHECKING:
    from ..engine.reprocess import Reprocessed  # only a type: reprocess loads the workbook modules


def reprocess_line(result: Reprocessed) -> str:
    text = f"excelfmt: {result.succeeded} reprocessed, {result.failed} still failing"
    if result.unsent:
        text += f", {len(result.unsent)} not sent"
    if result.stopped:
        text += f". Stopped: {result.stopped}"
    if result.output:
        text += f"; results: {result.output}"
    elif result.output_problem:
        text += f"; the results file was not updated: {result.output_problem}"
    return text


def unknown_outcome(rows: Sequence[int]) -> str:
    """What people should know of rows whose outcome a dead run never recorded."""
    listed = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
    return (
        f"{count(len(rows), 'row')} {'was' if len(rows) == 1 else 'were'} in flight when the "
        f"run died ({listed}): perhaps sent, "
        "perhaps not; a resume sends them again with the same Idempotency-Key"
    )


def _whole(value: object) -> int:
    """A count from a JSON record, 0 if missing."""
    return value if isinstance(value, int) else 0


def _requests(requests: object, batch: object, seconds: object) -> str:
    """A batched run's requests beside its rows: "12 requests of up to 200 rows (9.8/s)"."""
    sent = _whole(requests)
    rate = f" ({sent / seconds:.1f}/s)" if isinstance(seconds, int | float) and seconds else ""
    return f"{count(sent, 'request')} of up to {_whole(batch):,} rows{rate}"


def status_line(session: Session, unknown: Sequence[int] = ()) -> str:
    """`excelfmt status ID`: where the run stands, in a sentence or two."""
    head = f"Session {session.id} ({Path(session.input).name}, sheet {session.sheet}): "
    p, m = session.progress, session.summary
    if session.state == "running":
        total = p.get("estimated_rows")
        done = p.get("done") or 0
        of = f" of about {total}" if total else ""
        known = isinstance(total, int) and total and isinstance(done, int)
        share = f" ({100 * done / total:.0f}%)" if known else ""  # type: ignore[operator]
        text = (
            f"running (pid {session.pid}): {done}{of} rows{share}, {p.get('ok', 0)} ok, "
            f"{p.get('failed', 0)} failed, {p.get('rows_per_s', 0)} rows/s; "
            f"{p.get('in_flight', 0)}/{p.get('limit', 0)} in flight, "
            f"breaker {p.get('breaker', '-')}"
        )
        if _whole(p.get("batch")) > 1:
            text += f"; {_requests(p.get('requests'), p.get('batch'), p.get('elapsed_s'))}"
        if p.get("paused"):
            text += ", paused by the API"
        return head + text + f"; as of {p.get('updated_at', session.started_at)}."
    if session.state == "crashed":
        return (
            head
            + (
                f"crashed (its process {session.pid} is gone) after "
                f"{count(_whole(p.get('done')), 'row')}; excelfmt run --resume {session.id} sends "
                "the rest."
            )
            + (f" Unknown outcome: {unknown_outcome(unknown)}." if unknown else "")
        )
    text = f"{session.state}"
    if session.finished_at:
        text += f" at {session.finished_at}"
    if "rows" in m:
        text += (
            f": {count(_whole(m['rows']), 'row')}, {m.get('ok'):,} ok, {m.get('failed'):,} failed"
        )
    if _whole(m.get("batch")) > 1:
        text += f"; {_requests(m.get('requests'), m.get('batch'), m.get('duration_s'))}"
    if m.get("error"):
        text += f": {m['error']}"
    if m.get("stopped"):
        text += f". Stopped: {m['stopped']}"
    if session.state in ("stopped", "interrupted"):
        text += f". excelfmt run --resume {session.id} sends the rest"
    if unknown:
        text += f". Unknown outcome: {unknown_outcome(unknown)}"
    return head + text + "."


def log_line(line: dict[str, object]) -> str:
    """A line of a run's log for reading: time, level, row, what happened, the facts."""
    facts = {k: v for k, v in line.items() if k not in ("time", "level", "event", "row")}
    text = f"{line.get('time', '')} {line.get('level', ''):<7}"
    if line.get("row") is not None:
        text += f" row {line['row']}:"
    text += f" {line.get('event', '')}"
    shown = [f"{k}={v}" for k, v in facts.items() if v is not None and k != "traceback"]
    if shown:
        text += " (" + ", ".join(shown) + ")"
    if facts.get("traceback"):
        text += "\n" + str(facts["traceback"])
    return text


def sessions_table(sessions: list[Session]) -> str:
    """`excelfmt sessions list`: a line per run, newest first."""
    if not sessions:
        return "No sessions recorded yet."
    rows = [
        [
            session.id,
            session.started_at[:16].replace("T", " "),
            session.state,
            *(str(session.summary.get(name, "")) for name in ("rows", "ok", "failed")),
            session.sheet,
            Path(session.input).name,  # the names give way, not the figures
        ]
        for session in sessions
    ]
    headers = ("id", "started (UTC)", "state", "rows", "ok", "failed", "sheet", "input")
    return plaintable.render(headers, rows, right=frozenset({3, 4, 5}))


def errors_table(errors: Sequence[RowError]) -> str:
    """`excelfmt errors list`: a line per error."""
    if not errors:
        return "No errors to show."
    rows = [
        [
            e.short_id,
            e.session,
            str(e.row),
            e.state,
            e.category,
            str(e.http_status or "-"),
            e.message or "",
        ]
        for e in errors
    ]
    headers = ("id", "session", "row", "state", "category", "status", "message")
    return plaintable.render(headers, rows, right=frozenset({2}))
