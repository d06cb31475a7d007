"""Send a Job straight through aiohttp's connection pool: the default way rows go out.

The same pool the httpx-aiohttp transport drives, without the httpx Request and Response
built around every row: those cost about a tenth of a millisecond of CPU a row, a third
of what aiohttp itself takes (docs/architecture.md, "Sending"). What goes on the wire is
what went before: the job's headers, aiohttp's defaults for the rest, the same timeouts,
TLS context, proxy and pool size. Failures are raised as calls.failures' own, so a
connection refused reads the same whichever sender met it. A run given an httpx
transport (the tests' MockTransport, a caller's own) goes through httpxsender.Sender.
"""

from __future__ import annotations

import ssl
import time
from types import TracebackType

import aiohttp

from ..errors import UsageError
from ..models import Job
from ..settings.config import Settings
from ..settings.environment import variables
from .failures import CouldNotConnect, NoAnswerInTime, NoResponse
from .reply import MAX_BODY_BYTES, Clock, Reply, plain_http

KEEPALIVE_SECONDS = 5.0
"""How long an idle connection is kept: httpx's default, which the runs had before."""


class AiohttpSender:
    """Sends jobs through one aiohttp session; an async context manager that closes it."""

    def __init__(self, settings: Settings, clock: Clock = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=settings.timeout,  # waiting for a free connection, and connecting
            sock_connect=settings.timeout,
            sock_read=settings.timeout,
        )
        self._proxy = settings.proxy or None
        self._tls = _tls_context(settings)  # loading CA certificates: before the loop starts
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AiohttpSender:
        connector = aiohttp.TCPConnector(
            limit=self._settings.concurrency,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=self._tls,
        )
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, job: Job) -> Reply:
        """Send `job` and read up to MAX_BODY_BYTES of the answer. Raises on no response."""
        assert self._session is not None, "use the sender as an async context manager"
        started = self._clock()
        # try/except, not a context manager: a row's send is the hot path.
        try:
            async with self._session.request(
                job.method,
                job.url,
                headers=job.headers,
                data=job.body or None,
                allow_redirects=False,
                proxy=self._proxy,
            ) as response:
                headers = {
                    name.decode("latin-1").lower(): value.decode("latin-1")
                    for name, value in response.raw_headers
                }
                body = await _read(response.content)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _own_failure(exc) from exc
        return Reply(
            status=response.status,
            headers=headers,
            body=body,
            reason=response.reason or "",
            latency=self._clock() - started,
        )


async def _read(stream: aiohttp.StreamReader) -> bytes:
    """Up to MAX_BODY_BYTES of the body (decompressed by aiohttp if it came compressed)."""
    first = await stream.read(MAX_BODY_BYTES)
    if not first or stream.at_eof():
        return first  # the common case: a small answer, whole in one read
    body = bytearray(first)
    while len(body) < MAX_BODY_BYTES and (chunk := await stream.read(MAX_BODY_BYTES - len(body))):
        body += chunk
    return bytes(body)


def _tls_context(settings: Settings) -> ssl.SSLContext:
    """The TLS context httpx makes for the same settings (httpx.create_ssl_context, here
    without importing httpx): the CA bundle the settings name, else SSL_CERT_FILE or
    SSL_CERT_DIR when set, else certifi's bundle. UsageError if the named one cannot be
    loaded (a missing file, or not PEM certificates)."""
    env = variables()
    cafile: str | None = None
    capath: str | None = None
    if settings.ca_bundle is not None:
        source, cafile = f"--ca-bundle {settings.ca_bundle}", str(settings.ca_bundle)
    elif plain_http(settings):
        # No TLS will be spoken: skip loading the CA certificates (~0.1 s).
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    elif env.get("SSL_CERT_FILE"):
        source, cafile = f"SSL_CERT_FILE={env['SSL_CERT_FILE']}", env["SSL_CERT_FILE"]
    elif env.get("SSL_CERT_DIR"):
        source, capath = f"SSL_CERT_DIR={env['SSL_CERT_DIR']}", env["SSL_CERT_DIR"]
    else:
        import certifi

        source, cafile = "certifi's bundle", certifi.where()
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except OSError as exc:  # ssl.SSLError is one: not PEM certificates
        raise UsageError(
            f"The CA certificates of {source} cannot be loaded: {exc.strerror or exc}."
        ) from None


def _own_failure(exc: aiohttp.ClientError | TimeoutError) -> NoResponse:
    """aiohttp's failure to get an answer as calls.failures', message kept."""
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, no such host, TLS handshake
        return CouldNotConnect(str(exc))
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return NoAnswerInTime(str(exc) or "timed out")
    if isinstance(exc, aiohttp.InvalidURL):
        return NoResponse(f"not a URL that can be sent to: {exc}")
    return NoResponse(str(exc) or type(exc).__name__)  # the server closed the connection, ...
