"""excelfmt's figures for Prometheus: one registry, fed by outcomes and read live.

    outcomes, as a sender hands them on -> observe(api, outcomes) -> counters, histogram
    each scrape -> live() -> per API: requests in flight, concurrency limit, breaker open
    text() for a server's /metrics; serve_http(host, port) for `excelfmt worker`

Names follow Prometheus's conventions (prometheus_client, the excelfmt_ prefix, seconds,
_total on counters). Labels are the API (scheme://host:port) and small fixed sets
(outcome, status class): never a session or a row id, whose number grows without end.
Only `worker --metrics-port` and `serve` import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
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


@dataclass(frozen=True)
class Live:
    apis: Sequence[ApiLive]
    redis_outages: int
    """Times Redis went away (an outage waited out counts once)."""


class Exposition:
    """See the module docstring. `live` is called on each scrape, from the server's thread."""

    def __init__(self, live: Callable[[], Live]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._rows = Counter(
            "excelfmt_rows", "Rows answered, by outcome.", ["api", "outcome"], registry=r
        )
        self._requests = Counter(
            "excelfmt_requests",
            "Rows' last requests answered, by HTTP status class (none: no response).",
            ["api", "status_class"],
            registry=r,
        )
        self._retries = Counter(
            "excelfmt_retries",
            "Requests sent again after a failure.",
            ["api"],
            registry=r,
        )
        self._latency = Histogram(
            "excelfmt_request_duration_seconds",
            "Seconds a row's last request took, from sending to its answer.",
            ["api"],
            registry=r,
        )
        self._batches = Counter(
            "excelfmt_batches_taken", "Batches taken from the queue.", registry=r
        )
        r.register(_LiveCollector(live))

    def observe(self, api: str, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            kind = "ok" if outcome.category is None else outcome.category.value.lower()
            self._rows.labels(api, kind).inc()
            status = outcome.http_status
            self._requests.labels(api, f"{status // 100}xx" if status else "none").inc()
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
