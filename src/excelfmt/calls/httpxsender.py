"""Sends a Job through an httpx transport: a run given one (the tests' MockTransport, a
library caller's own) sends through this instead of aiohttp's pool.

It sends httpx.Requests straight to the transport: AsyncClient's per-request work
(merging defaults, cookies, auth and redirect hooks) buys nothing for a batch of
independent API calls. httpx's failures are raised as calls.failures' own.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Iterator
from contextlib import contextmanager
from types import TracebackType

import httpx

from ..models import Job
from .failures import CouldNotConnect, NoAnswerInTime, NoResponse
from .reply import MAX_BODY_BYTES, Clock, Reply

_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})
"""Headers httpx adds or weighs itself; a job that sets one gets httpx's own handling."""


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
        with _as_own_failures():
            response = await self._transport.handle_async_request(request)
        try:
            # One pass over the raw headers: httpx.Headers looks each name up by scanning
            # and decoding them all, and a reply is asked for several.
            headers = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in response.headers.raw
            }
            with _as_own_failures():
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


@contextmanager
def _as_own_failures() -> Iterator[None]:
    """httpx's failures to get an answer as calls.failures', message kept."""
    try:
        yield
    except httpx.TimeoutException as exc:  # connect, read, write or pool timeout
        raise NoAnswerInTime(str(exc) or "timed out") from exc
    except httpx.ConnectError as exc:
        raise CouldNotConnect(str(exc)) from exc
    except httpx.TransportError as exc:
        raise NoResponse(str(exc) or type(exc).__name__) from exc
