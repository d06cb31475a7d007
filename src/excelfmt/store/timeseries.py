"""A session's timeline on disk: per-second counts, latency histograms per interval and
policy events, for `excelfmt metrics` and `excelfmt report`.

One SQLite file in the session's journal folder (deleted with it). A run appends what its
timeline closed about once a second; a resumed session appends to the same file, on the
same Unix-time axis.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ..metrics.counters import Snapshot
from ..metrics.summary import RunSummary
from ..metrics.timeline import Closed, LatencyRecord, PolicyEvent, SecondRecord
from .private import owner_only
from .sqlite import connect, transaction

if TYPE_CHECKING:
    from ..policies.resilience import LiveState  # a type only: anyio loads with it

FILE = "metrics.sqlite3"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS second (at INTEGER PRIMARY KEY, outcomes TEXT NOT NULL, "
    "statuses TEXT NOT NULL, concurrency INTEGER NOT NULL, in_flight INTEGER NOT NULL, "
    "requests INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS latency (start INTEGER NOT NULL, ok TEXT NOT NULL, "
    "failed TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS event (at REAL NOT NULL, kind TEXT NOT NULL, "
    "detail TEXT NOT NULL, seconds REAL)",
)


class Timeseries:
    """The timeline file of one session (in its journal folder)."""

    def __init__(self, folder: Path) -> None:
        folder.parent.mkdir(mode=0o700, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        self._db = connect(folder / FILE, *SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(second)")}
        if "requests" not in columns:  # a timeline kept before requests were counted
            self._db.execute("ALTER TABLE second ADD COLUMN requests INTEGER NOT NULL DEFAULT 0")
        owner_only(folder)

    def append(self, closed: Closed) -> None:
        with transaction(self._db):
            self._db.executemany(
                "INSERT OR REPLACE INTO second VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (s.at, json.dumps(outcomes), json.dumps(statuses), s.limit, s.in_flight, sent)
                    for s in closed.seconds
                    for outcomes, statuses, sent in [self._added(s)]
                ],
            )
            self._db.executemany(
                "INSERT INTO latency VALUES (?, ?, ?)",
                [(i.start, json.dumps(i.ok), json.dumps(i.failed)) for i in closed.latency],
            )
            self._db.executemany(
                "INSERT INTO event VALUES (?, ?, ?, ?)",
                [(e.at, e.kind, e.detail, e.seconds) for e in closed.events],
            )

    def _added(self, second: SecondRecord) -> tuple[Counter[str], Counter[str], int]:
        """The second's counts plus any already recorded for it: a resumed run can start
        in the second its previous run ended."""
        outcomes, statuses = Counter(second.outcomes), Counter(second.statuses)
        requests = second.requests
        found = self._db.execute(
            "SELECT outcomes, statuses, requests FROM second WHERE at = ?", (second.at,)
        ).fetchone()
        if found:
            outcomes.update(json.loads(found[0]))
            statuses.update(json.loads(found[1]))
            requests += found[2]
        return outcomes, statuses, requests

    def read(self) -> Closed:
        """Everything recorded, in time order."""
        seconds = tuple(
            SecondRecord(at, json.loads(outcomes), json.loads(statuses), limit, flying, sent)
            for at, outcomes, statuses, limit, flying, sent in self._db.execute(
                "SELECT at, outcomes, statuses, concurrency, in_flight, requests FROM second "
                "ORDER BY at"
            )
        )
        latency = tuple(
            LatencyRecord(start, _buckets(ok), _buckets(failed))
            for start, ok, failed in self._db.execute("SELECT * FROM latency ORDER BY start")
        )
        events = tuple(
            PolicyEvent(*row) for row in self._db.execute("SELECT * FROM event ORDER BY at")
        )
        return Closed(seconds, latency, events)

    def close(self) -> None:
        self._db.close()


def _buckets(text: str) -> dict[int, int]:
    return {int(bucket): count for bucket, count in json.loads(text).items()}


def read_timeseries(folder: Path) -> Closed:
    """A session's timeline; empty when it has none (a run from before timelines, a
    dry run)."""
    if not (folder / FILE).exists():
        return Closed()
    try:
        series = Timeseries(folder)
    except sqlite3.Error:
        return Closed()
    try:
        return series.read()
    finally:
        series.close()


class TimeseriesRecorder:
    """An observer of a run that appends its closed seconds to the session's timeline."""

    def __init__(self, folder: Path) -> None:
        self._series = Timeseries(folder)

    def started(self, info: object) -> None:
        pass

    def progressed(self, snapshot: Snapshot, live: LiveState) -> None:
        if snapshot.closed:
            self._series.append(snapshot.closed)

    def stopping(self, in_flight: int, reason: str | None) -> None:
        pass

    def noticed(self, text: str) -> None:
        pass

    def finished(self, summary: RunSummary) -> None:
        if summary.metrics.closed:
            self._series.append(summary.metrics.closed)
        self._series.close()
