"""One Job -> one Outcome: wait for a rate slot, send, classify, keep what matters.

Nothing here raises for a row: a refused request, a dropped connection or a bug in
handling one row all become an Outcome, so one row can never stop the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import anyio
import httpx

from .classify import classify_exception, classify_status, describe_exception
from .client import Clock, Sender
from .models import Category, Job, JSONValue, Outcome
from .ratelimit import RateLimiter
from .redaction import Redactor
from .responses import capture, decode_body, error_message

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


def redact_json(value: JSONValue, redact: Redactor) -> JSONValue:
    """Mask secrets in every string of a JSON value (APIs sometimes echo headers back)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_json(item, redact) for item in value]
    if isinstance(value, dict):
        return {redact(key): redact_json(item, redact) for key, item in value.items()}
    return value


class Dispatcher:
    """Handles jobs for one run; call it with a Job to get that row's Outcome."""

    def __init__(
        self,
        sender: Sender,
        *,
        status_rules: Mapping[int, str],
        capture_paths: Sequence[str] = (),
        redactor: Redactor | None = None,
        limiter: RateLimiter | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self._sender = sender
        self._rules = status_rules
        self._capture = tuple(capture_paths)
        self._redact = redactor or Redactor()
        self._limiter = limiter
        self._clock = clock
        self._sleep = sleep

    async def __call__(self, job: Job) -> Outcome:
        if job.problem is not None:
            return Outcome(job.row, Category.REQUIRES_USER_ACTION, message=job.problem)
        try:
            return await self._attempt(job)
        except Exception as exc:  # a bug handling one row must not stop the others
            log.exception("row %d: unexpected error", job.row.number)
            return Outcome(
                job.row,
                Category.UNKNOWN_ERROR,
                message=self._redact(describe_exception(exc)),
                attempts=1,
            )

    async def _attempt(self, job: Job) -> Outcome:
        if self._limiter is not None:
            delay = self._limiter.reserve(self._clock())
            if delay > 0:
                await self._sleep(delay)
        started = self._clock()
        try:
            reply = await self._sender.send(job)
        except (httpx.TransportError, OSError, TimeoutError) as exc:
            return Outcome(
                job.row,
                classify_exception(exc),
                message=self._redact(describe_exception(exc)),
                latency=self._clock() - started,
                attempts=1,
            )
        category = classify_status(
            reply.status, self._rules, retry_after="retry-after" in reply.headers
        )
        body = redact_json(
            decode_body(reply.body, reply.headers.get("content-type", "")), self._redact
        )
        message = None
        if category is not None:
            message = error_message(body, reply.reason) or f"HTTP {reply.status}"
        response: JSONValue = body
        if self._capture:
            response = dict(capture(body, self._capture))
        return Outcome(job.row, category, reply.status, message, response, reply.latency, 1)
