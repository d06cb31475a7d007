"""Baseline clients, each run in its own process: how fast can Python POST at concurrency C?

    python benchmarks/clients.py aiohttp|httpx|httpx-aiohttp URL REQUESTS CONCURRENCY

Prints requests per second. Each sends the same JSON body excelfmt sends for a row.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

BODY = json.dumps(
    {
        "Order": "PO-0000001",
        "Customer": "Customer 001",
        "Email": "billing1@example.com",
        "Amount": 79.19,
        "Date": "2024-01-02",
        "Zip": "00001",
    }
).encode()
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


async def drive(send: Callable[[], Awaitable[None]], requests: int, concurrency: int) -> float:
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await send()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def with_aiohttp(url: str, requests: int, concurrency: int) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send() -> None:
            async with session.post(url, data=BODY, headers=HEADERS) as response:
                await response.read()

        return await drive(send, requests, concurrency)


async def with_httpx(url: str, requests: int, concurrency: int, aiohttp_pool: bool) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    if aiohttp_pool:
        from httpx_aiohttp import HttpxAiohttpClient

        client: httpx.AsyncClient = HttpxAiohttpClient(limits=limits)
    else:
        client = httpx.AsyncClient(limits=limits)
    async with client:

        async def send() -> None:
            (await client.post(url, content=BODY, headers=HEADERS)).read()

        return await drive(send, requests, concurrency)


def main() -> None:
    kind, url, requests, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if kind == "aiohttp":
        rate = asyncio.run(with_aiohttp(url, requests, concurrency))
    else:
        rate = asyncio.run(with_httpx(url, requests, concurrency, kind == "httpx-aiohttp"))
    print(f"{rate:.1f}")


if __name__ == "__main__":
    main()
