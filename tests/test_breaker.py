"""The circuit breaker, transition by transition, on a fake clock."""

from __future__ import annotations

import random
from typing import Any

from excelfmt.policies.breaker import Breaker, State


def breaker(**kwargs) -> Breaker:
    options: dict[str, Any] = {
        "window": 10,
        "min_calls": 5,
        "failure_rate": 0.5,
        "wait": 5.0,
        "rng": random.Random(0),
    }
    options.update(kwargs)
    return Breaker(**options)


def state(b: Breaker) -> State:
    return b.state


def fail(b: Breaker, now: float, times: int) -> None:
    for _ in range(times):
        assert b.permit(now) == 0
        b.record(now, failure=True)


def test_stays_closed_below_min_calls_and_below_the_rate():
    b = breaker()
    fail(b, 0.0, 4)  # four failures, but fewer than min_calls calls: no judgement yet
    assert b.state is State.CLOSED
    fresh = breaker()
    for n in range(30):  # one failure in three: under the 50% threshold
        fresh.record(0.0, failure=n % 3 == 0)
    assert fresh.state is State.CLOSED


def test_opens_at_the_threshold_and_makes_callers_wait():
    b = breaker()
    fail(b, 0.0, 5)
    assert b.state is State.OPEN and b.trips == 1
    wait = b.permit(1.0)
    assert 4.0 * 0.8 - 1 <= wait <= 5.0 * 1.2 - 1


def test_half_open_lets_exactly_the_probes_through():
    b = breaker(probes=1)
    fail(b, 0.0, 5)
    assert b.permit(10.0) == 0  # the probe
    assert state(b) is State.HALF_OPEN
    assert b.permit(10.0) > 0  # everyone else waits for the probe's answer
    b.record(10.1, failure=False)
    assert state(b) is State.CLOSED
    assert b.permit(10.2) == 0


def test_a_failed_probe_reopens_with_a_longer_wait():
    b = breaker()
    fail(b, 0.0, 5)
    first_wait = b.permit(0.0)
    assert b.permit(10.0) == 0
    b.record(10.0, failure=True)
    assert b.state is State.OPEN and b.trips == 2
    assert b.permit(10.0) > first_wait * 1.3  # doubled, give or take the jitter


def test_waits_are_capped_and_closing_resets_them():
    b = breaker(wait=5.0, max_wait=12.0)
    now = 0.0
    fail(b, now, 5)
    for _ in range(5):
        now += 100
        assert b.permit(now) == 0
        b.record(now, failure=True)
    assert b.permit(now) <= 12.0 * 1.2
    now += 100
    assert b.permit(now) == 0
    b.record(now, failure=False)
    fail(b, now, 5)
    assert b.permit(now) <= 5.0 * 1.2


def test_outage_time_runs_from_the_first_trip_until_it_closes():
    b = breaker()
    fail(b, 100.0, 5)
    assert b.outage(130.0) == 30.0
    assert b.permit(200.0) == 0
    b.record(200.0, failure=False)
    assert b.outage(210.0) == 0.0


def test_slow_calls_can_open_it_when_asked_to():
    b = breaker(slow_rate=0.5)
    for _ in range(5):
        b.permit(0.0)
        b.record(0.0, failure=False, slow=True)
    assert b.state is State.OPEN
    off = breaker()  # slow_rate 1.0: slowness alone never opens it
    for _ in range(10):
        off.record(0.0, failure=False, slow=True)
    assert off.state is State.CLOSED


def test_failures_that_left_the_window_no_longer_count():
    b = breaker(window=4, min_calls=4, failure_rate=0.5)
    for failure in (True, False, False, False, False, False, True):  # the first drops out
        b.record(0.0, failure=failure)
    assert b.state is State.CLOSED  # the window holds one failure in four
    b.record(0.0, failure=True, slow=False)
    assert state(b) is State.OPEN  # two in four


def test_slow_calls_count_over_the_window_only():
    b = breaker(window=4, min_calls=4, failure_rate=1.0, slow_rate=0.5)
    for slow in (True, False, False, False, True):
        b.record(0.0, failure=False, slow=slow)
    assert b.state is State.CLOSED
    b.record(0.0, failure=False, slow=True)
    assert state(b) is State.OPEN
