"""The policies of one run, built from its settings: pace, breaker, concurrency, retries.

Each policy is a plain object in its own module (ratelimit, breaker, adaptive, gate,
retry); this bundles them with the counters the live view and the summary report.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..settings.config import Settings
from .adaptive import Controller
from .breaker import Breaker
from .gate import Gate
from .ratelimit import RateLimiter
from .retry import RetryBudget

PACING_HEADROOM = 0.985
"""The limiter paces 1.5% under --rate: a request never leaves before its slot, but a
late wake-up can bring two closer than one interval, and the cap must hold over any
one-second window as the API measures it."""


@dataclass(frozen=True)
class LiveState:
    """Where the run's policies stand, for the progress view and the JSON summary."""

    limit: int
    in_flight: int
    breaker: str
    retries: int
    throttled: int
    breaker_opened: int
    concurrency_max: int
    paused: bool
    rate: float | None = None
    """The --rate cap, None without one."""
    api_pace: float | None = None
    """Requests per second the API allows now (its headers, its 429s), if it said."""
    breaker_open_for: float = 0.0
    """Seconds until the open breaker lets a probe through."""
    paused_for: float = 0.0
    """Seconds left of a pause the API asked for (Retry-After)."""
    pauses: int = 0
    requests: int = 0
    bisections: int = 0
    batch: int = 1
    """Rows a request (--batch)."""
    retry_budget: tuple[int, int] = (0, 0)
    """Retries taken in the budget's window, and how many it allows there."""
    batches: int | None = None
    """A queued run's batches still in the queue (None: the run is not queued)."""
    workers: tuple[tuple[str, float], ...] = ()
    """A queued run's workers: (host:pid, rows/s)."""


@dataclass
class Policies:
    limiter: RateLimiter
    breaker: Breaker
    controller: Controller
    gate: Gate
    budget: RetryBudget
    attempts: int
    """First try plus retries."""
    max_outage: float
    auth_failures: int
    slow_call: float
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retries: int = 0
    throttled: int = 0
    requests: int = 0
    """Requests sent, first tries and retries: with --batch, fewer than rows."""
    bisections: int = 0
    """Requests spent narrowing a batch refused as a whole down to its bad rows."""
    batch: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> Policies:
        controller = Controller(minimum=settings.min_concurrency, maximum=settings.concurrency)
        return cls(
            limiter=RateLimiter(settings.rate * PACING_HEADROOM or None, settings.burst),
            breaker=Breaker(
                window=settings.breaker_window,
                min_calls=settings.breaker_min_calls,
                failure_rate=settings.breaker_failure_rate,
                slow_rate=settings.breaker_slow_rate,
                wait=settings.breaker_wait,
            ),
            controller=controller,
            gate=Gate(controller.limit),
            budget=RetryBudget(share=settings.retry_budget),
            attempts=settings.retries + 1,
            max_outage=settings.max_outage,
            auth_failures=settings.auth_failures,
            slow_call=settings.slow_call,
            backoff_base=settings.retry_wait,
            backoff_cap=settings.retry_max_wait,
            batch=settings.batch,
        )

    def live(self, now: float) -> LiveState:
        return LiveState(
            limit=self.gate.limit,
            in_flight=self.gate.taken,
            breaker=self.breaker.state.value,
            retries=self.retries,
            throttled=self.throttled,
            breaker_opened=self.breaker.trips,
            concurrency_max=self.controller.peak,
            paused=self.limiter.paused_until > now,
            rate=self.limiter.rate / PACING_HEADROOM if self.limiter.rate else None,
            api_pace=self.limiter.api_pace(now),
            breaker_open_for=self.breaker.open_for(now),
            paused_for=max(0.0, self.limiter.paused_until - now),
            pauses=self.limiter.pauses,
            requests=self.requests,
            bisections=self.bisections,
            batch=self.batch,
            retry_budget=self.budget.use(now),
        )
