"""A circuit breaker as a pure state machine (resilience4j's model); time is passed in.

    CLOSED ──failure rate or slow-call rate over threshold──▶ OPEN
    OPEN ──wait elapsed──▶ HALF_OPEN (a fixed number of probe calls go through)
    HALF_OPEN ──every probe succeeds──▶ CLOSED      ──a probe fails──▶ OPEN (longer wait)

The window counts the last `window` calls, and nothing is judged before `min_calls`.
While OPEN, callers are told how long to wait, not refused: an outage makes rows wait
instead of failing them. The wait grows on repeated trips (doubling, capped, jittered so
that waiting workers do not all return at once), and the time spent in an outage is
tracked so that the run can stop cleanly when it lasts too long.
"""

from __future__ import annotations

import random
from collections import deque
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Breaker:
    def __init__(
        self,
        *,
        window: int = 50,
        min_calls: int = 20,
        failure_rate: float = 0.5,
        slow_rate: float = 1.0,
        wait: float = 5.0,
        max_wait: float = 60.0,
        probes: int = 1,
        rng: random.Random | None = None,
    ) -> None:
        self._calls: deque[tuple[bool, bool]] = deque(maxlen=window)
        # Running counts of the window's failures and slow calls: a sum over the window
        # per call would cost O(window), and the window may be thousands of calls.
        self._failures = 0
        self._slows = 0
        self._min_calls = min(min_calls, window)
        self._failure_rate = failure_rate
        self._slow_rate = slow_rate
        self._base_wait = wait
        self._max_wait = max_wait
        self._probes = probes
        self._rng = rng or random.Random()
        self.state = State.CLOSED
        self.trips = 0
        """How many times the breaker has opened in this run."""
        self._streak = 0  # trips since the breaker last closed: the wait grows with it
        self._open_until = 0.0
        self._outage_started: float | None = None
        self._probes_out = 0
        self._probes_ok = 0

    def permit(self, now: float) -> float:
        """0 to go ahead now (count the call with `record`); else seconds to wait first."""
        if self.state is State.OPEN:
            if now < self._open_until:
                return self._open_until - now
            self.state, self._probes_out, self._probes_ok = State.HALF_OPEN, 0, 0
        if self.state is State.HALF_OPEN:
            if self._probes_out >= self._probes:
                # Probes are out: ask again about when one of them should have answered.
                return max(0.05, self._base_wait * 0.1)
            self._probes_out += 1
        return 0.0

    def record(self, now: float, *, failure: bool, slow: bool = False) -> None:
        """Count the result of a permitted call."""
        if self.state is State.HALF_OPEN:
            if failure or slow:
                self._open(now)
                return
            self._probes_ok += 1
            if self._probes_ok >= self._probes:
                self._close()
            return
        if self.state is State.OPEN:
            return  # a call permitted before the trip answered late: already judged
        calls = self._calls
        if len(calls) == calls.maxlen:
            dropped_failure, dropped_slow = calls[0]  # about to leave the window
            self._failures -= dropped_failure
            self._slows -= dropped_slow
        calls.append((failure, slow))
        self._failures += failure
        self._slows += slow
        if len(calls) < self._min_calls:
            return
        if self._failures >= self._failure_rate * len(calls) or (
            self._slow_rate < 1.0 and self._slows >= self._slow_rate * len(calls)
        ):
            self._open(now)

    def open_for(self, now: float) -> float:
        """Seconds the breaker stays open from `now` (0 unless open)."""
        return max(0.0, self._open_until - now) if self.state is State.OPEN else 0.0

    def outage(self, now: float) -> float:
        """Seconds since the breaker first opened without closing again (0 when closed)."""
        return 0.0 if self._outage_started is None else now - self._outage_started

    def _open(self, now: float) -> None:
        self.state = State.OPEN
        self.trips += 1
        self._streak += 1
        wait = min(self._max_wait, self._base_wait * 2 ** (self._streak - 1))
        self._open_until = now + wait * self._rng.uniform(0.8, 1.2)
        if self._outage_started is None:
            self._outage_started = now
        self._forget_calls()

    def _close(self) -> None:
        self.state = State.CLOSED
        self._streak = 0
        self._outage_started = None
        self._forget_calls()

    def _forget_calls(self) -> None:
        self._calls.clear()
        self._failures = self._slows = 0
