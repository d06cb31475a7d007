"""The concurrency controller: unit behaviour, then declarative scenarios in virtual time."""

from __future__ import annotations

from pathlib import Path

import pytest

from excelfmt.policies.adaptive import Controller

from .controller_sim import Scenario, simulate

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.toml"))


def feed(
    controller: Controller,
    start: float,
    windows: int,
    *,
    latency: float | None,
    dropped: bool = False,
    busy: int | None = None,
) -> float:
    now = start
    for _ in range(windows):
        for _ in range(20):
            now += 0.006
            controller.record(
                now,
                latency=latency,
                dropped=dropped,
                in_flight=busy if busy is not None else controller.limit,
            )
    return now


def test_grows_while_latency_stays_at_its_floor():
    c = Controller(maximum=100, initial=4)
    feed(c, 0.0, 30, latency=0.05)
    assert c.limit > 30


def test_does_not_grow_a_limit_that_is_not_used():
    c = Controller(maximum=100, initial=10)
    feed(c, 0.0, 30, latency=0.05, busy=3)
    assert c.limit == 10


def test_cuts_at_the_first_drop_and_once_per_window():
    c = Controller(maximum=100, initial=50, window=0.1, backoff=0.9)
    now = feed(c, 0.0, 1, latency=0.05, busy=0)
    for _ in range(15):  # a burst of 429s within one window
        now += 0.006
        c.record(now, latency=None, dropped=True, in_flight=50)
    assert c.limit == 45  # 50 x 0.9
    c.record(now + 0.2, latency=None, dropped=True, in_flight=45)  # a later window
    assert c.limit == 40


def test_the_first_429_ends_the_slow_start_at_half_the_limit():
    # Slow start doubles the limit each window, so the first "too many" comes at up to
    # twice what the API takes; half of it is the last limit that drew none.
    c = Controller(maximum=128, initial=4, window=0.1)
    now = 0.0
    while c.limit < 32:
        now = feed(c, now, 1, latency=0.02)
    assert c.limit == 32
    for _ in range(20):  # every request past 16 is refused at once
        now += 0.001
        c.record(now, latency=None, dropped=True, in_flight=32, refused=True)
    assert c.limit == 16
    # From then on a 429 takes at least one request off: 3% of 16 would leave 16.
    now = feed(c, now + 0.2, 1, latency=0.02)
    assert c.limit == 17
    c.record(now, latency=None, dropped=True, in_flight=17, refused=True)
    assert c.limit == 16


def test_timeouts_and_resets_cut_gently_even_in_the_slow_start():
    # They may be load or bad luck; random network failures must not pin the limit.
    c = Controller(maximum=128, initial=32, window=0.1)
    c.record(0.0, latency=None, dropped=True, in_flight=32)
    assert c.limit == 31  # 3%


def test_cuts_in_proportion_when_latency_rises_above_the_baseline():
    c = Controller(maximum=100, initial=40)
    now = feed(c, 0.0, 3, latency=0.05, busy=0)
    assert c.limit == 40
    feed(c, now, 2, latency=0.1, busy=0)  # twice the floor: half the requests are queued
    assert c.limit == 20


def test_one_slow_window_is_not_queueing():
    # A single slow window is as often our own pause (a garbage collection) as the API's.
    c = Controller(maximum=100, initial=40)
    now = feed(c, 0.0, 3, latency=0.05, busy=0)
    for _ in range(10):  # 60 ms of slow answers: at most one window's median
        now += 0.006
        c.record(now, latency=0.1, dropped=False, in_flight=0)
    feed(c, now, 3, latency=0.05, busy=0)
    assert c.limit == 40


def test_fast_429s_are_not_latency_samples():
    c = Controller(maximum=100, initial=40)
    now = feed(c, 0.0, 5, latency=0.05)
    feed(c, now, 1, latency=None, dropped=True)
    # Had the 1 ms rejections counted, the baseline would now be 1 ms and every normal
    # window would look like queueing.
    limit = c.limit
    feed(c, now + 1, 3, latency=0.05)
    assert c.limit >= limit


def test_stays_within_its_bounds():
    c = Controller(minimum=3, maximum=8, initial=5)
    now = feed(c, 0.0, 50, latency=0.05)
    assert c.limit == 8
    feed(c, now, 50, latency=None, dropped=True)
    assert c.limit == 3


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario(path: Path):
    scenario = Scenario.load(path)
    trace = simulate(scenario)
    expect = scenario.expect
    if "mean_in_flight" in expect:
        low, high = expect["mean_in_flight"]
        settled = expect["converged_by"][0]
        assert low <= trace.mean_in_flight(settled, scenario.duration) <= high
    if "reject_share" in expect:
        after = expect["after"][0]
        assert trace.reject_share(after, scenario.duration) <= expect["reject_share"][1]
        optimum = scenario.capacity / scenario.base_latency
        share = trace.goodput(after, scenario.duration) / optimum
        assert share >= expect["goodput_share"][0], share
    if "down_within" in expect:
        drop_at, recover_at = (at for at, _ in scenario.steps)
        down = expect["down_within"][0]
        assert trace.mean_in_flight(drop_at + down - 1, drop_at + down) <= 30
        up = expect["up_within"][0]
        assert trace.mean_in_flight(recover_at + up - 1, recover_at + up) >= 45
    if "drift" in expect:
        early = trace.mean_in_flight(60, 180)
        late = trace.mean_in_flight(scenario.duration - 120, scenario.duration)
        low, high = expect["drift"]
        assert low <= late / early - 1 <= high, (early, late)


def test_the_baseline_probe_waits_while_the_api_answers_with_drops():
    # The probe quarters the limit for a window to re-measure the floor. While 429s are
    # what hold the limit, that only empties the pipe: it waits until they stop.
    c = Controller(maximum=100, initial=50, probe_every=1.0)
    now = feed(c, 0.0, 3, latency=0.05, busy=50)
    lowest = c.limit
    for _ in range(40):  # two seconds: an occasional 429 among answers at the floor
        now = feed(c, now, 1, latency=0.05, busy=50)
        c.record(now, latency=None, dropped=True, in_flight=50)
        lowest = min(lowest, c.limit)
    assert lowest > 25  # never quartered
    limits = []
    for _ in range(15):  # drops stop: after a quiet second it probes again
        now = feed(c, now, 1, latency=0.05, busy=50)
        limits.append(c.limit)
    assert min(limits) <= 25


def test_after_a_queueing_cut_the_limit_creeps_back_one_step_a_window():
    # The cut lands at the API's knee (where its queue would be empty): growing fast
    # from there only overshoots into the queue again.
    c = Controller(maximum=100, initial=40)
    now = feed(c, 0.0, 3, latency=0.05, busy=0)
    now = feed(c, now, 2, latency=0.1, busy=0)
    assert c.limit == 20
    feed(c, now, 3, latency=0.05)
    assert c.limit == 23


def test_the_probe_measures_only_requests_sent_after_it_began():
    # Answers to requests sent before the probe waited in the queue it is there to
    # drain: counted, they would raise the floor, and the limit with it.
    c = Controller(maximum=100, initial=40, probe_every=1.0)
    now = 0.0
    while c.limit == 40:  # answers at the floor until the probe quarters the limit
        now += 0.006
        c.record(now, latency=0.05, dropped=False, in_flight=0)
    probe_began = now
    for _ in range(30):  # sent before the probe, at 1.3x the floor
        now += 0.002
        c.record(now, latency=0.065, dropped=False, in_flight=0)
    while c.limit < 40:  # sent after it
        now += 0.006
        assert now - 0.05 >= probe_began
        c.record(now, latency=0.05, dropped=False, in_flight=0)
    feed(c, now, 2, latency=0.08, busy=0)  # 1.6x the true floor: queueing
    assert c.limit == 25  # 40 x 0.05 / 0.08; a floor of 0.065 would have seen no queue
