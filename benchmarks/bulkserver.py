"""Bulk APIs for the benchmark: one process, one port, a path per style, with a latency
and a rate limit of their own, answering as the real ones do.

    python benchmarks/bulkserver.py LATENCY_MS RATE    # prints "PORT", serves until killed

    POST /salesforce     {"allOrNone": false, "records": [...]} -> [{id, success, errors}]
    POST /elasticsearch  NDJSON action and document lines -> {"errors", "items": [...]}
    POST /array          [...] -> [{"id"}] of the same length
    POST /strict         [...] -> 201 as /array, or 422 for the whole batch when any record
                         is bad (its Order's number a multiple of BAD_EVERY), naming none
    GET  /stats          {"requests", "refused_429", "items"}

RATE requests a second over any one-second window (0: none); past it, 429 with
Retry-After, as a rate-limited API answers. A record is bad when its Order number is a
multiple of BAD_EVERY: 10 of a 40,000-row sheet.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import deque
from typing import Any

from aiohttp import web

BAD_EVERY = 4000


def bad(record: dict[str, Any]) -> bool:
    order = str(record.get("Order", ""))
    digits = "".join(ch for ch in order if ch.isdigit())
    return bool(digits) and int(digits) % BAD_EVERY == 0


class BulkApis:
    def __init__(self, latency: float, rate: float) -> None:
        self.latency = latency
        self.rate = rate
        self.recent: deque[float] = deque()
        self.stats: dict[str, int] = {"requests": 0, "refused_429": 0, "items": 0}

    def over_limit(self) -> bool:
        if not self.rate:
            return False
        now = time.monotonic()
        while self.recent and now - self.recent[0] >= 1.0:
            self.recent.popleft()
        if len(self.recent) >= self.rate:
            return True
        self.recent.append(now)
        return False

    async def handle(self, request: web.Request) -> web.Response:
        if request.path == "/stats":
            return web.json_response(self.stats)
        body = await request.read()
        self.stats["requests"] += 1
        if self.over_limit():
            self.stats["refused_429"] += 1
            return web.json_response(
                {"message": "rate limit"}, status=429, headers={"Retry-After": "1"}
            )
        if self.latency:
            await asyncio.sleep(self.latency)
        style = request.path.strip("/")
        status, answer = getattr(self, f"_{style}")(body)
        return web.Response(status=status, body=json.dumps(answer), content_type="application/json")

    def _salesforce(self, body: bytes) -> tuple[int, Any]:
        records = json.loads(body)["records"]
        self.stats["items"] += len(records)
        results: list[dict[str, Any]] = []
        for record in records:
            if bad(record):
                error = {
                    "statusCode": "INVALID_EMAIL_ADDRESS",
                    "message": "Email: invalid",
                    "fields": ["Email"],
                }
                results.append({"id": None, "success": False, "errors": [error]})
            else:
                results.append({"id": f"001{record['Order']}", "success": True, "errors": []})
        return 200, results

    def _elasticsearch(self, body: bytes) -> tuple[int, Any]:
        lines = body.splitlines()
        documents = [json.loads(line) for line in lines[1::2]]
        self.stats["items"] += len(documents)
        items: list[dict[str, Any]] = []
        for document in documents:
            result: dict[str, Any]
            if bad(document):
                result = {
                    "status": 400,
                    "error": {"type": "mapper_parsing_exception", "reason": "bad Email"},
                }
            else:
                result = {"_id": document["Order"], "status": 201, "result": "created"}
            items.append({"index": {"_index": "orders", **result}})
        errors = any(int(item["index"]["status"]) >= 300 for item in items)
        return 200, {"took": 1, "errors": errors, "items": items}

    def _array(self, body: bytes) -> tuple[int, Any]:
        records = json.loads(body)
        self.stats["items"] += len(records)
        return 201, [{"id": record["Order"]} for record in records]

    def _strict(self, body: bytes) -> tuple[int, Any]:
        records = json.loads(body)
        if any(map(bad, records)):
            self.stats["items"] += len(records)
            return 422, {"message": "The batch has invalid records"}
        return self._array(body)


async def main(latency_ms: float, rate: float) -> None:
    apis = BulkApis(latency_ms / 1000, rate)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", apis.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]), float(sys.argv[2])))
