"""Drive the concurrency controller against a modelled API in virtual time.

In the style of Vector's adaptive-concurrency scenarios: a declarative file describes the
API (capacity, latency, what happens past capacity, capacity changes over time) and the
range the controller must settle in. A discrete-event loop runs minutes of traffic in
milliseconds; no real clock, no sleeps.
"""

from __future__ import annotations

import heapq
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from excelfmt.policies.adaptive import Controller


@dataclass
class Scenario:
    name: str
    duration: float
    base_latency: float
    capacity: int
    overload: str  # "latency": requests queue and slow down; "reject": instant 429s
    jitter: float = 0.0
    concurrency: int = 256
    steps: list[tuple[float, int]] = field(default_factory=list)
    expect: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Scenario:
        data = tomllib.loads(path.read_text())
        steps = [(float(s["at"]), int(s["capacity"])) for s in data.pop("step", [])]
        return cls(steps=steps, **data)


@dataclass
class Trace:
    times: list[float] = field(default_factory=list)
    in_flight: list[int] = field(default_factory=list)
    limits: list[int] = field(default_factory=list)
    ok: list[float] = field(default_factory=list)
    rejected: list[float] = field(default_factory=list)

    def mean_in_flight(self, start: float, end: float) -> float:
        values = [n for t, n in zip(self.times, self.in_flight, strict=True) if start <= t < end]
        return sum(values) / len(values)

    def limit_at(self, when: float) -> int:
        for t, limit in zip(self.times, self.limits, strict=True):
            if t >= when:
                return limit
        return self.limits[-1]

    def reject_share(self, start: float, end: float) -> float:
        ok = sum(1 for t in self.ok if start <= t < end)
        bad = sum(1 for t in self.rejected if start <= t < end)
        return bad / max(1, ok + bad)

    def goodput(self, start: float, end: float) -> float:
        return sum(1 for t in self.ok if start <= t < end) / (end - start)


def simulate(scenario: Scenario, seed: int = 1) -> Trace:
    rng = random.Random(seed)
    controller = Controller(maximum=scenario.concurrency)
    now, in_flight, capacity = 0.0, 0, scenario.capacity
    steps = sorted(scenario.steps)
    # (when, id, kind, latency): kind "done", "rejected", or "free" (a held slot released)
    events: list[tuple[float, int, str, float]] = []
    trace, counter, sample_at = Trace(), 0, 0.0

    def start_requests() -> None:
        nonlocal in_flight, counter
        while in_flight < controller.limit:
            in_flight += 1
            counter += 1
            if scenario.overload == "reject" and in_flight > capacity:
                heapq.heappush(events, (now + 0.001, counter, "rejected", 0.001))
                continue
            latency = scenario.base_latency * (1 + rng.uniform(-scenario.jitter, scenario.jitter))
            if scenario.overload == "latency":
                latency *= max(1.0, in_flight / capacity)
            heapq.heappush(events, (now + latency, counter, "done", latency))

    start_requests()
    while events and now < scenario.duration:
        done_at, _, kind, latency = heapq.heappop(events)
        while sample_at <= done_at:  # the in-flight count, sampled every 10 ms
            trace.times.append(sample_at)
            trace.in_flight.append(in_flight)
            trace.limits.append(controller.limit)
            sample_at += 0.01
        now = done_at
        while steps and steps[0][0] <= now:
            capacity = steps.pop(0)[1]
        if kind == "free":
            in_flight -= 1
            start_requests()
            continue
        rejected = kind == "rejected"
        (trace.rejected if rejected else trace.ok).append(now)
        controller.record(
            now,
            latency=None if rejected else latency,
            dropped=rejected,
            in_flight=in_flight,
            refused=rejected,  # the modelled API refuses with 429s
        )
        if rejected:  # like the dispatcher: hold the slot back before trying again
            counter += 1
            heapq.heappush(events, (now + controller.hold, counter, "free", 0.0))
            continue
        in_flight -= 1
        start_requests()
    return trace
