"""When to send a row again: which failures, how long to wait, and how many retries the
API can take.

The per-row loop is tenacity's (one AsyncRetrying per row: a shared one corrupts its
state, tenacity #93). Retries happen only for TEMPORARY_FAILURE, SYSTEM_ERROR and
NETWORK_ERROR, decided on the row's outcome, never on an exception, so cancellation is
never retried (tenacity #529). The wait is capped exponential backoff with full jitter,
unless the API said Retry-After. The retry budget keeps retries from multiplying the
load on an API that is failing: over a sliding window they may add at most `share` of
the first attempts (plus a trickle of 10 a second, so the tail of a run, with few first
attempts left, still makes progress), as Finagle's RetryBudget does with the same
defaults; a retry over budget waits for room rather than failing its row.

When no first attempt has been made for a while (`idle`, one bucket), retries are all
that is left to send: a share of first attempts that no longer come would hold the last
rows of a sheet for up to `ttl` seconds with nothing else going on. Then the budget
steps aside, as gRPC's retry throttling never makes a lone retry wait. What still bounds
the load is what bounds every request: the concurrency limit (cut by the drops the
retries meet), the rate cap and the breaker; retries replace first attempts in those
slots, they cannot multiply the load.
"""

from __future__ import annotations

import math

from ..models import Category

RETRYABLE = frozenset({Category.TEMPORARY_FAILURE, Category.SYSTEM_ERROR, Category.NETWORK_ERROR})


class RetryBudget:
    """Retries allowed as a share of first attempts over the last `ttl` seconds."""

    def __init__(
        self, share: float = 0.2, ttl: float = 10.0, trickle: float = 10.0, buckets: int = 10
    ) -> None:
        self.share = share
        self._trickle_allowance = trickle * ttl
        self._width = ttl / buckets
        self._deposits = [0] * buckets
        self._withdrawals = [0] * buckets
        self._slot = 0
        self._slot_start = -math.inf
        self._last_deposit = -math.inf
        self.first_attempts = 0
        self.retries = 0

    def _advance(self, now: float) -> None:
        """Move the window on to `now`, emptying the buckets that fell out of it."""
        if self._slot_start == -math.inf:
            self._slot_start = now
            return
        passed = int((now - self._slot_start) // self._width)
        if passed <= 0:
            return
        for _ in range(min(passed, len(self._deposits))):
            self._slot = (self._slot + 1) % len(self._deposits)
            self._deposits[self._slot] = self._withdrawals[self._slot] = 0
        self._slot_start += passed * self._width

    def deposit(self, now: float) -> None:
        """A first attempt was made."""
        self._advance(now)
        self._deposits[self._slot] += 1
        self._last_deposit = now
        self.first_attempts += 1

    def try_withdraw(self, now: float) -> bool:
        """Take a retry if the budget has room; False means wait and ask again."""
        self._advance(now)
        room = self.share * sum(self._deposits) + self._trickle_allowance
        only_retries_left = self.first_attempts and now - self._last_deposit >= self._width
        if sum(self._withdrawals) + 1 > room and not only_retries_left:
            return False
        self._withdrawals[self._slot] += 1
        self.retries += 1
        return True

    def use(self, now: float) -> tuple[int, int]:
        """Retries taken in the last `ttl` seconds, and how many it allows there."""
        self._advance(now)
        room = self.share * sum(self._deposits) + self._trickle_allowance
        return sum(self._withdrawals), int(room)

    @property
    def recheck(self) -> float:
        """How long to wait before asking again: a quarter of a bucket, so that a retry
        notices soon when the oldest bucket expires or first attempts stop."""
        return self._width / 4
