"""OAuth2 client credentials: one access token for every request in flight.

The token is fetched when first needed, renewed shortly before it expires (a tenth of
its lifetime before, at most a minute) and once after the API answers 401 to it; each
time with one request to the token endpoint however many rows are waiting (single
flight: the others wait for its answer, then use it). The token request has its own
timeout and a few retries for an endpoint that is busy or unreachable. Refused client
credentials, or no token after the retries, raise TokenError, which stops the run
(exit 3) with the endpoint's own words. Tokens are never logged or stored: each new one
is handed to the redactor, which masks it in anything shown or written.

Loaded only by runs that use OAuth2 (client.sending), with httpx for the token endpoint.
Written here rather than taken from a library: the sending path hands httpx.Requests to
a transport, without the httpx.AsyncClient auth flows that authlib's and httpx-auth's
integrations plug into; the flow itself is short, and tested against a local server.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import anyio
import httpx

from ..models import Job
from ..settings.config import Settings
from ..settings.credentials import ClientCredentials
from .failures import TokenError
from .reply import Reply, SendsJobs

ATTEMPTS = 3
TIMEOUT = 10.0
_REFUSED = frozenset({400, 401, 403})


class TokenSource:
    """The current access token, fetched and renewed as described above."""

    def __init__(
        self,
        credentials: ClientCredentials,
        client: httpx.AsyncClient,
        *,
        learn: Callable[[str], None] = lambda secret: None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._credentials, self._client = credentials, client
        self._learn, self._clock, self._sleep = learn, clock, sleep
        self._lock = anyio.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self._failed: TokenError | None = None  # once refused, refused for every row

    async def token(self) -> str:
        if self._token is None or self._clock() >= self._renew_at:
            async with self._lock:
                if self._token is None or self._clock() >= self._renew_at:
                    await self._fetch()
        assert self._token is not None
        return self._token

    async def renew(self, rejected: str) -> str:
        """A token other than `rejected`, which the API refused: fetched by the first
        row that asks, and shared by the rest."""
        async with self._lock:
            if self._token == rejected:
                await self._fetch()
        assert self._token is not None
        return self._token

    async def _fetch(self) -> None:
        if self._failed is not None:
            raise self._failed
        try:
            await self._ask()
        except TokenError as exc:
            self._failed = exc
            raise

    async def _ask(self) -> None:
        c = self._credentials
        form = {"grant_type": "client_credentials"}
        form |= {"scope": c.scope} if c.scope else {}
        form |= {"audience": c.audience} if c.audience else {}
        problem = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                await self._sleep(0.5 * 2 ** (attempt - 1))
            try:
                answer = await self._client.post(
                    c.token_url, data=form, auth=(c.client_id, c.client_secret), timeout=TIMEOUT
                )
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
                continue
            said = _said(answer)
            if answer.status_code in _REFUSED:
                raise TokenError(
                    f"The token endpoint {c.token_url} refused the client credentials "
                    f"(HTTP {answer.status_code}{said}); check them and run again"
                )
            token = _access_token(answer)
            if answer.is_success and token:
                self._keep(token, answer)
                return
            problem = f"HTTP {answer.status_code}{said}"
        raise TokenError(
            f"The token endpoint {c.token_url} gave no token after {ATTEMPTS} tries ({problem})"
        )

    def _keep(self, token: str, answer: httpx.Response) -> None:
        self._learn(token)
        self._token = token
        try:
            lifetime = float(answer.json().get("expires_in") or 0)
        except (ValueError, TypeError):
            lifetime = 0.0
        # Without a lifetime the token is kept until the API refuses it.
        early = min(60.0, lifetime / 10)
        self._renew_at = self._clock() + lifetime - early if lifetime > 0 else float("inf")


def _access_token(answer: httpx.Response) -> str | None:
    try:
        token = answer.json().get("access_token")
    except (ValueError, AttributeError):
        return None
    return token if isinstance(token, str) and token else None


def _said(answer: httpx.Response) -> str:
    """The endpoint's error and description (RFC 6749 5.2), if it gave them."""
    try:
        body = answer.json()
        words = [str(body[k]) for k in ("error", "error_description") if body.get(k)]
    except (ValueError, AttributeError):
        return ""
    return f": {' - '.join(words)}" if words else ""


class AuthorizedSender:
    """Sends each job with the current token; after a 401, once more with a new one."""

    def __init__(self, sender: SendsJobs, tokens: TokenSource) -> None:
        self._sender, self.tokens = sender, tokens

    async def send(self, job: Job) -> Reply:
        token = await self.tokens.token()
        reply = await self._sender.send(_with_token(job, token))
        if reply.status == 401:
            fresh = await self.tokens.renew(token)
            if fresh != token:
                reply = await self._sender.send(_with_token(job, fresh))
        return reply


def _with_token(job: Job, token: str) -> Job:
    headers = [(n, v) for n, v in job.headers if n.lower() != "authorization"]
    return replace(job, headers=(*headers, ("Authorization", f"Bearer {token}")))


@contextlib.asynccontextmanager
async def authorized(
    settings: Settings, sender: SendsJobs, learn: Callable[[str], None]
) -> AsyncIterator[SendsJobs]:
    """`sender` adding an OAuth2 token to each request, as the settings ask."""
    assert settings.oauth2 is not None, "client.sending loads this module only for OAuth2"
    verify: ssl.SSLContext | bool = True
    if settings.ca_bundle is not None:
        verify = ssl.create_default_context(cafile=str(settings.ca_bundle))
    async with httpx.AsyncClient(verify=verify, proxy=settings.proxy) as client:
        yield AuthorizedSender(sender, TokenSource(settings.oauth2, client, learn=learn))
