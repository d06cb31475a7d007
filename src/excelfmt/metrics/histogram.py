"""A latency histogram with fixed log buckets: flat memory, quantiles within 2%, and
mergeable across seconds, runs and hosts."""

from __future__ import annotations

import math
from collections import Counter

# Buckets grow by 2%: percentiles are within 2% whatever the number of rows. Stored
# histograms depend on these two numbers (the metrics schema names them): keep them.
_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)
_FLOOR = 1e-5  # 10 µs: anything faster is the same bucket
BUCKETS = {"floor_s": _FLOOR, "growth": _GROWTH}


def bucket_of(seconds: float) -> int:
    """The bucket of a latency: bucket i holds [FLOOR * GROWTH**i, FLOOR * GROWTH**(i+1))."""
    return int(math.log(max(seconds, _FLOOR) / _FLOOR) / _LOG_GROWTH)


def bucket_middle(bucket: int) -> float:
    """The bucket's geometric middle, in seconds: within 1% of any value in it."""
    return float(_FLOOR * _GROWTH ** (bucket + 0.5))


class LatencyHistogram:
    """Log-bucketed latencies in seconds: constant memory, quantiles within 2%.

    Mergeable: the buckets are the same for every histogram, so the histograms of
    seconds, runs or hosts add up (`merge`) and keep the same precision; `buckets` and
    `from_buckets` store and read one as {bucket: count}.
    """

    def __init__(self) -> None:
        self._buckets: Counter[int] = Counter()
        self.count = 0

    def add(self, seconds: float) -> None:
        self._buckets[bucket_of(seconds)] += 1
        self.count += 1

    def merge(self, other: LatencyHistogram) -> None:
        self._buckets.update(other._buckets)
        self.count += other.count

    @property
    def buckets(self) -> dict[int, int]:
        return dict(self._buckets)

    @classmethod
    def from_buckets(cls, buckets: dict[int, int] | dict[str, int]) -> LatencyHistogram:
        histogram = cls()
        for bucket, count in buckets.items():
            histogram._buckets[int(bucket)] += count
            histogram.count += count
        return histogram

    def quantile(self, q: float) -> float | None:
        """The latency at quantile q (0..1), or None when nothing was measured."""
        return self.quantiles(q)[0]

    def quantiles(self, *qs: float) -> list[float | None]:
        """The latency at each quantile (ascending, 0..1) in one pass over the buckets:
        the progress ticker asks for three, ten times a second."""
        if not self.count:
            return [None] * len(qs)
        found: list[float | None] = []
        ranks = iter(max(1, math.ceil(q * self.count)) for q in qs)
        rank = next(ranks)
        seen = 0
        for bucket in sorted(self._buckets):
            seen += self._buckets[bucket]
            while seen >= rank:
                found.append(bucket_middle(bucket))
                rank = next(ranks, 0)
                if not rank:
                    return found
        raise AssertionError("unreachable: ranks are within count")
