"""Wrong tokens per client address: a handful a minute, then 429 until the minute has
gone by. A pure object given the time, like the run's policies.

A token is 32 random bytes, so guessing one is hopeless; what the limit stops is a
client that hammers the login (300 a second were answered before) and a leaked token
tried against many names. It is per address: behind a proxy, what --forwarded-allow-ips
lets uvicorn take from X-Forwarded-For.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

ALLOWED = 10
"""Wrong tokens an address may send in WINDOW seconds."""
WINDOW = 60.0
ADDRESSES = 10_000
"""Addresses remembered at once; past it the one heard from longest ago is forgotten."""


class Guesses:
    def __init__(
        self,
        allowed: int = ALLOWED,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allowed = allowed
        self._window = window
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, address: str) -> float:
        """Seconds until `address` may try a token again; 0 when it may now."""
        failures = self._recent(address)
        if len(failures) < self._allowed:
            return 0.0
        return failures[0] + self._window - self._clock()

    def failed(self, address: str) -> int:
        """Note a wrong token from `address`; how many it sent in the window."""
        failures = self._recent(address)
        failures.append(self._clock())
        self._failures[address] = failures
        self._failures.move_to_end(address)
        while len(self._failures) > ADDRESSES:
            self._failures.popitem(last=False)
        return len(failures)

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.get(address, deque())
        since = self._clock() - self._window
        while failures and failures[0] <= since:
            failures.popleft()
        return failures


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
