"""Counters and percentiles from outcomes."""

from __future__ import annotations

import random

import pytest

from excelfmt.metrics.counters import Metrics
from excelfmt.metrics.histogram import LatencyHistogram
from excelfmt.models import Category, Outcome, Row


def test_quantiles_are_within_two_percent():
    rng = random.Random(7)
    values = [rng.lognormvariate(-3, 1) for _ in range(5000)]
    histogram = LatencyHistogram()
    for value in values:
        histogram.add(value)
    ordered = sorted(values)
    quantiles = (0.0001, 0.5, 0.5, 0.9, 0.99, 1.0)
    together = histogram.quantiles(*quantiles)  # one pass, as the progress ticker asks
    for q, found in zip(quantiles, together, strict=True):
        exact = ordered[max(1, round(q * len(ordered))) - 1]
        assert found == pytest.approx(exact, rel=0.02)
        assert histogram.quantile(q) == found


def test_empty_histogram_has_no_quantiles():
    assert LatencyHistogram().quantile(0.5) is None
    assert LatencyHistogram().quantiles(0.5, 0.9) == [None, None]


def test_snapshot_counts_and_rate():
    metrics = Metrics(started=10.0)
    row = Row(0, 2, {})
    for category in (None, None, Category.SYSTEM_ERROR, Category.AUTH_ERROR, None):
        metrics.record(Outcome(row, category, latency=0.1))
    metrics.record(Outcome(row, Category.REQUIRES_USER_ACTION))  # never sent: no latency
    snap = metrics.snapshot(now=12.0)
    assert (snap.done, snap.ok, snap.failed) == (6, 3, 3)
    assert snap.by_category == {"AUTH_ERROR": 1, "REQUIRES_USER_ACTION": 1, "SYSTEM_ERROR": 1}
    assert snap.rows_per_second == pytest.approx(3.0)
    assert snap.latency_p50 == pytest.approx(0.1, rel=0.02)
