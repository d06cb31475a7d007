"""One Job -> one Outcome, politely: the per-row path through every policy.

    budget (retries only) -> breaker permit -> rate slot -> gate (concurrency) -> send
        -> classify -> tell the limiter, controller and breaker -> retry or done

Nothing here raises for a row: a refused request, a dropped connection or a bug in
handling one row all become an Outcome, so one row can never stop the others. A row
returns None when the run is stopping and the row was not finished: it is left for a
later run, never marked failed. The policies themselves are pure objects in their own
modules; this is the thin async glue around them.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import anyio
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_random_exponential

from ..calls.classify import classify_exception, classify_status, describe_exception
from ..calls.failures import NoResponse, TokenError
from ..calls.reply import Clock, Reply, SendsJobs
from ..calls.responses import capture, decode_body, error_message
from ..models import Category, Job, JSONValue, Outcome
from ..policies.resilience import Policies
from ..policies.retry import RETRYABLE
from ..policies.throttling import read_throttle
from ..redaction import Redactor
from ..settings.config import Settings
from ..store import runlog

if TYPE_CHECKING:  # a type only: a run without --cache-ttl loads no cache
    from ..store.responsecache import ResponseCache

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Pace = Callable[[], Awaitable[float]]
"""A pace shared beyond this process (broker.sharedpace): seconds to wait for a slot."""


# What tells the concurrency controller "too much": the API refused, timed out, or a
# gateway in front of it gave up. A plain 500 is a bug in the API more often than a sign
# of load; cutting concurrency on random 500s would pin it at the minimum (TCP's old
# trouble with random loss), so those go to the breaker and to retries only.
OVERLOAD_STATUSES = frozenset({429, 502, 503, 504})


def replayed(job: Job) -> Outcome:
    """The outcome a resumed run's journal holds for this row."""
    assert job.recorded is not None
    return Outcome.from_recorded(job.row, job.recorded, replayed=True)


def overloaded(category: Category | None, status: int | None) -> bool:
    if category is Category.NETWORK_ERROR:
        return True
    return category is not None and status in OVERLOAD_STATUSES


# What counts against the circuit breaker: the API is broken, not busy and not the data.
BREAKER_FAILURES = frozenset({Category.SYSTEM_ERROR, Category.NETWORK_ERROR})


def redact_json(value: JSONValue, redact: Redactor) -> JSONValue:
    """Mask secrets in every string of a JSON value (APIs sometimes echo headers back)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_json(item, redact) for item in value]
    if isinstance(value, dict):
        return {redact(key): redact_json(item, redact) for key, item in value.items()}
    return value


@dataclass(slots=True)
class Attempt:
    """One try at a row: its outcome, and how long the API asked us to wait, if it did.
    Never changed; not frozen for the reason Reply is not."""

    outcome: Outcome
    retry_after: float | None = None


def dispatcher_for(
    settings: Settings,
    sender: SendsJobs,
    policies: Policies,
    clock: Clock,
    cache: ResponseCache | None = None,
    redactor: Redactor | None = None,
    shared_pace: Pace | None = None,
) -> Dispatcher:
    """The dispatcher a run (or a reprocess, or a queue worker) with these settings uses."""
    return Dispatcher(
        sender,
        policies,
        status_rules=settings.status_rules,
        # A batched run's answers hold many rows: sending.bulk captures from each row's item.
        capture_paths=settings.capture if settings.batch <= 1 else (),
        redactor=redactor or settings.redactor(),
        cache=cache,
        clock=clock,
        shared_pace=shared_pace,
    )


class Dispatcher:
    """Handles jobs for one run; call it with a Job to get that row's Outcome (or None)."""

    def __init__(
        self,
        sender: SendsJobs,
        policies: Policies,
        *,
        status_rules: Mapping[int, str],
        capture_paths: Sequence[str] = (),
        redactor: Redactor | None = None,
        cache: ResponseCache | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Sleep = anyio.sleep,
        shared_pace: Pace | None = None,
    ) -> None:
        self._sender = sender
        self._shared_pace = shared_pace
        self.policies = policies
        self._rules = status_rules
        self._capture = tuple(capture_paths)
        self._redact = redactor or Redactor()
        self._cache = cache
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._backoff = wait_random_exponential(
            multiplier=policies.backoff_base, max=policies.backoff_cap
        )
        self._idle_loops: list[AsyncRetrying] = []
        self.stop_reason: str | None = None
        self.stopping = anyio.Event()

    async def take_slot(self) -> bool:
        """Wait for the next rate slot, for a request yet to be formed (sending.bulk's
        batches take their rows then); False if the run stops meanwhile."""
        delay = self.policies.limiter.reserve(self._clock())
        if delay > 0:
            await self._sleep(delay)
        return not self.stop_reason

    @property
    def shared_paced(self) -> bool:
        """Whether a rate shared beyond this process paces its requests (--queue)."""
        return self._shared_pace is not None

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    def stop(self, reason: str) -> None:
        """Finish nothing new: rows still waiting return None and stay unsent."""
        if self.stop_reason is None:
            runlog.event(logging.ERROR, "stopping the run", reason=reason)
            self.stop_reason = reason
            self.stopping.set()

    async def __call__(self, job: Job) -> Outcome | None:
        if job.problem is not None:
            return Outcome(job.row, Category.REQUIRES_USER_ACTION, message=job.problem)
        if job.recorded is not None:
            return replayed(job)
        if self._cache is not None and (key := self._cache.key(job)) is not None:
            return await self._cache.serve(key, job, self._send_with_retries)
        return await self._send_with_retries(job)

    async def _send_with_retries(self, job: Job) -> Outcome | None:
        try:
            outcome = await self._with_retries(job)
        except Exception as exc:  # a bug handling one row must not stop the others
            log.exception("row %d: unexpected error", job.row.number)
            message = self._redact(describe_exception(exc))
            return Outcome(job.row, Category.UNKNOWN_ERROR, message=message, attempts=1)
        return outcome

    async def _with_retries(self, job: Job) -> Outcome | None:
        tried = await self.attempts(job)
        if tried is None:
            return None
        attempt, count = tried
        return attempt.outcome if count == 1 else replace(attempt.outcome, attempts=count)

    async def attempts(
        self, job: Job | Callable[[], Job], *, slot_taken: bool = False
    ) -> tuple[Attempt, int] | None:
        """Send `job` until it is answered for good or its retries run out: the last
        attempt and how many were made; None when the run stops first. (A batch of rows
        goes this way as one request: sending.bulk, whose `job` is made the moment it may
        go, after its rate slot, and the same on every attempt; `slot_taken`: its first
        attempt's rate slot was taken already, by `take_slot`.)"""
        first = await self._try(job, 1, slot_taken=slot_taken)
        if first is None:
            return None
        if first.outcome.category not in RETRYABLE:
            # Most rows end at their first attempt: tenacity's bookkeeping per attempt (a
            # tenth of the CPU of a row) is only paid by the rows that need a retry.
            return first, 1
        numbers = itertools.count(1)

        async def next_attempt() -> Attempt | None:
            number = next(numbers)
            return first if number == 1 else await self._try(job, number)

        # One AsyncRetrying per row in flight, reused by a later row: sharing one between
        # concurrent rows corrupts its state (tenacity #93), and a fresh one per row
        # leaves some twenty objects in reference cycles, which only the interpreter's
        # full collections free, in pauses of 100 ms and more that stall every request.
        retrying = self._idle_loops.pop() if self._idle_loops else self._retry_loop()
        try:
            attempt: Attempt | None = await retrying(next_attempt)
            count = retrying.statistics["attempt_number"]
        finally:
            self._idle_loops.append(retrying)
        if attempt is None:
            return None
        if self.stop_reason and attempt.outcome.category in RETRYABLE:
            return None  # it would have been retried: unfinished, not failed
        return attempt, count

    def _retry_loop(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.policies.attempts),
            wait=self._wait,
            retry=self._should_retry,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            sleep=self._sleep,
        )

    def _should_retry(self, state: RetryCallState) -> bool:
        if state.outcome is None or state.outcome.failed or self.stop_reason:
            return False
        attempt: Attempt | None = state.outcome.result()
        return attempt is not None and attempt.outcome.category in RETRYABLE

    def _wait(self, state: RetryCallState) -> float:
        attempt: Attempt | None = state.outcome.result() if state.outcome else None
        if attempt is not None and attempt.retry_after is not None:
            wait = attempt.retry_after  # the API's own word beats our backoff
        else:
            wait = float(self._backoff(state))
        if attempt is not None:
            failed = attempt.outcome
            runlog.event(
                logging.INFO,
                "retrying",
                row=failed.row.number,
                attempt=state.attempt_number,
                category=failed.category.value if failed.category else None,
                http_status=failed.http_status,
                message=failed.message,
                wait_s=round(wait, 3),
            )
        return wait

    async def _try(
        self, job: Job | Callable[[], Job], number: int, *, slot_taken: bool = False
    ) -> Attempt | None:
        p = self.policies
        if number == 1:
            p.budget.deposit(self._clock())
        elif not await self.retry_allowed():
            return None
        if not await self._breaker_allows():
            return None
        if not slot_taken:
            delay = p.limiter.reserve(self._clock())
            if delay > 0:
                await self._sleep(delay)
        async with p.gate:
            if self._shared_pace is not None:
                # Inside the gate: a slot taken before it would go by while the request
                # waits for room, and it would leave together with the next one on time.
                shared = await self._shared_pace()
                if shared > 0:
                    await self._sleep(shared)
            if self.stop_reason:
                return None
            attempt = await self._send(job if isinstance(job, Job) else job())
            if attempt is None:
                return None
            if overloaded(attempt.outcome.category, attempt.outcome.http_status):
                # Hold the slot a moment: an instant retry only adds to the API's load.
                await self._sleep(p.controller.hold)
        return attempt

    async def retry_allowed(self) -> bool:
        """Wait for the retry budget to allow one more retry; False if the run stops."""
        while not self.policies.budget.try_withdraw(self._clock()):
            if self.stop_reason:
                return False
            await self._sleep(self.policies.budget.recheck)
        self.policies.retries += 1
        return not self.stop_reason

    async def _breaker_allows(self) -> bool:
        breaker = self.policies.breaker
        while (wait := breaker.permit(self._clock())) > 0:
            outage = breaker.outage(self._clock())
            if outage > self.policies.max_outage:
                self.stop(
                    f"The API kept failing for {outage:.0f} s (the limit is "
                    f"{self.policies.max_outage:.0f} s, --max-outage)"
                )
            if self.stop_reason:
                return False
            await self._sleep(min(wait, 1.0))
        return not self.stop_reason

    async def _send(self, job: Job) -> Attempt | None:
        p = self.policies
        started = self._clock()
        p.requests += 1
        try:
            reply = await self._sender.send(job)
        except TokenError as exc:  # no token for anyone: a stop, not a row's failure
            self.stop(self._redact(str(exc)))
            return None
        except (NoResponse, OSError, TimeoutError) as exc:
            failed = classify_exception(exc)
            now = self._clock()
            self._observe(now, failed, None, None)
            message = self._redact(describe_exception(exc))
            return Attempt(
                Outcome(job.row, failed, message=message, latency=now - started, attempts=1)
            )
        retry_after = self._throttle(reply)
        category = classify_status(reply.status, self._rules, retry_after=retry_after is not None)
        self._observe(self._clock(), category, reply.status, reply.latency)
        if reply.status == 429:
            p.throttled += 1
            if retry_after is not None:
                # A Retry-After means a quota in time: learn the pace it allows. Without
                # one, a 429 is as likely "too many at once", the controller's business.
                p.limiter.refused(self._clock())
        return Attempt(self._outcome(job, reply, category), retry_after)

    def _throttle(self, reply: Reply) -> float | None:
        """Slow the whole pool as the API asks; return its Retry-After for this row."""
        throttle = read_throttle(reply.headers, self._wall_clock())
        if throttle is None:
            return None
        now, p = self._clock(), self.policies
        if throttle.rate is not None:
            p.limiter.limit(now, throttle.rate, throttle.window)
        if throttle.pause is not None and reply.status in (429, 503):
            if throttle.pause > p.max_outage:
                self.stop(
                    f"The API asked to wait {throttle.pause:.0f} s, longer than "
                    f"--max-outage ({p.max_outage:.0f} s)"
                )
            p.limiter.pause(now, throttle.pause, pool=p.gate.limit)
            return throttle.pause
        return None

    def _observe(
        self, now: float, category: Category | None, status: int | None, latency: float | None
    ) -> None:
        p = self.policies
        dropped = overloaded(category, status)
        p.controller.record(
            now,
            latency=None if dropped else latency,
            dropped=dropped,
            in_flight=p.gate.taken,
            refused=status in (429, 503),
        )
        p.gate.set_limit(p.controller.limit)
        slow = latency is not None and p.slow_call > 0 and latency > p.slow_call
        p.breaker.record(now, failure=category in BREAKER_FAILURES, slow=slow)

    def _outcome(self, job: Job, reply: Reply, category: Category | None) -> Outcome:
        body = decode_body(reply.body, reply.headers.get("content-type", ""))
        if self._redact.active:
            body = redact_json(body, self._redact)
        message = None
        if category is not None:
            message = error_message(body, reply.reason) or f"HTTP {reply.status}"
        # A failure keeps the whole body: its field errors are what a person needs.
        captured = self._capture and category is None
        response: JSONValue = dict(capture(body, self._capture)) if captured else body
        return Outcome(job.row, category, reply.status, message, response, reply.latency, 1)
