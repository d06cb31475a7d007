"""Jobs and outcomes as plain tuples, the form they take on the pipe between the processes.

Plain tuples pickle in a fortieth of the time of the frozen dataclasses, and unpickle
without a Python call per object. Neither form carries the row's values: only the Excel
side needs them, and it keeps them until the row's outcome comes back.
"""

from __future__ import annotations

from typing import Any

from ..models import Job, Outcome, RecordedOutcome, Row

JobWire = tuple[
    int,
    int,
    str,
    str,
    tuple[tuple[str, str], ...],
    bytes | None,
    str | None,
    RecordedOutcome | None,
]
"""seq, row number, then the Job's fields after `row`."""
OutcomeWire = tuple[int, Any, int | None, str | None, Any, float | None, int]
"""seq, then the Outcome's fields after `row`, up to `attempts`."""


def job_to_wire(job: Job) -> JobWire:
    row = job.row
    return (
        row.seq,
        row.number,
        job.method,
        job.url,
        job.headers,
        job.body,
        job.problem,
        job.recorded,
    )


def job_from_wire(wire: JobWire) -> Job:
    seq, number, method, url, headers, body, problem, recorded = wire
    return Job(Row(seq, number, {}), method, url, headers, body, problem, recorded)


def outcome_to_wire(o: Outcome) -> OutcomeWire:
    return (o.row.seq, o.category, o.http_status, o.message, o.response, o.latency, o.attempts)


def outcome_from_wire(wire: OutcomeWire, row: Row) -> Outcome:
    _, category, status, message, response, latency, attempts = wire
    return Outcome(row, category, status, message, response, latency, attempts)
