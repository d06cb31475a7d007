"""The benchmark's APIs: one process, one port per latency, answering 201 with a small body.

    python benchmarks/server.py 0 50     # prints "0=PORT 50=PORT", serves until killed

aiohttp with a minimal handler: as fast as a Python server gets on this machine, so the
client side is what the benchmark measures.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web


def handler(latency: float) -> Callable[[web.Request], Awaitable[web.Response]]:
    counter = iter(range(1, 1 << 62))

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        if latency:
            await asyncio.sleep(latency)
        return web.json_response({"id": next(counter), "status": "accepted"}, status=201)

    return handle


async def main(latencies_ms: list[int]) -> None:
    ports = []
    for latency in latencies_ms:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler(latency / 1000))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        ports.append(f"{latency}={site._server.sockets[0].getsockname()[1]}")  # type: ignore[union-attr]
    print(" ".join(ports), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [0, 50]))
