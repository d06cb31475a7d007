"""excelfmt's figures for Prometheus: one registry, fed by outcomes and read live.

    a worker: outcomes, as it hands them on -> observe(api, outcomes) -> counters
    serve: each scrape -> totals() -> per API, what the store's runs add up to
    each scrape -> live() -> per API: requests in flight, concurrency limit, breaker open
    text() for serve's /metrics; serve_http(host, port) for `excelfmt worker`

Names follow Prometheus's conventions (prometheus_client, the excelfmt_ prefix, seconds,
_total on counters). Labels are the API (scheme://host:port) and small fixed sets
(outcome, status class): never a session or a row id, whose number grows without end.
Only `worker --metrics-port` and `serve` import this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ..errors import UsageError
from ..models import Outcome


@dataclass(frozen=True)
class ApiLive:
    """One API's state right now, summed over the sessions that send to it."""

    api: str
    in_flight: int
    limit: int
    breaker_open: bool


@dataclass
class ApiTotals:
    """What every run against one API added up to (serve reads it from the store)."""

    api: str
    rows: dict[str, int] = field(default_factory=dict)
    """By outcome: "ok" or a category in lower case."""
    requests: dict[str, int] = field(default_factory=dict)
    """By status class: "2xx"... or "none"."""
    retries: int = 0
    latency: dict[float, int] = field(default_factory=dict)
    """Rows by latency bucket: LATENCY_BUCKETS' upper bounds (inf last), not cumulative."""
    latency_sum: float = 0.0


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                   10.0, math.inf)  # fmt: skip
"""prometheus_client's default buckets, in seconds: one histogram shape in both places."""
ROWS, ROWS_HELP = "excelfmt_rows", "Rows answered, by outcome."
REQUESTS = "excelfmt_requests"
REQUESTS_HELP = "Rows' last requests answered, by HTTP status class (none: no response)."
RETRIES, RETRIES_HELP = "excelfmt_retries", "Requests sent again after a failure."
LATENCY = "excelfmt_request_duration_seconds"
LATENCY_HELP = "Seconds a row's last request took, from sending to its answer."


def outcome_label(category: str | None) -> str:
    return "ok" if category in (None, "ok") else str(category).lower()


def status_class(status: int | str | None) -> str:
    code = str(status or "")
    return f"{code[0]}xx" if code[:1].isdigit() and len(code) == 3 else "none"


def latency_bucket(seconds: float) -> float:
    return next(bound for bound in LATENCY_BUCKETS if seconds <= bound)


def summed(parts: Iterable[ApiLive]) -> list[ApiLive]:
    """One ApiLive per API: the senders' (or runs') in flight and limits added up, the
    breaker open if any of theirs is."""
    by_api: dict[str, ApiLive] = {}
    for part in parts:
        was = by_api.get(part.api)
        by_api[part.api] = (
            part
            if was is None
            else ApiLive(
                part.api,
                was.in_flight + part.in_flight,
                was.limit + part.limit,
                was.breaker_open or part.breaker_open,
            )
        )
    return list(by_api.values())


@dataclass(frozen=True)
class Live:
    apis: Sequence[ApiLive]
    redis_outages: int
    """Times Redis went away (an outage waited out counts once)."""


class Exposition:
    """See the module docstring. `live` (and `totals`) are called on each scrape, from the
    server's thread. Without `totals` the counters are fed by `observe` (a worker)."""

    def __init__(
        self, live: Callable[[], Live], totals: Callable[[], Sequence[ApiTotals]] | None = None
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_LiveCollector(live))
        if totals is not None:
            self.registry.register(_TotalsCollector(totals))
            return
        r = self.registry
        self._rows = Counter(ROWS, ROWS_HELP, ["api", "outcome"], registry=r)
        self._requests = Counter(REQUESTS, REQUESTS_HELP, ["api", "status_class"], registry=r)
        self._retries = Counter(RETRIES, RETRIES_HELP, ["api"], registry=r)
        self._latency = Histogram(
            LATENCY, LATENCY_HELP, ["api"], registry=r, buckets=LATENCY_BUCKETS
        )
        self._batches = Counter(
            "excelfmt_batches_taken", "Batches taken from the queue.", registry=r
        )

    def observe(self, api: str, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            self._rows.labels(api, outcome_label(outcome.category)).inc()
            self._requests.labels(api, status_class(outcome.http_status)).inc()
            if outcome.attempts > 1:
                self._retries.labels(api).inc(outcome.attempts - 1)
            if outcome.latency is not None:
                self._latency.labels(api).observe(outcome.latency)

    def batch_taken(self) -> None:
        self._batches.inc()

    def text(self) -> bytes:
        """The exposition in Prometheus's text format."""
        return generate_latest(self.registry)

    def serve_http(self, host: str, port: int) -> Callable[[], None]:
        """Serve /metrics on host:port from a thread; returns what stops it."""
        from prometheus_client import start_http_server

        try:
            server, thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise UsageError(f"Cannot serve metrics on {host}:{port}: {exc.strerror}.") from None

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(5)

        return stop


class _TotalsCollector(Collector):
    """The counters and the histogram, from what the store's runs add up to."""

    def __init__(self, totals: Callable[[], Sequence[ApiTotals]]) -> None:
        self._totals = totals

    def describe(self) -> Iterator[Metric]:
        return self._families([])

    def collect(self) -> Iterator[Metric]:
        return self._families(self._totals())

    def _families(self, totals: Sequence[ApiTotals]) -> Iterator[Metric]:
        rows = CounterMetricFamily(ROWS, ROWS_HELP, labels=["api", "outcome"])
        requests = CounterMetricFamily(REQUESTS, REQUESTS_HELP, labels=["api", "status_class"])
        retries = CounterMetricFamily(RETRIES, RETRIES_HELP, labels=["api"])
        latency = HistogramMetricFamily(LATENCY, LATENCY_HELP, labels=["api"])
        for api in totals:
            for outcome, count in sorted(api.rows.items()):
                rows.add_metric([api.api, outcome], count)
            for kind, count in sorted(api.requests.items()):
                requests.add_metric([api.api, kind], count)
            retries.add_metric([api.api], api.retries)
            running, buckets = 0, []
            for bound in LATENCY_BUCKETS:
                running += api.latency.get(bound, 0)
                buckets.append(("+Inf" if math.isinf(bound) else str(bound), running))
            latency.add_metric([api.api], buckets, sum_value=api.latency_sum)
        yield from (rows, requests, retries, latency)


class _LiveCollector(Collector):
    def __init__(self, live: Callable[[], Live]) -> None:
        self._live = live

    def describe(self) -> Iterator[Metric]:
        """The families without their values: the registry asks on registering, before
        whatever `live` reads exists."""
        return self._families(Live([], 0))

    def collect(self) -> Iterator[Metric]:
        return self._families(self._live())

    def _families(self, now: Live) -> Iterator[Metric]:
        in_flight = GaugeMetricFamily(
            "excelfmt_requests_in_flight", "Requests sent and not yet answered.", labels=["api"]
        )
        limit = GaugeMetricFamily(
            "excelfmt_concurrency_limit",
            "Requests allowed in flight now (adaptive concurrency's limit).",
            labels=["api"],
        )
        breaker = GaugeMetricFamily(
            "excelfmt_breaker_open",
            "1 while the circuit breaker holds requests back.",
            labels=["api"],
        )
        for api in now.apis:
            in_flight.add_metric([api.api], api.in_flight)
            limit.add_metric([api.api], api.limit)
            breaker.add_metric([api.api], int(api.breaker_open))
        outages = CounterMetricFamily(
            "excelfmt_redis_connections_lost", "Times the queue's Redis became unreachable."
        )
        outages.add_metric([], now.redis_outages)
        yield from (in_flight, limit, breaker, outages)
