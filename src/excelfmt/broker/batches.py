"""What crosses Redis: batches of planned requests one way, their rows' outcomes back.

A batch carries the session's settings as recorded (secrets masked, secret *names*
kept) and each row's request without its credentials: a worker adds those from its own
environment, so no secret value is ever written to Redis. The Idempotency-Key travels
with the request, so a row sent twice (a worker killed mid-row) is sent with the same
key. Every batch says its format: a worker that cannot read it refuses it with a
sentence, never a half-understood send.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..models import Job, JSONValue, Outcome, Row
from ..settings.config import Settings

FORMAT = 1
"""The batch format this excelfmt writes and reads."""

OutcomeRecord = list[Any]
"""[seq, row number, *Outcome.recorded] (category, http_status, message, response,
latency, attempts)."""


class BatchRefused(Exception):
    """This worker cannot take the batch; the message says why, for the run to show."""


@dataclass(frozen=True)
class Batch:
    session: str
    name: str
    """The batch's BullMQ job id, unique to one enqueueing."""
    settings: Mapping[str, JSONValue]
    """The session's settings as recorded: secrets masked, their variables' names kept."""
    jobs: list[Job]


RUN_ONLY = ("queue", "output", "store", "log_every", "notify_url", "notify_on", "limit")
"""Settings that are the run's business, not a worker's: left out of batches."""


def shared_settings(settings: Settings) -> dict[str, JSONValue]:
    """The settings a batch carries: as recorded (secrets masked), less the run's own."""
    return {k: v for k, v in settings.describe().items() if k not in RUN_ONLY}


def batch_data(
    session: str,
    name: str,
    settings: Mapping[str, JSONValue],
    jobs: Sequence[Job],
    credential_headers: Collection[str],
) -> dict[str, Any]:
    """The job data of one batch; `credential_headers` (lower case) are left out."""
    rows = [
        [
            job.row.seq,
            job.row.number,
            job.method,
            job.url,
            [
                [name, value]
                for name, value in job.headers
                if name.lower() not in credential_headers
            ],
            None if job.body is None else job.body.decode("utf-8"),
        ]
        for job in jobs
    ]
    return {
        "format": FORMAT,
        "session": session,
        "batch": name,
        "settings": settings,
        "rows": rows,
    }


def read_batch(data: Mapping[str, Any]) -> Batch:
    """The batch in `data`, or BatchRefused when this worker cannot read it."""
    version = data.get("format") if isinstance(data, Mapping) else None
    if version != FORMAT:
        raise BatchRefused(
            f"the batch is in format {version!r} and this worker reads format {FORMAT}; "
            "run the same excelfmt version on the run's host and the workers"
        )
    jobs = [
        Job(
            Row(seq, number, {}),
            method,
            url,
            tuple((name, value) for name, value in headers),
            None if body is None else body.encode("utf-8"),
        )
        for seq, number, method, url, headers, body in data["rows"]
    ]
    return Batch(data["session"], str(data["batch"]), data["settings"], jobs)


def outcome_record(outcome: Outcome) -> OutcomeRecord:
    return [outcome.row.seq, outcome.row.number, *outcome.recorded]


def outcome_from_record(record: OutcomeRecord) -> Outcome:
    seq, number, *recorded = record
    return Outcome.from_recorded(Row(seq, number, {}), tuple(recorded))
