"""The rate limiter with a fake clock: never over its rate, over any window."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from excelfmt.policies.ratelimit import RateLimiter


def test_slots_are_evenly_spaced():
    limiter = RateLimiter(rate=10)
    waits = [limiter.reserve(now=0.0) for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_burst_lets_a_few_through_at_once_then_paces():
    limiter = RateLimiter(rate=10, burst=3)
    waits = [limiter.reserve(now=0.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2])


def test_idle_time_does_not_bank_more_than_the_burst():
    limiter = RateLimiter(rate=10, burst=2)
    limiter.reserve(0.0)
    waits = [limiter.reserve(now=100.0) for _ in range(3)]
    assert waits == pytest.approx([0.0, 0.0, 0.1])


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(min_value=1, max_value=500),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=0.2), min_size=1, max_size=300),
)
def test_never_more_than_rate_plus_burst_in_any_one_second(rate, burst, gaps):
    limiter = RateLimiter(rate, burst)
    now, sent = 0.0, []
    for gap in gaps:
        now += gap
        sent.append(now + limiter.reserve(now))
    sent.sort()
    start = 0
    for end, at in enumerate(sent):
        while sent[start] < at - 1.0 + 1e-9:
            start += 1
        assert end - start + 1 <= rate + burst


def test_bad_parameters():
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(1, burst=0)
