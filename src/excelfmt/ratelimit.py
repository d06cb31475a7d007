"""A rate cap as a pure state machine (GCRA): the caller passes the time in.

GCRA keeps one number, the theoretical arrival time (TAT) of the next request. Each
reservation moves it one interval on, so concurrent callers get distinct, evenly spaced
slots and the rate holds over any window, with no background refill task and no drift.
"""

from __future__ import annotations

import math


class RateLimiter:
    """At most `rate` requests per second, `burst` of them back to back."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive; use no limiter for no cap")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._tat = -math.inf

    def reserve(self, now: float) -> float:
        """Take the next slot; return how many seconds to wait before using it."""
        tat = max(self._tat, now)
        self._tat = tat + self._interval
        return max(0.0, tat - self._tolerance - now)
