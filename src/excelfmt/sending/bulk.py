"""Many rows a request (--batch): one batch in, an outcome for every one of its rows out.

    rows -> style.wrap -> one request through the dispatcher's policies (its rate slot,
    breaker, gate, retries of the whole) -> style.read -> each row's outcome
        items answered 429/5xx -> sent again, joined by fresh rows (never the ones done)
        the whole refused with a 4xx naming no row -> halves sent again, down to the rows
            that caused it (bisection), at most --bisect-budget extra requests a batch

The pool (sending.pool) forms the batches; this module only sends them. Like the
dispatcher, nothing here raises for a row, and a row left when the run stops is left
unfinished (never emitted), for a later run.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from ..calls.bulk import BulkStyle, style_for, trace_id
from ..calls.classify import classify_status
from ..calls.responses import capture
from ..models import Category, Job, JSONValue, Outcome
from ..policies.retry import RETRYABLE
from ..settings.config import Settings
from ..store import runlog
from .dispatch import Dispatcher

LINGER = 0.05
"""Seconds a batch that is not full waits for more rows: a slow sheet never holds rows
back, and a fast one fills its batches."""
KEPT_BATCH_BODY = 16_384
"""Bytes of a whole-batch answer each of its rows keeps as its response; past it, the
message alone (200 rows each keeping a large error page would swell the store)."""

Emit = Callable[[Sequence[Outcome]], Awaitable[None]]
More = Callable[[list[Job]], list[Job]]
"""More rows, already read, that can share a request with the given ones."""


def sent_alone(job: Job) -> bool:
    """Rows settled without a request: refused locally, or done in the run resumed."""
    return job.problem is not None or job.recorded is not None


@dataclass
class _Tries:
    """Requests each row of a batch went out in, and the bisection requests left."""

    counts: dict[int, int]
    bisect_left: int


class _Batch:
    """One request's rows, made into the request the moment it may go (once: a retry
    sends the same rows)."""

    def __init__(self, style: BulkStyle, jobs: list[Job], more: More | None) -> None:
        self._style = style
        self.jobs = jobs
        self._more = more
        self._made: Job | None = None
        self.local: list[Job] = []
        """Rows taken in with the others that are settled without a request."""

    def request(self) -> Job:
        if self._made is None:
            if self._more is not None:
                joining = self._more(self.jobs)
                self.local = [job for job in joining if sent_alone(job)]
                self.jobs = self.jobs + [job for job in joining if not sent_alone(job)]
            self._made = self._style.wrap(self.jobs)
        return self._made


class BulkDispatcher:
    """Sends batches of rows; made by `handler_for` when the settings ask for --batch."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        style: BulkStyle,
        *,
        size: int,
        max_bytes: int,
        bisect_budget: int,
        status_rules: dict[int, str],
        capture_paths: Sequence[str] = (),
    ) -> None:
        self.dispatcher = dispatcher
        self.style = style
        self.size = size
        self.max_bytes = max_bytes
        self.linger = LINGER
        self._bisect_budget = bisect_budget
        self._rules = status_rules
        self._capture = tuple(capture_paths)

    @property
    def paced(self) -> bool:
        """Whether requests wait for a rate (--rate, the API's 429s, a shared pace)."""
        limiter = self.dispatcher.policies.limiter
        return bool(limiter.rate or limiter.learned_rate or self.dispatcher.shared_paced)

    async def __call__(
        self, jobs: list[Job], more: More, emit: Emit, *, slot_taken: bool = False
    ) -> None:
        """Send `jobs` (one batch, as the pool formed it) and every retry of its rows;
        `emit` each outcome as it is known. `slot_taken`: the pool took the first
        request's rate slot before it took the rows."""
        local = [job for job in jobs if sent_alone(job)]
        if local:
            answered = [await self.dispatcher(job) for job in local]
            await emit([outcome for outcome in answered if outcome is not None])
        pending = [job for job in jobs if not sent_alone(job)]
        tries = _Tries({}, self._bisect_budget)
        retry = 0
        while pending:
            settled, again = await self._send(
                pending, tries, bisecting=False, more=more, slot_taken=slot_taken
            )
            slot_taken = False
            if settled:
                await emit(settled)
            if not again or not await self._wait_to_retry(retry := retry + 1):
                return  # rows still in `again` are left unfinished: the run stops
            pending = again

    async def _wait_to_retry(self, retry: int) -> bool:
        if not await self.dispatcher.retry_allowed():
            return False
        # Capped exponential backoff with full jitter, as between a row's own attempts.
        policies = self.dispatcher.policies
        ceiling = min(policies.backoff_cap, policies.backoff_base * 2 ** (retry - 1))
        await self.dispatcher.sleep(random.uniform(0, ceiling))
        return self.dispatcher.stop_reason is None

    async def _send(
        self,
        jobs: list[Job],
        tries: _Tries,
        *,
        bisecting: bool,
        more: More | None = None,
        slot_taken: bool = False,
    ) -> tuple[list[Outcome], list[Job]]:
        """The outcomes settled by one request of `jobs`, and the rows to send again.
        With `more`, the request takes in rows read meanwhile when its rate slot comes: a
        batch formed while the sheet was opening, or of rows to retry, goes out full."""
        if bisecting:
            self.dispatcher.policies.bisections += 1
            tries.bisect_left -= 1
        batch = _Batch(self.style, jobs, more)
        tried = await self.dispatcher.attempts(batch.request, slot_taken=slot_taken)
        jobs = batch.jobs
        local = [await self.dispatcher(job) for job in batch.local]
        if tried is None:
            return [o for o in local if o is not None], []  # the run stops: unfinished
        attempt, count = tried
        for job in jobs:
            tries.counts[job.row.seq] = tries.counts.get(job.row.seq, 0) + count
        settled, again = await self._answered(jobs, tries, attempt.outcome)
        return [*(o for o in local if o is not None), *settled], again

    async def _answered(
        self, jobs: list[Job], tries: _Tries, whole: Outcome
    ) -> tuple[list[Outcome], list[Job]]:
        if whole.category is Category.REQUIRES_USER_ACTION and len(jobs) > 1:
            return await self._bisect(jobs, tries, whole)
        if whole.category is not None:
            return [self._as_whole(job, whole, tries) for job in jobs], []
        return self._per_item(jobs, whole, tries)

    def _per_item(
        self, jobs: list[Job], whole: Outcome, tries: _Tries
    ) -> tuple[list[Outcome], list[Job]]:
        items = self.style.read(whole.response, len(jobs), [trace_id(job.row) for job in jobs])
        if isinstance(items, str):
            runlog.event(logging.WARNING, "bulk answer not mapped", rows=len(jobs), reason=items)
            unknown = replace(whole, category=Category.UNKNOWN_ERROR, message=f"{items}.")
            return [self._as_whole(job, unknown, tries) for job in jobs], []
        settled, again = [], []
        for job, item in zip(jobs, items, strict=True):
            if item.status is not None:
                category = classify_status(item.status, self._rules)
            else:
                category = Category.REQUIRES_USER_ACTION if item.failed else None
            attempts = tries.counts[job.row.seq]
            if category in RETRYABLE and attempts < self.dispatcher.policies.attempts:
                again.append(job)  # alone: the rows of this batch that are done stay done
                if item.status == 429:
                    self.dispatcher.policies.throttled += 1
                continue
            message = item.message if category is not None else None
            settled.append(
                Outcome(
                    job.row,
                    category,
                    whole.http_status,
                    message,
                    self._kept(item.body, category),
                    whole.latency,
                    attempts,
                )
            )
        return settled, again

    def _kept(self, body: JSONValue, category: Category | None) -> JSONValue:
        if self._capture and category is None:
            return dict(capture(body, self._capture))
        return body

    def _as_whole(self, job: Job, whole: Outcome, tries: _Tries) -> Outcome:
        """The batch's own outcome as one row's (the batch was answered as a whole)."""
        response = whole.response
        if len(str(response)) > KEPT_BATCH_BODY:
            response = None
        elif whole.category is None:
            response = self._kept(response, None)
        return replace(whole, row=job.row, response=response, attempts=tries.counts[job.row.seq])

    async def _bisect(
        self, jobs: list[Job], tries: _Tries, refusal: Outcome
    ) -> tuple[list[Outcome], list[Job]]:
        """A batch refused as a whole, naming no row: send its first half again; if that
        half goes through, the cause is in the second, which is split at once without
        being sent whole; otherwise the second half is sent too. Down to the rows that
        caused it: at most 2·k·⌈log2 N⌉ requests for k bad rows among N, fewer as a rule."""
        middle = len(jobs) // 2
        first, second = jobs[:middle], jobs[middle:]
        settled: list[Outcome] = []
        again: list[Job] = []
        if tries.bisect_left < 1:
            return self._unnarrowed(jobs, tries, refusal), []
        done, retry = await self._send(first, tries, bisecting=True)
        settled.extend(done)
        again.extend(retry)
        if len(second) > 1 and _went_through(first, done):
            done, retry = await self._bisect(second, tries, refusal)
        elif tries.bisect_left < 1:
            done, retry = self._unnarrowed(second, tries, refusal), []
        else:
            done, retry = await self._send(second, tries, bisecting=True)
        settled.extend(done)
        again.extend(retry)
        return settled, again

    def _unnarrowed(self, jobs: list[Job], tries: _Tries, refusal: Outcome) -> list[Outcome]:
        note = (
            f"{refusal.message} (this row's batch was refused as a whole, and "
            "--bisect-budget ran out before the rows that caused it were found)"
        )
        runlog.event(logging.WARNING, "bisect budget spent", rows=len(jobs))
        refused = replace(refusal, message=note)
        return [self._as_whole(job, refused, tries) for job in jobs]


def _went_through(jobs: list[Job], settled: list[Outcome]) -> bool:
    """Whether every row of a half was answered ok: then the batch's cause is elsewhere."""
    return len(settled) == len(jobs) and all(outcome.ok for outcome in settled)


def handler_for(settings: Settings, dispatcher: Dispatcher) -> Dispatcher | BulkDispatcher:
    """What the pool hands rows to: the dispatcher itself, or with --batch, batches of them.
    (The dispatcher of a batched run captures nothing itself: `dispatcher_for` leaves
    capture to this module, which reads each row's item.)"""
    if settings.batch <= 1:
        return dispatcher
    return BulkDispatcher(
        dispatcher,
        style_for(settings),
        size=settings.batch,
        max_bytes=settings.batch_bytes,
        bisect_budget=settings.bisect_budget,
        status_rules=settings.status_rules,
        capture_paths=settings.capture,
    )
