"""How many requests to keep in flight: a pure controller that follows the API.

Two signals, because each alone is blind (see the resilience issue's notes on Gradient2,
Vegas and error-only AIMD):

* **Drops** — 429s, 503s, 5xx, timeouts, refused connections: the API said "too much".
  The limit is cut by `backoff` (multiplicative decrease, 3%).
* **Queueing** — the median latency of two windows in a row rises above `tolerance`
  times the baseline: requests wait inside the API. The limit is cut in proportion. One
  slow window alone is more often our own pause (a garbage collection, a busy event
  loop) than the API's queue, and cutting on it costs throughput for nothing.

Otherwise, if the limit was actually in use, it grows: doubling until the API first
pushes back (TCP's slow start), then quickly while far below the last point where it
did, one step at a time near it (like TCP CUBIC's plateau), and quickly again once well
past it (the API has grown). A drop pushes back at the limit it cut; a queueing cut at
the limit it cut *to*, the knee, so the limit creeps from there instead of rushing back
into the queue. At most one change per window.

The baseline is the lowest window median recently seen, and it is re-measured every
`probe_every` seconds by quartering the limit for one window (like BBR's ProbeRTT),
counting only requests sent after the probe began, so a floor measured under load
cannot ratchet the limit upwards (Gradient2's drift). While the API keeps answering
with drops, the probe waits: the drops are what hold the limit then, and a probe would
only empty the pipe for nothing. Latency is only taken from responses the API actually
processed: a fast 429 says nothing about how long real work takes (Vegas's trap). Time
is passed in; nothing here sleeps.
"""

from __future__ import annotations

import math
import statistics


class Controller:
    def __init__(
        self,
        *,
        minimum: int = 1,
        maximum: int = 64,
        initial: int | None = None,
        window: float = 0.1,
        min_samples: int = 16,
        tolerance: float = 1.3,
        backoff: float = 0.97,
        probe_every: float = 10.0,
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError("need 1 <= minimum <= maximum")
        self.minimum, self.maximum = minimum, maximum
        self._limit = float(initial if initial is not None else min(maximum, max(minimum, 4)))
        self._window = window
        self._min_samples = min_samples
        self._tolerance = tolerance
        self._backoff = backoff
        self._probe_every = probe_every
        self._baseline: float | None = None
        self._baseline_at = -math.inf
        self._cooldown_until = -math.inf
        self._pushed_back_at: float | None = None  # the limit when the API last pushed back
        self._window_start: float | None = None
        self._latencies: list[float] = []
        self._drops = 0
        self._last_drop = -math.inf
        self._busiest = 0
        self._probing = False
        self._probe_started = -math.inf
        self._slow_windows = 0  # windows in a row whose median was above tolerance
        self.peak = self.limit
        """The highest limit reached in this run."""

    @property
    def limit(self) -> int:
        """How many requests may be in flight now."""
        limit = max(self.minimum, min(self.maximum, math.floor(self._limit)))
        return max(self.minimum, limit // 4) if self._probing else limit

    @property
    def hold(self) -> float:
        """Seconds a slot stays taken after a drop: retrying at once only adds to the load."""
        return self._baseline if self._baseline is not None else self._window

    def record(
        self,
        now: float,
        *,
        latency: float | None,
        dropped: bool,
        in_flight: int,
        refused: bool = False,
    ) -> None:
        """One finished attempt: its latency if the API processed it, whether it was a drop,
        and whether the API said in so many words that it was too many (429, 503)."""
        if self._window_start is None:
            self._window_start = now
        if dropped:
            self._drops += 1
            self._last_drop = now
            if now >= self._cooldown_until and not self._probing:
                # React at once, then not again for a window: one cut per window. When
                # the API says "too many" (429, 503), the first time ends the slow
                # start, which doubled the limit each window: back to the last limit
                # that drew none, half of this one (TCP's ssthresh); a 3% cut from up to
                # twice the API's capacity would take twenty-odd windows, each a burst
                # of 429s. A timeout or a reset may be load or bad luck: 3% only, so
                # that random network failures do not pin the limit at its minimum.
                cut = self._limit * self._backoff
                if refused and self._pushed_back_at is None:
                    cut = self._limit * 0.5
                elif refused:
                    # At least one request fewer: at 17.9, 3% leaves 17 in flight, and
                    # the API refuses the seventeenth again until the next window.
                    cut = min(cut, math.floor(self._limit) - 1)
                self._pushed_back_at = self._limit
                self._limit = max(self.minimum, cut)
                # Requests sent before the cut still answer for a round trip or two.
                self._cooldown_until = now + max(self._window, 2 * self.hold)
        elif latency is not None and not (self._probing and now - latency < self._probe_started):
            # A probe measures only requests sent after it began: the ones sent before
            # waited in the queue the probe is there to drain, and would raise the floor.
            self._latencies.append(latency)
        self._busiest = max(self._busiest, in_flight)
        samples = len(self._latencies) + self._drops
        elapsed = now - self._window_start
        if elapsed >= self._window and (
            samples >= self._min_samples or elapsed >= 10 * self._window
        ):
            self._decide(now)

    def _decide(self, now: float) -> None:
        latencies, drops, busiest = self._latencies, self._drops, self._busiest
        self._window_start, self._latencies, self._drops, self._busiest = now, [], 0, 0
        median = statistics.median(latencies) if latencies else None
        if self._probing:
            self._probing = False
            if median is not None:  # a fresh baseline, measured at a quarter of the load
                self._baseline, self._baseline_at = median, now
            return
        if drops or median is None:
            return  # drops were answered as they came
        if self._baseline is None or median < self._baseline:
            # Between probes the baseline only ever goes down: load cannot raise it.
            self._baseline = median
            if self._baseline_at == -math.inf:
                self._baseline_at = now
        queueing = median > self._baseline * self._tolerance
        settled = now >= self._cooldown_until  # the last cut has had its effect
        self._slow_windows = self._slow_windows + 1 if queueing and settled else 0
        if self._slow_windows >= 2:
            self._slow_windows = 0
            cut = max(0.5, self._baseline / median)  # to where the queue would be empty
            self._limit = max(self.minimum, self._limit * cut)
            self._pushed_back_at = self._limit
            # Requests sent before the cut still come back slow: judge the new limit by
            # the ones sent after it.
            self._cooldown_until = now + 2 * self.hold
        elif not queueing and busiest >= self.limit - 1:
            # Only a limit that is actually in use grows.
            self._limit = min(self.maximum, self._limit + self._step())
            self.peak = max(self.peak, self.limit)
        if min(now - self._baseline_at, now - self._last_drop) >= self._probe_every:
            self._probing, self._probe_started = True, now

    def _step(self) -> float:
        if self._pushed_back_at is None:
            return self._limit  # slow start: double until the API first pushes back
        fast = max(1.0, self._limit * 0.1)
        if self._limit < 0.9 * self._pushed_back_at or self._limit > 1.2 * self._pushed_back_at:
            return fast
        return 1.0
