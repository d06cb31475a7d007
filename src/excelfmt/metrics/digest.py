"""A recorded timeline boiled down: one session's figures, and runs per API host over time.

Pure functions of what the store kept (metrics.timeline's records); `excelfmt metrics`
prints them, `excelfmt report` draws them. The JSON shapes are described by
docs/metrics.schema.json: change both together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from ..models import JSONValue
from .histogram import BUCKETS, LatencyHistogram
from .timeline import INTERVAL, Closed, PolicyEvent, percentiles

SCHEMA = "excelfmt.metrics/1"


@dataclass
class Digest:
    """What a timeline adds up to; digests of several sessions merge (`add`)."""

    runs: int = 0
    rows: int = 0
    ok: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    """Time spent running (the runs' periods; a resumed session's gap is not counted)."""
    ok_latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    failed_latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    requests: int = 0
    """Requests sent (counted since batches came: 0 in an older timeline)."""

    @classmethod
    def of(cls, closed: Closed) -> Digest:
        digest = cls()
        for second in closed.seconds:
            for status, n in second.outcomes.items():
                digest.rows += n
                if status == "ok":
                    digest.ok += n
                else:
                    digest.categories[status] += n
            digest.statuses.update(second.statuses)
            digest.requests += second.requests
        for interval in closed.latency:
            digest.ok_latency.merge(LatencyHistogram.from_buckets(interval.ok))
            digest.failed_latency.merge(LatencyHistogram.from_buckets(interval.failed))
        periods = run_periods(closed)
        digest.runs = len(periods)
        digest.seconds = sum(end - start for start, end in periods)
        return digest

    def standing(
        self, rows: int, ok: int, categories: dict[str, int], statuses: dict[str, int]
    ) -> Digest:
        """This digest with its counts as the session's rows stand (after a resume or a
        reprocess, not as they were sent): what its run page and `status` say."""
        return replace(
            self, rows=rows, ok=ok, categories=Counter(categories), statuses=Counter(statuses)
        )

    def add(self, other: Digest) -> None:
        self.runs += other.runs
        self.rows += other.rows
        self.ok += other.ok
        self.categories.update(other.categories)
        self.statuses.update(other.statuses)
        self.seconds += other.seconds
        self.requests += other.requests
        self.ok_latency.merge(other.ok_latency)
        self.failed_latency.merge(other.failed_latency)

    @property
    def failed(self) -> int:
        return self.rows - self.ok

    def to_json(self) -> dict[str, JSONValue]:
        everything = LatencyHistogram()
        everything.merge(self.ok_latency)
        everything.merge(self.failed_latency)
        return {
            "runs": self.runs,
            "rows": self.rows,
            "ok": self.ok,
            "failed": self.failed,
            "failure_share": round(self.failed / self.rows, 4) if self.rows else 0.0,
            "categories": dict(self.categories.most_common()),
            "statuses": dict(self.statuses.most_common()),
            "duration_s": round(self.seconds, 3),
            "rows_per_s": round(self.rows / self.seconds, 1) if self.seconds else None,
            "requests": self.requests,
            "requests_per_s": round(self.requests / self.seconds, 1) if self.seconds else None,
            "latency_ms": {
                "all": _ms(everything),
                "ok": _ms(self.ok_latency),
                "failed": _ms(self.failed_latency),
            },
        }


def run_periods(closed: Closed) -> list[tuple[float, float]]:
    """(start, end) of each run that wrote the timeline; a run that died without saying
    it ended lasts until its last recorded second."""
    periods: list[tuple[float, float]] = []
    start: float | None = None
    last_seen = [s.at + 1.0 for s in closed.seconds]
    for event in closed.events:
        if event.kind != "run":
            continue
        if event.detail == "started":
            if start is not None:
                periods.append((start, _last_before(last_seen, event.at, start)))
            start = event.at
        elif start is not None:
            periods.append((start, event.at))
            start = None
    if start is not None:
        periods.append((start, _last_before(last_seen, float("inf"), start)))
    return periods


def _last_before(seen: list[float], before: float, start: float) -> float:
    return max((at for at in seen if start <= at <= before), default=start)


def _ms(histogram: LatencyHistogram) -> dict[str, JSONValue]:
    found = percentiles(histogram)
    p50, p90, p99 = (None, None, None) if found is None else (round(v * 1000, 1) for v in found)
    return {"p50": p50, "p90": p90, "p99": p99, "count": histogram.count}


def api_host(url: object) -> str:
    """The scheme, host and port a run called, from its URL setting."""
    parts = urlsplit(str(url or ""))
    if not parts.netloc or "{" in parts.netloc:
        return "(templated)" if "{" in str(url) else "(unknown)"
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def session_json(
    about: dict[str, JSONValue], closed: Closed, standing: Digest | None = None
) -> dict[str, JSONValue]:
    """One session: its figures (`standing`'s counts when given: Digest.standing), then
    second by second, interval by interval, and events."""
    digest = standing or Digest.of(closed)
    return {
        "schema": SCHEMA,
        **about,
        **digest.to_json(),
        "histogram": {
            **BUCKETS,
            "ok": {str(b): n for b, n in sorted(digest.ok_latency.buckets.items())},
            "failed": {str(b): n for b, n in sorted(digest.failed_latency.buckets.items())},
        },
        "seconds": [
            {
                "at": s.at,
                "outcomes": dict(s.outcomes),
                "statuses": dict(s.statuses),
                "concurrency": s.limit,
                "in_flight": s.in_flight,
                "requests": s.requests,
            }
            for s in closed.seconds
        ],
        "latency": [
            {
                "start": i.start,
                "seconds": INTERVAL,
                "ok": _ms(LatencyHistogram.from_buckets(i.ok)),
                "failed": _ms(LatencyHistogram.from_buckets(i.failed)),
            }
            for i in closed.latency
        ],
        "events": [_event(e) for e in closed.events],
    }


def _event(event: PolicyEvent) -> dict[str, JSONValue]:
    return {
        "at": round(event.at, 3),
        "kind": event.kind,
        "detail": event.detail,
        "seconds": event.seconds,
    }


def hosts_json(since: str, sessions: Iterable[tuple[str, Digest]]) -> dict[str, JSONValue]:
    """Runs per API host: (host, session's digest) pairs added up, busiest host first."""
    by_host: dict[str, Digest] = {}
    for host, digest in sessions:
        by_host.setdefault(host, Digest()).add(digest)
    ordered = sorted(by_host.items(), key=lambda item: -item[1].rows)
    return {
        "schema": SCHEMA,
        "since": since,
        "hosts": [{"host": host, **digest.to_json()} for host, digest in ordered],
    }
