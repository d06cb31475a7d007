"""Counters and a latency histogram, fed by outcomes. No rendering, flat memory."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from ..models import Category, Outcome

# Buckets grow by 2%: percentiles are within 2% whatever the number of rows.
_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)
_FLOOR = 1e-5  # 10 µs: anything faster is the same bucket


class LatencyHistogram:
    """Log-bucketed latencies in seconds: constant memory, quantiles within 2%."""

    def __init__(self) -> None:
        self._buckets: Counter[int] = Counter()
        self.count = 0

    def add(self, seconds: float) -> None:
        self._buckets[int(math.log(max(seconds, _FLOOR) / _FLOOR) / _LOG_GROWTH)] += 1
        self.count += 1

    def quantile(self, q: float) -> float | None:
        """The latency at quantile q (0..1), or None when nothing was measured."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for bucket in sorted(self._buckets):
            seen += self._buckets[bucket]
            if seen >= rank:
                # The bucket's geometric middle: within 1% of any value in it.
                return float(_FLOOR * _GROWTH ** (bucket + 0.5))
        raise AssertionError("unreachable: ranks are within count")


@dataclass(frozen=True)
class Snapshot:
    """Where a run stands, for the live view and the summary."""

    done: int
    ok: int
    by_category: dict[str, int]
    elapsed: float
    rows_per_second: float
    latency_p50: float | None
    latency_p90: float | None
    latency_p99: float | None
    resumed: int = 0
    """Rows whose outcome came from the journal of the run being resumed."""
    cached: int = 0
    """Rows answered from the response cache."""

    @property
    def failed(self) -> int:
        return self.done - self.ok


@dataclass
class Metrics:
    """Running totals of a run's outcomes; `snapshot` gives a consistent view."""

    started: float
    done: int = 0
    ok: int = 0
    by_category: Counter[Category] = field(default_factory=Counter)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    resumed: int = 0
    cached: int = 0

    def record(self, outcome: Outcome) -> None:
        self.done += 1
        if outcome.category is None:
            self.ok += 1
        else:
            self.by_category[outcome.category] += 1
        self.cached += outcome.cached
        if outcome.replayed:
            self.resumed += 1  # counted, but neither its speed nor its latency is this run's
        elif outcome.latency is not None:
            self.latency.add(outcome.latency)

    def snapshot(self, now: float) -> Snapshot:
        elapsed = max(now - self.started, 1e-9)
        return Snapshot(
            done=self.done,
            ok=self.ok,
            by_category={c.value: n for c, n in sorted(self.by_category.items()) if n},
            elapsed=elapsed,
            rows_per_second=(self.done - self.resumed) / elapsed,
            latency_p50=self.latency.quantile(0.50),
            latency_p90=self.latency.quantile(0.90),
            latency_p99=self.latency.quantile(0.99),
            resumed=self.resumed,
            cached=self.cached,
        )
