"""The door's first checks, before any route runs: the Host header and the body's size.

    request -> HostGuard (a name this server answers to, else 400: DNS rebinding)
            -> BodyLimit (Content-Length above the limit: 413 at once; a body without
               one is counted as it arrives and cut off past the limit)
            -> the app

Pure ASGI middlewares: they see the request before Starlette reads or parses a byte
of its body, so an oversized upload is refused without being read.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem_response

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


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
    """Refuses a request body above `limit` bytes with 413, reading no more of it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit and not refused:
                    refused = True
                    if not started:
                        await self._refuse(scope, receive, send)
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

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        megabytes = self.limit / 1_000_000
        detail = f"The upload is larger than this server takes ({megabytes:g} MB, --max-upload)."
        # Connection: close, so the client stops sending the rest of the body.
        response = problem_response(413, detail, {"Connection": "close"})
        await response(scope, receive, send)
