"""serve's /metrics: what the store's runs add up to, per API, in Prometheus's format.

    each scrape -> every session: its timeline (outcomes, status codes, latency by second)
                -> ApiTotals per API host -> metrics/prometheus.py (the worker's names)
                -> running sessions' progress -> in flight, limit, breaker

A finished session's figures never change, so they are read once and kept; a running
one's are read at each scrape. The counters are sums over the sessions in the store: a
`sessions prune` makes them go down, which Prometheus reads as a counter reset.
"""

from __future__ import annotations

from pathlib import Path

from ..metrics.digest import api_host
from ..metrics.histogram import bucket_middle
from ..metrics.prometheus import (
    ApiLive,
    ApiTotals,
    Live,
    latency_bucket,
    outcome_label,
    status_class,
    summed,
)
from ..store import sessions as records
from ..store.folder import Store
from ..store.records import Session
from ..store.timeseries import read_timeseries


class StoreFigures:
    """See the module docstring."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._finished: dict[str, ApiTotals] = {}
        """A finished session's own totals, by session id."""

    def totals(self) -> list[ApiTotals]:
        by_api: dict[str, ApiTotals] = {}
        with Store(self._folder) as store:
            for session in store.sessions():
                session = records.settled(store, session)
                own = self._finished.get(session.id)
                if own is None:
                    own = _session_totals(store, session)
                    if session.state != "running":
                        self._finished[session.id] = own
                _add(by_api.setdefault(own.api, ApiTotals(own.api)), own)
        return list(by_api.values())

    def live(self) -> Live:
        with Store(self._folder) as store:
            running = [s for s in store.sessions() if records.settled(store, s).state == "running"]
        return Live(summed(map(_session_live, running)), 0)


def _session_live(session: Session) -> ApiLive:
    progress: dict[str, object] = dict(session.progress)
    return ApiLive(
        api_host(session.settings.get("url")),
        int(str(progress.get("in_flight") or 0)),
        int(str(progress.get("limit") or 0)),
        progress.get("breaker") == "open",
    )


def _session_totals(store: Store, session: Session) -> ApiTotals:
    own = ApiTotals(api_host(session.settings.get("url")))
    closed = read_timeseries(store.journal_folder(session.id))
    for second in closed.seconds:
        for outcome, count in second.outcomes.items():
            label = outcome_label(outcome)
            own.rows[label] = own.rows.get(label, 0) + count
        for status, count in second.statuses.items():
            kind = status_class(status)
            own.requests[kind] = own.requests.get(kind, 0) + count
    for interval in closed.latency:
        for buckets in (interval.ok, interval.failed):
            for bucket, count in buckets.items():
                seconds = bucket_middle(int(bucket))
                bound = latency_bucket(seconds)
                own.latency[bound] = own.latency.get(bound, 0) + count
                own.latency_sum += seconds * count
    figures = session.summary if session.state != "running" else session.progress
    retries = figures.get("retries")
    own.retries = retries if isinstance(retries, int) else 0
    return own


def _add(total: ApiTotals, own: ApiTotals) -> None:
    for mine, theirs in ((total.rows, own.rows), (total.requests, own.requests)):
        for key, count in theirs.items():
            mine[key] = mine.get(key, 0) + count
    for bound, count in own.latency.items():
        total.latency[bound] = total.latency.get(bound, 0) + count
    total.latency_sum += own.latency_sum
    total.retries += own.retries
