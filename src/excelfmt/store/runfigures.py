"""A run's figures from one place: what its page, the runs list, `status --json`,
/api/jobs/{id} and the report say of it.

    rows, ok, failed, categories,  the summary once the run ended (a reprocess renders it
    statuses, top_errors           again from the journal), its last progress record
                                   while it goes: rows as they stand (metrics.tally)
    open_errors, reprocessed,      the error table now
    resolved

Rates, latency and charts are another thing: what was sent when (the timeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..models import JSONValue
from .sessions import board_of

if TYPE_CHECKING:
    from .folder import Store
    from .records import Session


@dataclass(frozen=True)
class RunFigures:
    rows: int
    ok: int
    categories: dict[str, int]
    statuses: dict[str, int]
    top_errors: list[tuple[str, int]]
    """The failed rows' most frequent messages, with how many rows said each."""
    open_errors: int
    reprocessed: int
    resolved: int
    sent_twice: list[int]
    """Sheet rows a queued run's failover sent twice, or may have (the summary names at
    most metrics.summary.SENT_TWICE_SHOWN; `sent_twice_count` counts them all)."""
    sent_twice_count: int = 0

    @property
    def failed(self) -> int:
        return self.rows - self.ok

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "rows": self.rows,
            "ok": self.ok,
            "failed": self.failed,
            "categories": dict(self.categories),
            "statuses": dict(self.statuses),
            "top_errors": [{"message": text, "rows": n} for text, n in self.top_errors],
            "open_errors": self.open_errors,
            "reprocessed": self.reprocessed,
            "resolved": self.resolved,
            "sent_twice": self.sent_twice_count,
            "sent_twice_rows": list(self.sent_twice),
        }


def run_figures(store: Store, session: Session) -> RunFigures:
    summary, progress = session.summary, session.progress
    board = board_of(progress)
    snapshot = board[0] if board else None
    if summary:
        rows, ok = _count(summary.get("rows")), _count(summary.get("ok"))
        categories = _counts(summary.get("categories"))
    else:
        rows, ok = _count(progress.get("done")), _count(progress.get("ok"))
        categories = dict(snapshot.by_category) if snapshot else {}
    if "statuses" in summary:
        statuses = _counts(summary["statuses"])
    else:  # running, or ended before runs kept them in their summary
        statuses = dict(snapshot.statuses) if snapshot else {}
    top = summary.get("top_errors")
    if isinstance(top, list):
        messages = [
            (str(e.get("message")), _count(e.get("rows"))) for e in top if isinstance(e, dict)
        ]
    else:
        messages = list(snapshot.top_errors) if snapshot else []
    return RunFigures(
        rows,
        ok,
        categories,
        statuses,
        messages,
        open_errors=store.count_errors(session.id, state="open"),
        reprocessed=store.count_errors(session.id, state="reprocessed"),
        resolved=store.count_errors(session.id, state="resolved"),
        sent_twice=[_count(n) for n in _list(summary.get("sent_twice_rows"))],
        sent_twice_count=_count(summary.get("sent_twice")),
    )


def _count(value: JSONValue | None) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _list(value: JSONValue | None) -> list[JSONValue]:
    return value if isinstance(value, list) else []


def _counts(value: JSONValue | None) -> dict[str, int]:
    return {str(k): _count(n) for k, n in value.items()} if isinstance(value, dict) else {}
