"""What a run did second by second: outcomes, status codes, latency, the policies' state.

Two readers: the live view wants the last minute (`recent`); the store keeps the whole
run (`take_closed` hands over what is finished, once). Memory stays flat: a minute of
seconds, one latency interval and a bounded table of error messages.

Seconds are Unix seconds, so that a resumed session's runs line up on one time axis.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from ..models import Outcome
from .histogram import LatencyHistogram
from .tally import status_code

WINDOW = 10
"""Seconds behind the "now" figures: rows/s and latency percentiles of the live view."""
MINUTE = 60
"""Seconds of per-second bars the live view shows."""
INTERVAL = 10
"""Seconds per stored latency histogram: fine enough to plot, small enough to keep."""

Percentiles = tuple[float, float, float]
"""p50, p90, p99 in seconds."""


@dataclass(frozen=True)
class SecondRecord:
    """One second of a run, as the store keeps it."""

    at: int
    outcomes: dict[str, int]
    """Rows settled in this second: "ok" or the category."""
    statuses: dict[str, int]
    """HTTP status codes of those rows ("none" when no response came)."""
    limit: int
    """The concurrency limit at the end of the second."""
    in_flight: int
    """The most requests in flight seen in the second."""
    requests: int = 0
    """Requests sent in the second: as many as rows, or fewer with --batch."""


@dataclass(frozen=True)
class LatencyRecord:
    """Latency of the rows settled in INTERVAL seconds from `start`, ok and failed apart,
    as mergeable histograms (counters.LatencyHistogram buckets)."""

    start: int
    ok: dict[int, int]
    failed: dict[int, int]


@dataclass(frozen=True)
class PolicyEvent:
    """A run starting or ending, a pause the API asked for, or the breaker changing state."""

    at: float
    kind: str
    """"run" (a run of the session started or ended), "pause" or "breaker"."""
    detail: str
    """"started" or "ended", the breaker's new state, or "Retry-After" for a pause."""
    seconds: float | None = None
    """How long a pause lasts."""


@dataclass(frozen=True)
class Closed:
    """What finished since the last `take_closed`: for the store to append."""

    seconds: tuple[SecondRecord, ...] = ()
    latency: tuple[LatencyRecord, ...] = ()
    events: tuple[PolicyEvent, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.seconds or self.latency or self.events)


@dataclass(frozen=True)
class Recent:
    """The last minute of a run, for the live view."""

    rows_per_second: float
    """Over the last WINDOW seconds."""
    ok_latency: Percentiles | None
    failed_latency: Percentiles | None
    bars: tuple[tuple[int, int], ...]
    """(ok, failed) rows per second over the last minute, oldest first."""
    requests_per_second: float = 0.0
    """Over the last WINDOW seconds, as rows_per_second."""


@dataclass
class _Second:
    at: int
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    ok: LatencyHistogram = field(default_factory=LatencyHistogram)
    failed: LatencyHistogram = field(default_factory=LatencyHistogram)
    limit: int = 0
    in_flight: int = 0
    requests: int = 0

    def record(self) -> SecondRecord:
        return SecondRecord(
            self.at,
            dict(self.outcomes),
            dict(self.statuses),
            self.limit,
            self.in_flight,
            self.requests,
        )


def percentiles(histogram: LatencyHistogram) -> Percentiles | None:
    p50, p90, p99 = histogram.quantiles(0.5, 0.9, 0.99)
    return None if p50 is None or p90 is None or p99 is None else (p50, p90, p99)


class Timeline:
    """Per-second figures of one run. `started` is the run's clock at its start and
    `epoch` the Unix time then: seconds are recorded as Unix seconds."""

    def __init__(self, started: float, epoch: float) -> None:
        self._offset = epoch - started
        self._seconds: deque[_Second] = deque(maxlen=MINUTE)
        self._unwritten: list[_Second] = []
        self._interval_start: int | None = None
        self._interval_ok = LatencyHistogram()
        self._interval_failed = LatencyHistogram()
        self._closed_latency: list[LatencyRecord] = []
        self._events: list[PolicyEvent] = []
        self._breaker = "closed"
        self._pauses = 0
        self._limit = 0
        self._requests = 0
        self._events.append(PolicyEvent(epoch, "run", "started"))

    def _now(self, now: float) -> _Second:
        at = int(self._offset + now)
        if not self._seconds or self._seconds[-1].at < at:
            if self._seconds:
                self._unwritten.append(self._seconds[-1])
            self._seconds.append(_Second(at, limit=self._limit))
            start = at - at % INTERVAL
            if self._interval_start is not None and start > self._interval_start:
                self._close_interval()
            self._interval_start = start
        return self._seconds[-1]

    def _close_interval(self) -> None:
        if self._interval_start is not None and (
            self._interval_ok.count or self._interval_failed.count
        ):
            self._closed_latency.append(
                LatencyRecord(
                    self._interval_start, self._interval_ok.buckets, self._interval_failed.buckets
                )
            )
        self._interval_ok, self._interval_failed = LatencyHistogram(), LatencyHistogram()

    def record(self, outcome: Outcome, now: float) -> None:
        second = self._now(now)
        second.outcomes[outcome.status] += 1
        second.statuses[status_code(outcome)] += 1
        if outcome.latency is not None:
            if outcome.ok:
                second.ok.add(outcome.latency)
                self._interval_ok.add(outcome.latency)
            else:
                second.failed.add(outcome.latency)
                self._interval_failed.add(outcome.latency)

    def sample(
        self,
        now: float,
        *,
        limit: int,
        in_flight: int,
        breaker: str,
        pauses: int,
        paused_for: float,
        requests: int = 0,
    ) -> None:
        """Note where the policies stand; a new breaker state or a new pause is an event.
        `requests`: how many the run has sent so far."""
        self._limit = limit
        second = self._now(now)
        second.limit = limit
        second.in_flight = max(second.in_flight, in_flight)
        second.requests += max(0, requests - self._requests)
        self._requests = max(self._requests, requests)
        at = self._offset + now
        if breaker != self._breaker:
            self._events.append(PolicyEvent(at, "breaker", breaker))
            self._breaker = breaker
        if pauses > self._pauses:
            self._events.append(PolicyEvent(at, "pause", "Retry-After", round(paused_for, 3)))
            self._pauses = pauses

    def recent(self, now: float) -> Recent:
        current = self._now(now)
        by_second = {s.at: s for s in self._seconds}
        first = self._seconds[0].at
        bars = tuple(
            (
                by_second[at].outcomes["ok"],
                by_second[at].outcomes.total() - by_second[at].outcomes["ok"],
            )
            if at in by_second
            else (0, 0)
            for at in range(max(first, current.at - MINUTE + 1), current.at + 1)
        )
        complete = [s for s in self._seconds if current.at - WINDOW <= s.at < current.at]
        ok, failed = LatencyHistogram(), LatencyHistogram()
        for second in [*complete, current]:
            ok.merge(second.ok)
            failed.merge(second.failed)
        span = min(WINDOW, current.at - first)
        if span:
            rate = sum(s.outcomes.total() for s in complete) / span
            requests = sum(s.requests for s in complete) / span
        else:
            part = max(self._offset + now - current.at, 1e-3)
            rate, requests = current.outcomes.total() / part, current.requests / part
        return Recent(
            rows_per_second=rate,
            ok_latency=percentiles(ok),
            failed_latency=percentiles(failed),
            bars=bars,
            requests_per_second=requests,
        )

    def take_closed(self, now: float, final: bool = False) -> Closed:
        """The seconds, latency intervals and events finished since the last call; with
        `final`, the current ones too (the run is over)."""
        self._now(now)
        if final:
            self._unwritten.append(self._seconds[-1])
            self._seconds.append(_Second(self._seconds[-1].at + 1, limit=self._limit))
            self._close_interval()
            self._events.append(PolicyEvent(self._offset + now, "run", "ended"))
        closed = Closed(
            tuple(s.record() for s in self._unwritten if s.outcomes or s.in_flight or s.requests),
            tuple(self._closed_latency),
            tuple(self._events),
        )
        self._unwritten, self._closed_latency, self._events = [], [], []
        return closed
