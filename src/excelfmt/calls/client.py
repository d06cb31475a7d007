"""The sender a run uses (what it brings back is reply.py's).

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
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, TypeAlias

from ..settings.config import Settings
from .reply import Clock, SendsJobs

if TYPE_CHECKING:
    import httpx

    from .aiosender import AiohttpSender
    from .httpxsender import Sender

PlainSender: TypeAlias = "Sender | AiohttpSender"
"""A sender without OAuth2: aiohttp's pool or a given httpx transport."""


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
