"""Who is asking, and may they: tokens, the session cookie, CSRF, roles — on every route.

    Authorization: Bearer <token>      -> Identity (API clients; no cookie, no CSRF)
    Cookie: excelfmt_session=<id>       -> Identity; a state-changing request also needs
                                           X-CSRF-Token (or a csrf form field) to match
    GET any page ?token=<token>         -> the cookie set, 303 to the same page without it
    route: Depends(viewer) or Depends(operator): the role is checked here, on the server

A cookie session lives in this process's memory: a restart of the server logs people
out, and nothing about them is written anywhere. The tokens file is looked at on every
request: a token removed from it is refused at once, and so are the cookie sessions it
logged in.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import Depends, Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .guessing import Guesses, retry_after
from .problems import Problem, problem_response
from .tokens import Identity, Tokens, digest

COOKIE = "excelfmt_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SESSION_LIFETIME = 12 * 3600.0
"""Seconds a login lasts."""


@dataclass
class CookieSession:
    identity: Identity
    csrf: str
    expires: float
    token: str = ""
    """The SHA-256 of the token it logged in with: the session ends when that goes."""


@dataclass
class Access:
    """The tokens the server takes and the cookie sessions logged in with them."""

    tokens: Tokens
    clock: Callable[[], float] = time.monotonic
    sessions: dict[str, CookieSession] = field(default_factory=dict)
    guesses: Guesses = field(default_factory=Guesses)
    warn: Callable[[str], None] = lambda text: None
    """Where a wrong token is noted (serve's output): the address, never the token."""

    def current(self) -> Tokens:
        """The tokens as the file holds them now (read again when it changed)."""
        self.tokens = self.tokens.current()
        return self.tokens

    def identify(self, token: str, address: str) -> Identity | None:
        """Whose token this is; a wrong one counts against the address it came from, and
        an address past its share of wrong ones is refused with 429 before a look."""
        wait = self.guesses.wait(address)
        if wait > 0:
            raise Problem(
                429,
                f"Too many wrong tokens from {address}; try again in {retry_after(wait)} s.",
                {"Retry-After": retry_after(wait)},
            )
        identity = self.current().identify(token)
        if identity is None:
            count = self.guesses.failed(address)
            self.warn(f"a wrong token from {address} ({count} in the last minute)")
        return identity

    def login(self, token: str, address: str) -> tuple[str, CookieSession] | None:
        """A new cookie session for a valid token: (the cookie's value, the session)."""
        identity = self.identify(token, address)
        return None if identity is None else self.start(identity, token)

    def start(self, identity: Identity, token: str) -> tuple[str, CookieSession]:
        """A new cookie session for a token already identified."""
        self._forget_expired()
        key = secrets.token_urlsafe(32)
        expires = self.clock() + SESSION_LIFETIME
        made = CookieSession(identity, secrets.token_urlsafe(32), expires, digest(token))
        self.sessions[key] = made
        return key, made

    def logout(self, key: str) -> None:
        self.sessions.pop(key, None)

    def session(self, key: str | None) -> CookieSession | None:
        found = self.sessions.get(key or "")
        if found is None or found.expires < self.clock():
            return None
        if not self.current().holds(found.token):  # its token was removed: logged out
            del self.sessions[key or ""]
            return None
        return found

    def knows(self, request: Request) -> bool:
        """Whether the request's headers carry a valid bearer token or cookie session
        (the role and the CSRF token are the route's to check): the door's question,
        asked before a byte of the body is read."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return self.identify(token.strip(), client_address(request)) is not None
        return self.session(request.cookies.get(COOKIE)) is not None

    def _forget_expired(self) -> None:
        now = self.clock()
        for key in [key for key, s in self.sessions.items() if s.expires < now]:
            del self.sessions[key]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def set_cookie(response: object, request: Request, key: str) -> None:
    response.set_cookie(  # type: ignore[attr-defined]
        COOKIE,
        key,
        max_age=int(SESSION_LIFETIME),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def viewer(request: Request) -> Identity:
    """The identity behind the request; 401 without a valid token or session, 403 for a
    cookie session's state-changing request without its CSRF token."""
    access: Access = request.app.state.access
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        identity = access.identify(token.strip(), client_address(request))
        if identity is None:
            raise _unauthorized("The bearer token is not one this server knows.")
    else:
        cookie = access.session(request.cookies.get(COOKIE))
        if cookie is None:
            raise _unauthorized(
                "Log in first: send Authorization: Bearer <token>, or open the server's "
                "URL with ?token=<token>."
            )
        if request.method not in SAFE_METHODS:
            given = request.headers.get(CSRF_HEADER, "")
            if not given or not hmac.compare_digest(given, cookie.csrf):
                raise Problem(
                    403,
                    f"A change made with the session cookie needs its {CSRF_HEADER} header "
                    "(GET /api/whoami gives it).",
                )
        identity = cookie.identity
    request.state.identity = identity
    return identity


def operator(identity: Identity = Depends(viewer)) -> Identity:
    """The identity, if it is an operator's: the role every change needs."""
    if not identity.operates:
        raise Problem(403, f"The token {identity.name!r} is a viewer's; this needs an operator's.")
    return identity


def refuse_foreign_origin(request: Request) -> None:
    """A login posted from another site's page is refused (login CSRF: it would log the
    browser in as someone else). Browsers send Origin with every cross-site POST."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = f"{request.url.scheme}://{request.url.netloc}"
    allowed: tuple[str, ...] = request.app.state.options.allow_origins
    if origin != own and origin not in allowed:
        raise Problem(403, f"A login from the page of another site ({origin}) is refused.")


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, {"WWW-Authenticate": 'Bearer realm="excelfmt"'})


def _this_site(path: str) -> str:
    """`path` as a redirect that stays on this server: "//evil.example/" (or "/\\evil")
    would be read by a browser as another host, so the leading slashes become one; the
    rest percent-encoded, as a Location header must be."""
    return quote("/" + path.lstrip("/\\"), safe="/:@!$&'()*+,;=-._~")


Ask = Callable[[Request, str, Identity, Identity | None, str], Response]
"""The page that asks before a ?token= login: (request, token, whose it is, who is logged
in now, where to go after)."""


class TokenInUrl:
    """GET ...?token=<token>: logs in with the cookie and redirects to the same address
    without the token, so it stays out of the address bar, the history and the logs.

    It asks first (a page with a button, `ask`) when the link came from another site's
    page (Sec-Fetch-Site, else the Referer: a page elsewhere must not log a browser in
    as the token's owner, a login CSRF) or would replace the browser's own session."""

    def __init__(self, app: ASGIApp, access: Access, ask: Ask) -> None:
        self.app = app
        self.access = access
        self.ask = ask

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or b"token=" not in scope.get("query_string", b"")
        ):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        token = next((value for key, value in query if key == "token"), None)
        if token is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            identity = self.access.identify(token, client_address(request))
        except Problem as problem:
            await problem_response(problem.status, problem.detail, problem.headers)(
                scope, receive, send
            )
            return
        if identity is None:
            detail = "The token in the address is not one this server knows."
            await problem_response(401, detail)(scope, receive, send)
            return
        rest = urlencode([(k, v) for k, v in query if k != "token"])
        target = _this_site(scope.get("root_path", "") + scope["path"]) + (
            f"?{rest}" if rest else ""
        )
        current = self.access.session(request.cookies.get(COOKIE))
        replacing = current is not None and current.identity != identity
        if replacing or _from_another_site(request):
            shown = current.identity if current is not None else None
            await self.ask(request, token, identity, shown, target)(scope, receive, send)
            return
        response = RedirectResponse(target, status_code=303)
        set_cookie(response, request, self.access.start(identity, token)[0])
        await response(scope, receive, send)


def _from_another_site(request: Request) -> bool:
    """Whether the browser followed this link from another site's page."""
    fetched = request.headers.get("sec-fetch-site")
    if fetched is not None:
        return fetched in ("cross-site", "same-site")
    referer = request.headers.get("referer")
    if not referer:
        return False  # typed, a bookmark, or a program: the person's own doing
    own = f"{request.url.scheme}://{request.url.netloc}"
    return not (referer == own or referer.startswith(own + "/"))
