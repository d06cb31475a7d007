"""What a finished (or stopped) run reports: for people, for cron, for the Summary sheet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import ExitCode
from ..models import JSONValue
from .counters import Snapshot

SENT_TWICE_SHOWN = 1000
"""Rows sent twice the summary names (all are counted)."""


@dataclass(frozen=True)
class RunSummary:
    input: Path
    sheet: str
    output: Path | None
    started_at: datetime
    finished_at: datetime
    metrics: Snapshot
    settings: dict[str, JSONValue]
    session: str | None = None
    """The run's session id in the store, if it was recorded."""
    interrupted: bool = False
    stopped: str | None = None
    """Why the run stopped early (the API stayed down, credentials refused), if it did."""
    policies: dict[str, int] | None = None
    """batch (rows a request), requests, bisect_requests, retries, throttled (429s),
    breaker_opened, concurrency_final, concurrency_max."""
    peak_rss_mib: dict[str, float] | None = None
    """Peak memory of the sending process and of the workbook process, once known."""
    sent_twice: tuple[int, ...] = ()
    """Sheet rows a queued run's failover sent twice, or may have (same Idempotency-Key)."""

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.stopped:
            return ExitCode.STOPPED
        return ExitCode.ROWS_FAILED if self.metrics.failed else ExitCode.OK

    def to_json(self) -> dict[str, JSONValue]:
        m = self.metrics

        def ms(seconds: float | None) -> float | None:
            return None if seconds is None else round(seconds * 1000, 1)

        return {
            "session": self.session,
            "input": str(self.input),
            "sheet": self.sheet,
            "output": str(self.output) if self.output else None,
            "rows": m.done,
            "ok": m.ok,
            "resumed": m.resumed,
            "cached": m.cached,
            "failed": m.failed,
            "categories": dict(m.by_category),
            "statuses": dict(m.statuses),
            "top_errors": [{"message": text, "rows": n} for text, n in m.top_errors],
            "duration_s": round(m.elapsed, 3),
            "rows_per_s": round(m.rows_per_second, 1),
            "latency_ms": {
                "p50": ms(m.latency_p50),
                "p90": ms(m.latency_p90),
                "p99": ms(m.latency_p99),
            },
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": self.finished_at.isoformat(timespec="seconds"),
            "interrupted": self.interrupted,
            "stopped": self.stopped,
            **(self.policies or {}),
            "peak_rss_mib": dict(self.peak_rss_mib) if self.peak_rss_mib else None,
            "sent_twice": len(self.sent_twice),
            "sent_twice_rows": list(self.sent_twice[:SENT_TWICE_SHOWN]),
            "exit_code": int(self.exit_code),
        }
