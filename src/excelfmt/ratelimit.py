"""The pool's pace as a pure state machine (GCRA): the caller passes the time in.

GCRA keeps one number, the theoretical arrival time (TAT) of the next request. Each
reservation moves it one interval on, so concurrent callers get distinct, evenly spaced
slots and the rate holds over any window, with no refill task and no drift.

Three things set the interval, and the strictest wins: the configured `--rate`; a rate
the API announced in its RateLimit headers, until that window ends; and, after a pause
the API asked for (Retry-After), a ramp that lets the pool back in over `ramp` seconds
instead of all at once at the same millisecond.
"""

from __future__ import annotations

import math


class RateLimiter:
    """At most `rate` requests per second (None: no cap of our own), `burst` back to back."""

    def __init__(self, rate: float | None = None, burst: int = 1, ramp: float = 1.0) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive, or None for no cap")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self._ramp = ramp
        self._interval = 1.0 / rate if rate else 0.0
        self._tat = -math.inf
        self._paused_until = -math.inf
        self._server_interval = 0.0
        self._server_until = -math.inf
        self._ramp_interval = 0.0
        self._ramp_until = -math.inf
        self.pauses = 0

    def _interval_at(self, at: float) -> float:
        interval = self._interval
        if at < self._server_until:
            interval = max(interval, self._server_interval)
        if at < self._ramp_until:
            interval = max(interval, self._ramp_interval)
        return interval

    def reserve(self, now: float) -> float:
        """Take the next slot; return how many seconds to wait before using it."""
        slot = max(self._tat, now, self._paused_until)
        interval = self._interval_at(slot)
        tolerance = (self.burst - 1) * interval
        self._tat = slot + interval
        return max(0.0, slot - tolerance - now, self._paused_until - now)

    def pause(self, now: float, seconds: float, pool: int) -> None:
        """Send nothing for `seconds`; then let `pool` requests back in over the ramp."""
        until = now + seconds
        if until <= self._paused_until:
            return
        self.pauses += 1
        self._paused_until = until
        self._tat = max(self._tat, until)
        self._ramp_interval = self._ramp / max(1, pool)
        self._ramp_until = until + self._ramp

    def limit(self, now: float, rate: float, window: float) -> None:
        """The API allows `rate` requests per second for the next `window` seconds."""
        if rate <= 0 or window <= 0:
            return
        self._server_interval = 1.0 / rate
        self._server_until = now + window

    @property
    def paused_until(self) -> float:
        return self._paused_until
