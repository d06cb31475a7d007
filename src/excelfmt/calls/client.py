"""What sending a Job brings back (Reply), and the sender a run uses.

A run sends through aiohttp's connection pool directly (aiosender.py): httpx's own async
pool collapses under concurrency (encode/httpx#3215), and the httpx Request and Response
around each row cost a third of what aiohttp itself does (docs/performance.md). A caller
that passes an httpx transport (the tests' MockTransport, a caller's own) gets `Sender`,
which sends httpx.Requests straight to it: AsyncClient's per-request work (merging
defaults, cookies, auth and redirect hooks) buys nothing for a batch of independent API
calls.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, TypeAlias

import httpx

from ..models import Job
from ..settings.config import Settings

if TYPE_CHECKING:
    from .aiosender import AiohttpSender

PlainSender: TypeAlias = "Sender | AiohttpSender"
"""A sender without OAuth2: aiohttp's pool or a given httpx transport."""

MAX_BODY_BYTES = 1 << 20
"""Bytes of a response body kept; the rest is not read (a results cell holds 32k)."""

Clock = Callable[[], float]

_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})
"""Headers httpx adds or weighs itself; a job that sets one gets httpx's own handling."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back for one request."""

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
    return Sender(transport, timeout=settings.timeout, clock=clock)


def plain_http(settings: Settings) -> bool:
    """Whether the run speaks no TLS: plain http:// and no https:// proxy."""
    return settings.url.lower().startswith("http://") and not (
        settings.proxy or ""
    ).lower().startswith("https://")


class Sender:
    """Sends jobs through one httpx transport; an async context manager that closes it."""

    def __init__(
        self, transport: httpx.AsyncBaseTransport, *, timeout: float, clock: Clock = time.monotonic
    ) -> None:
        self._transport = transport
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        self._clock = clock
        self._last_url: tuple[str, httpx.URL] = ("", httpx.URL())

    def _url(self, text: str) -> httpx.URL:
        # Most runs send every row to the same URL: parse it once, not once per row.
        if self._last_url[0] != text:
            self._last_url = (text, httpx.URL(text))
        return self._last_url[1]

    async def __aenter__(self) -> Sender:
        await self._transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._transport.__aexit__(exc_type, exc, tb)

    def request(self, job: Job) -> httpx.Request:
        """The httpx.Request for `job`, as httpx builds it from `content=`."""
        url, body = self._url(job.url), job.body
        if not body or any(name.lower() in _FRAMING_HEADERS for name, _ in job.headers):
            return httpx.Request(
                job.method, url, headers=job.headers, content=body, extensions=self._extensions
            )
        # The same headers in the same order (Host first, Content-Length last), without
        # httpx's look-ups of each header by name: 34 -> 9 µs a request.
        raw = [(b"Host", url.netloc)]
        raw += [(name.encode("ascii"), value.encode("ascii")) for name, value in job.headers]
        raw.append((b"Content-Length", b"%d" % len(body)))
        request = httpx.Request(
            job.method,
            url,
            headers=raw,
            stream=httpx.ByteStream(body),
            extensions=self._extensions,
        )
        request.read()  # the transport sends `content`, as for a request built from it
        return request

    async def send(self, job: Job) -> Reply:
        """Send `job` and read up to MAX_BODY_BYTES of the answer. Raises on no response."""
        request = self.request(job)
        started = self._clock()
        response = await self._transport.handle_async_request(request)
        try:
            # One pass over the raw headers: httpx.Headers looks each name up by scanning
            # and decoding them all, and a reply is asked for several.
            headers = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in response.headers.raw
            }
            body = await _read(response, "content-encoding" in headers)
        finally:
            await response.aclose()
        return Reply(
            status=response.status_code,
            headers=headers,
            body=body,
            reason=response.reason_phrase,
            latency=self._clock() - started,
        )


async def _read(response: httpx.Response, encoded: bool) -> bytes:
    """Up to MAX_BODY_BYTES of the body, decompressed if it was sent compressed."""
    # An uncompressed body is read straight from the transport's stream: httpx's decoder
    # and chunker layers would only copy it (a tenth of the CPU per row at 1,000 rows/s).
    chunks: AsyncIterable[bytes]
    if not encoded and isinstance(response.stream, httpx.AsyncByteStream):
        chunks = response.stream
    else:
        chunks = response.aiter_bytes()
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) >= MAX_BODY_BYTES:
            break
    return bytes(body[:MAX_BODY_BYTES])
