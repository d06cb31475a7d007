"""The door's first checks, before any route runs: the Host header, the credentials,
and the body's size.

    request -> HostGuard (a name this server answers to, else 400: DNS rebinding)
            -> Door (a request that may carry a body, to a route that needs a token,
               without a valid token or session: 401 at once, its body unread)
            -> BodyLimit (the route's limit: --max-upload for the upload routes, a few
               hundred kB for every other; Content-Length above it is a 413 at once, a
               body without one is counted as it arrives and cut off past the limit)
            -> the app

Pure ASGI middlewares: they see the request before Starlette reads or parses a byte
of its body, so nothing is read for a caller without a token, and an oversized body is
refused without being read. (A FastAPI dependency would come too late: a route's JSON
or form body is read and parsed before its dependencies run.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import Problem, problem_response

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
SMALL_BODY = 256_000
"""Bytes a request to a route that is not an upload may carry (a login, a resolve, a
corrected row): refused past it, whatever --max-upload allows."""
UPLOAD_ROUTES = re.compile(r"^/api/(jobs|sessions|preview|errors/user-action/[^/]+/fix)$")
"""The routes that take a workbook: the only ones --max-upload applies to."""
OPEN_ROUTES = frozenset({"/api/login", "/login", "/api/logout", "/logout"})
"""The ways in and out, which need no token to be asked."""
BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


def body_limit(path: str, max_upload: int) -> int:
    """The most bytes a request to `path` may carry."""
    return max_upload if UPLOAD_ROUTES.match(path) else min(SMALL_BODY, max_upload)


class Door:
    """Refuses, with 401 and before its body is read, a request that may carry a body to
    a route that needs a token, when its headers carry no valid token or session. The
    route checks the role and the CSRF token again; this only keeps strangers' bytes out
    (a 50 MB JSON body without a token was read and parsed before the 401)."""

    def __init__(self, app: ASGIApp, knows: Callable[[Request], bool]) -> None:
        self.app = app
        self.knows = knows

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODILESS or scope["path"] in OPEN_ROUTES:
            await self.app(scope, receive, send)
            return
        try:
            known = self.knows(Request(scope))
        except Problem as problem:  # an address refused for its wrong tokens: 429
            refused = {**problem.headers, "Connection": "close"}
            await problem_response(problem.status, problem.detail, refused)(scope, receive, send)
            return
        if not known:
            headers = {"WWW-Authenticate": 'Bearer realm="excelfmt"', "Connection": "close"}
            detail = "This needs a token: Authorization: Bearer <token>, or a login."
            await problem_response(401, detail, headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def host_name(header: str) -> str:
    """The name in a Host header, without its port: example.org:8700 -> example.org."""
    header = header.strip().lower()
    if header.startswith("["):  # [::1]:8700
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostGuard:
    """Answers only requests whose Host is one of `names`: a page on another site that
    points its own DNS name at 127.0.0.1 (DNS rebinding) reaches a 400, not the API."""

    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        self.names = {name.lower() for name in names}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if host_name(given) not in self.names:
                detail = (
                    f"This server does not answer to the host {given!r}; "
                    "serve --allow-host NAME adds a name."
                )
                await problem_response(400, detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses a request body above its route's limit with 413, reading no more of it."""

    def __init__(self, app: ASGIApp, max_upload: int) -> None:
        self.app = app
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"], self.max_upload)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not refused:
                    refused = True
                    if not started:
                        await self._refuse(scope, receive, send, limit)
                    # To the app, the client went away: it stops reading and answers no one.
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        if UPLOAD_ROUTES.match(scope["path"]):
            megabytes = limit / 1_000_000
            detail = (
                f"The upload is larger than this server takes ({megabytes:g} MB, --max-upload)."
            )
        else:
            detail = f"The request's body is larger than this route takes ({limit / 1000:g} kB)."
        # Connection: close, so the client stops sending the rest of the body.
        response = problem_response(413, detail, {"Connection": "close"})
        await response(scope, receive, send)
