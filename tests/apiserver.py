"""A real HTTP API on 127.0.0.1 for tests: answers as a test tells it, records what it got.

It runs aiohttp in a thread of its own, so tests can drive excelfmt synchronously (the
CLI) or asynchronously while the server keeps answering.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict


@dataclass
class Received:
    method: str
    path: str
    raw_path: str
    headers: CIMultiDict[str]
    """Case-insensitive, as HTTP header names are."""
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 201
    body: Any = None
    """A dict/list is sent as JSON, str as text, bytes as they are; None echoes the request."""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False
    """Drop the connection instead of answering."""


Responder = Callable[[Received], Reply]


def echo(received: Received) -> Reply:
    return Reply(201, {"id": f"id-{len(received.body)}", "received": received.json})


class ApiServer:
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self.received: list[Received] = []
        self.respond: Responder = echo
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test API server did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self._ssl)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        await self._stopping.wait()
        await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = Received(
            request.method,
            request.path,
            request.raw_path,
            CIMultiDict(request.headers),
            await request.read(),
            time.monotonic(),
        )
        with self._lock:
            self.received.append(received)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self.respond(received)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.reset:
                assert request.transport is not None
                request.transport.abort()
                return web.Response(status=500)
            body = received.body if reply.body is None else reply.body
            if isinstance(body, dict | list):
                return web.json_response(body, status=reply.status, headers=reply.headers)
            if isinstance(body, str):
                return web.Response(text=body, status=reply.status, headers=reply.headers)
            return web.Response(body=body, status=reply.status, headers=reply.headers)
        finally:
            with self._lock:
                self.in_flight -= 1
