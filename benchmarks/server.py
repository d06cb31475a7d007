"""The benchmark's APIs: one process, one port per latency, answering 201 with a small body.

    python benchmarks/server.py 0 50              # prints "0=PORT 50=PORT", serves until killed
    python benchmarks/server.py --aiohttp 0 50    # the same API as an aiohttp app

A user's API runs on another machine. Here it shares the client's two cores, and every
microsecond of CPU it spends on a request is taken from the client being measured, more
from excelfmt (a sending and a workbook process, both busy) than from a baseline that is
one process doing nothing else. So the default server is the leanest Python has: an
asyncio protocol on uvloop with a minimal HTTP/1.1 parser, about 90 µs of CPU a request
where the aiohttp app takes 340 (docs/performance.md measures both). It speaks what the
benchmark's clients send: keep-alive connections, bodies with a Content-Length.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import itertools
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import cast

MAX_HEAD = 64 * 1024


def reply_body(counter: Iterator[int]) -> bytes:
    return b'{"id": %d, "status": "accepted"}' % next(counter)


class LeanApi(asyncio.Protocol):
    """One connection: answers each request `latency` seconds after its body arrived."""

    def __init__(self, latency: float, counter: Iterator[int]) -> None:
        self._latency = latency
        self._counter = counter
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        replies: list[bytes] = []
        close = False
        while not close:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    replies.append(_error(431, "Request Header Fields Too Large"))
                    close = True
                break
            head = buffer[:end].lower()
            if b"\ntransfer-encoding:" in head:
                replies.append(_error(411, "Length Required"))
                close = True
                break
            total = end + 4 + _content_length(head)
            if len(buffer) < total:
                break
            buffer = buffer[total:]
            body = reply_body(self._counter)
            replies.append(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json; charset=utf-8\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            close = b"\nconnection: close" in head
        self._buffer = buffer
        if replies:
            # One timer per read, so replies to pipelined requests keep their order.
            answer = b"".join(replies)
            if self._latency:
                asyncio.get_running_loop().call_later(self._latency, self._write, answer, close)
            else:
                self._write(answer, close)

    def _write(self, answer: bytes, close: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        transport.write(answer)
        if close:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


def _content_length(head: bytes) -> int:
    start = head.find(b"\ncontent-length:")
    if start < 0:
        return 0
    stop = head.find(b"\r", start + 1)
    return int(head[start + 16 : stop if stop >= 0 else None])


def _error(status: int, reason: str) -> bytes:
    return b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % (
        status,
        reason.encode(),
    )


async def serve_lean(latencies_ms: list[int]) -> list[str]:
    loop = asyncio.get_running_loop()
    ports = []
    for latency in latencies_ms:
        protocol = functools.partial(LeanApi, latency / 1000, itertools.count(1))
        server = await loop.create_server(protocol, "127.0.0.1", 0, backlog=1024)
        ports.append(f"{latency}={server.sockets[0].getsockname()[1]}")
    return ports


async def serve_aiohttp(latencies_ms: list[int]) -> list[str]:
    from aiohttp import web

    def handler(latency: float) -> Callable[[web.Request], Awaitable[web.Response]]:
        counter = itertools.count(1)

        async def handle(request: web.Request) -> web.Response:
            await request.read()
            if latency:
                await asyncio.sleep(latency)
            return web.json_response({"id": next(counter), "status": "accepted"}, status=201)

        return handle

    ports = []
    for latency in latencies_ms:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler(latency / 1000))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        ports.append(f"{latency}={site._server.sockets[0].getsockname()[1]}")  # type: ignore[union-attr]
    return ports


async def main(latencies_ms: list[int], kind: str) -> None:
    serve = serve_aiohttp if kind == "aiohttp" else serve_lean
    print(" ".join(await serve(latencies_ms)), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    kind = "aiohttp" if "--aiohttp" in arguments else "lean"
    latencies = [int(a) for a in arguments if a != "--aiohttp"] or [0, 50]
    if kind == "lean" and importlib.util.find_spec("uvloop") is not None:
        import uvloop

        uvloop.run(main(latencies, kind))
    else:
        # asyncio's own loop: where uvloop is missing, and for the aiohttp app as the
        # earlier figures were measured.
        asyncio.run(main(latencies, kind))
