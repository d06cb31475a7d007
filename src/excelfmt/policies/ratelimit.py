"""The pool's pace as a pure state machine (GCRA): the caller passes the time in.

GCRA keeps one number, the theoretical arrival time (TAT) of the next request. Each
reservation moves it one interval on, so concurrent callers get distinct, evenly spaced
slots and the rate holds over any window, with no refill task and no drift.

Four things set the interval, and the strictest wins: the configured `--rate`; a rate
the API announced in its RateLimit headers, until that window ends; a rate learned from
its 429s; and, after a pause the API asked for (Retry-After), a ramp that lets the pool
back in over `ramp` seconds instead of all at once at the same millisecond.
"""

from __future__ import annotations

import math
from collections import deque


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
        self._sent: deque[float] = deque()  # slots of the last second
        self._learned: float | None = None
        self._learned_at = -math.inf
        self._grown_at = -math.inf
        self.pauses = 0

    def _interval_at(self, at: float) -> float:
        interval = self._interval
        if at < self._server_until:
            interval = max(interval, self._server_interval)
        if at < self._ramp_until:
            interval = max(interval, self._ramp_interval)
        if self._learned is not None:
            interval = max(interval, 1.0 / self._learned)
        return interval

    def reserve(self, now: float) -> float:
        """Take the next slot; return how many seconds to wait before using it."""
        self._grow(now)
        slot = max(self._tat, now, self._paused_until)
        interval = self._interval_at(slot)
        tolerance = (self.burst - 1) * interval
        self._tat = slot + interval
        self._sent.append(slot)
        while self._sent[0] < slot - 1.0:
            self._sent.popleft()
        return max(0.0, slot - tolerance - now, self._paused_until - now)

    def refused(self, now: float) -> None:
        """The API answered 429: what went out in the last second was too much.

        The pool's rate drops to 90% of that (at most once a second), then grows back by
        5% a second while the API accepts it: additive increase, multiplicative decrease
        on the rate itself, which is what a rate-limited API needs when its answers are
        fast enough that no concurrency limit would hold the pace down.
        """
        if now - self._learned_at < 1.0:
            return
        recent = sum(1 for slot in self._sent if now - 1.0 <= slot <= now)
        base = float(recent) if self._learned is None else min(self._learned, recent or math.inf)
        self._learned = max(1.0, base * 0.9)
        self._learned_at = self._grown_at = now

    def _grow(self, now: float) -> None:
        if self._learned is None:
            return
        while now - self._grown_at >= 1.0:
            self._learned += max(1.0, self._learned * 0.05)
            self._grown_at += 1.0

    @property
    def learned_rate(self) -> float | None:
        """The pace learned from the API's 429s, if any."""
        return self._learned

    def api_pace(self, now: float) -> float | None:
        """Requests per second the API allows now, as its RateLimit headers announced or
        its 429s taught; None when it has said nothing."""
        paces = [1.0 / self._server_interval] if now < self._server_until else []
        if self._learned is not None:
            paces.append(self._learned)
        return min(paces) if paces else None

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
