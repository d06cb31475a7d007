"""A misbehaving API for the resilience scenarios, measured from the server's side.

    python benchmarks/faultserver.py '{"latency": 0.05, "capacity": 32, "overload": "latency"}'

Prints its port, then serves. Behaviour (all optional, times in seconds from the first
request): `latency`, `jitter`; `capacity` with `overload` "latency" (requests queue and
slow down past it) or "reject" (instant 429 past it); `steps` [[at, capacity], ...];
`rate` (enforced with 429 + Retry-After); `error_rate` (500s); `reset_rate`;
`hang_rate` (answers after 60 s); `down` [from, to] (503s); `retry_after_all`
[from, to, seconds] (every answer a 429 with that Retry-After).

GET /__stats returns what it saw: each request's arrival, status and Idempotency-Key,
and the number in flight sampled every 10 ms.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import time
from collections import deque
from typing import Any

from aiohttp import web


class FaultyApi:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.rng = random.Random(config.get("seed", 1))
        self.started: float | None = None
        self.in_flight = 0
        self.requests: list[tuple[float, int, str]] = []
        self.samples: list[tuple[float, int]] = []
        self.window: deque[float] = deque()

    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started

    def capacity(self) -> int | None:
        capacity = self.config.get("capacity")
        for at, value in self.config.get("steps", []):
            if self.elapsed() >= at:
                capacity = value
        return capacity

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/__stats":
            return web.json_response({"requests": self.requests, "samples": self.samples})
        await request.read()
        if self.started is None:
            self.started = time.monotonic()
            asyncio.get_running_loop().create_task(self.sample())
        self.in_flight += 1
        try:
            status, headers, delay = self.decide()
            key = request.headers.get("Idempotency-Key", "")
            self.requests.append((round(self.elapsed(), 4), status, key))
            if status == 0:
                assert request.transport is not None
                request.transport.abort()
                return web.Response(status=500)
            if delay:
                await asyncio.sleep(delay)
            return web.json_response({"status": status}, status=status, headers=headers)
        finally:
            self.in_flight -= 1

    def decide(self) -> tuple[int, dict[str, str], float]:
        """(status, headers, delay); status 0 means: drop the connection."""
        c, now = self.config, self.elapsed()
        latency = c.get("latency", 0.0) * (1 + self.rng.uniform(-1, 1) * c.get("jitter", 0.0))
        if "retry_after_all" in c:
            start, end, seconds = c["retry_after_all"]
            if start <= now < end:
                return 429, {"Retry-After": str(seconds)}, 0.0
        if "down" in c and c["down"][0] <= now < c["down"][1]:
            return 503, {}, 0.0
        if "rate" in c:
            while self.window and self.window[0] <= now - 1.0:
                self.window.popleft()
            if len(self.window) >= c["rate"]:
                wait = math.ceil(self.window[0] + 1.0 - now)
                return 429, {"Retry-After": str(max(1, wait))}, 0.0
            self.window.append(now)
        roll = self.rng.random()
        if roll < c.get("reset_rate", 0.0):
            return 0, {}, 0.0
        if roll < c.get("reset_rate", 0.0) + c.get("hang_rate", 0.0):
            return 200, {}, 60.0
        if self.rng.random() < c.get("error_rate", 0.0):
            return 500, {}, latency
        capacity = self.capacity()
        if capacity is not None and self.in_flight > capacity:
            if c.get("overload") == "reject":
                return 429, {}, 0.0
            latency *= self.in_flight / capacity
        return 201, {}, latency

    async def sample(self) -> None:
        while True:
            self.samples.append((round(self.elapsed(), 3), self.in_flight))
            await asyncio.sleep(0.01)


async def main(config: dict[str, Any]) -> None:
    api = FaultyApi(config)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", api.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)  # type: ignore[union-attr]
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
