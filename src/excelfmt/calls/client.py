"""What sending a Job brings back (Reply), and the sender a run uses.

A run sends through aiohttp's connection pool directly (aiosender.py): httpx's own async
pool collapses under concurrency (encode/httpx#3215), and the httpx Request and Response
around each row cost a third of what aiohttp itself does (docs/performance.md). A caller
that passes an httpx transport (the tests' MockTransport, a caller's own) gets
httpxsender.Sender. Each sender's module is imported only when it is the one used: a
plain run loads no httpx (0.1 s of its start), an OAuth2 run loads it for the token
endpoint (oauth2.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

from ..models import Job
from ..settings.config import Settings

if TYPE_CHECKING:
    import httpx

    from .aiosender import AiohttpSender
    from .httpxsender import Sender

PlainSender: TypeAlias = "Sender | AiohttpSender"
"""A sender without OAuth2: aiohttp's pool or a given httpx transport."""

MAX_BODY_BYTES = 1 << 20
"""Bytes of a response body kept; the rest is not read (a results cell holds 32k)."""

Clock = Callable[[], float]


@dataclass(slots=True)
class Reply:
    """What came back for one request. Made for every request and never changed; not
    frozen because a frozen dataclass sets each field through object.__setattr__: 1.9 µs
    to make one instead of 0.45."""

    status: int
    headers: Mapping[str, str]
    """Header names in lower case; of a repeated header, the last."""
    body: bytes
    reason: str
    latency: float


def open_sender(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.monotonic,
) -> PlainSender:
    """The sender for these settings: aiohttp's pool, or `transport` when one is given.
    Made before the event loop starts (aiohttp takes 0.3 s to import, while the workbook
    process opens the file), it sends inside `async with`."""
    if transport is None:
        from .aiosender import AiohttpSender

        return AiohttpSender(settings, clock)
    from .httpxsender import Sender

    return Sender(transport, timeout=settings.timeout, clock=clock)


def plain_http(settings: Settings) -> bool:
    """Whether the run speaks no TLS: plain http:// and no https:// proxy."""
    return settings.url.lower().startswith("http://") and not (
        settings.proxy or ""
    ).lower().startswith("https://")


class SendsJobs(Protocol):
    """The seam to the network: a sender (with OAuth2 perhaps) in a run, a scripted fake in
    tests."""

    async def send(self, job: Job) -> Reply: ...


@contextlib.asynccontextmanager
async def sending(
    settings: Settings,
    plain: PlainSender,
    learn: Callable[[str], None],
) -> AsyncIterator[SendsJobs]:
    """What a run, a reprocess, a worker or a bench sends through: `plain` (open_sender's),
    with an OAuth2 token on each request when the settings ask for one (`learn` hears
    tokens)."""
    async with plain:
        if settings.oauth2 is None:
            yield plain
            return
        from .oauth2 import authorized  # and httpx, for the token endpoint

        async with authorized(settings, plain, learn) as sender:
            yield sender
