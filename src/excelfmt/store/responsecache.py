"""--cache-ttl: a repeated look-up is answered from the store, not by the API.

Only requests whose method the settings mark as safe (GET and HEAD by default) and only
successful answers are kept. Identical requests in flight at the same moment share one
call: the first goes out, the others wait for its outcome. An answer from the cache
never passes the rate limiter: it costs the API nothing.

The key is a hash of what makes the answer: method, URL, body, the headers (but not the
Idempotency-Key, which is per row) and the captured paths. Credentials are part of it,
hashed: another account may see other data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import anyio
import diskcache

from ..models import Job, JSONValue, Outcome
from .private import owner_only

_NOT_PART_OF_THE_ANSWER = frozenset({"idempotency-key", "user-agent"})


class Answers(Protocol):
    """Where answers are kept (`Responses` below, or a dict-backed fake in tests)."""

    def get(self, key: str) -> tuple[int, JSONValue] | None: ...
    def put(self, key: str, status: int, response: JSONValue, ttl: float) -> None: ...


@dataclass
class _Flight:
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: Outcome | None = None


class ResponseCache:
    """Answers repeated safe requests from `answers`; counts what it saved in `hits`."""

    def __init__(
        self, answers: Answers, ttl: float, methods: Sequence[str], capture: Sequence[str] = ()
    ) -> None:
        self._answers = answers
        self._ttl = ttl
        self._methods = frozenset(m.upper() for m in methods)
        self._capture = "\n".join(capture).encode()
        self._flights: dict[str, _Flight] = {}
        self.hits = 0

    def key(self, job: Job) -> str | None:
        """The request's cache key, or None when its answer may not be cached."""
        if job.method not in self._methods:
            return None
        digest = hashlib.sha256(f"{job.method} {job.url}\n".encode())
        for name, value in sorted((n.lower(), v) for n, v in job.headers):
            if name not in _NOT_PART_OF_THE_ANSWER:
                digest.update(f"{name}: {value}\n".encode())
        digest.update(b"\n" + (job.body or b"") + b"\n" + self._capture)
        return digest.hexdigest()

    async def serve(
        self, key: str, job: Job, send: Callable[[Job], Awaitable[Outcome | None]]
    ) -> Outcome | None:
        """The kept answer for `job`, a share of the same call in flight, or `send(job)`."""
        kept = self._answers.get(key)
        if kept is not None:
            self.hits += 1
            status, response = kept
            return Outcome(job.row, None, status, None, response, None, 0, cached=True)
        flight = self._flights.get(key)
        if flight is not None:
            await flight.done.wait()
            if flight.outcome is not None:
                self.hits += 1
                return replace(flight.outcome, row=job.row, attempts=0, cached=True)
            return await send(job)  # the shared call was left unfinished (stopping)
        flight = self._flights[key] = _Flight()
        try:
            flight.outcome = await send(job)
            outcome = flight.outcome
            if outcome is not None and outcome.ok and outcome.http_status is not None:
                await anyio.to_thread.run_sync(
                    self._answers.put, key, outcome.http_status, outcome.response, self._ttl
                )
        finally:
            del self._flights[key]
            flight.done.set()
        return flight.outcome


class Responses:
    """Answers kept for --cache-ttl, by request key; bounded in size, oldest dropped first."""

    SIZE_LIMIT = 1 << 30

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._answers = diskcache.Cache(
            str(folder), size_limit=self.SIZE_LIMIT, eviction_policy="least-recently-stored"
        )
        owner_only(folder)

    def get(self, key: str) -> tuple[int, JSONValue] | None:
        found = self._answers.get(key)
        return None if found is None else (int(found[0]), found[1])

    def put(self, key: str, status: int, response: JSONValue, ttl: float) -> None:
        self._answers.set(key, (status, response), expire=ttl)

    def close(self) -> None:
        self._answers.expire()  # what has expired goes now, not when next looked up
        self._answers.close()
        owner_only(self._folder)
