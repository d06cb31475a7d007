"""A small orders API for the demo: validates like a real one, answers like a real one.

    python examples/api.py [PORT]        # prints the port it listens on, then serves

POST /orders takes {"Order", "Customer", "Email", "Amount", "Currency", ...}:
201 with an id when the order is good; 422 with field errors for a bad email or amount;
400 for an unsupported currency; 409 when the order number was already sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys

from aiohttp import web

CURRENCIES = {"EUR", "USD", "GBP"}


def create_app() -> web.Application:
    seen: set[str] = set()
    counter = iter(range(1, 10**9))

    async def create_order(request: web.Request) -> web.Response:
        await asyncio.sleep(random.uniform(0.005, 0.04))  # a realistic, uneven latency
        try:
            order = await request.json()
        except ValueError:
            return web.json_response({"message": "body is not JSON"}, status=400)
        errors = []
        if "@" not in str(order.get("Email") or ""):
            errors.append({"field": "Email", "message": "is not an email address"})
        amount = order.get("Amount")
        if not isinstance(amount, int | float) or amount <= 0:
            errors.append({"field": "Amount", "message": "must be a number above 0"})
        if errors:
            return web.json_response({"message": "Validation failed", "errors": errors}, status=422)
        if order.get("Currency") not in CURRENCIES:
            return web.json_response(
                {"message": f"unsupported currency {order.get('Currency')!r}"}, status=400
            )
        number = str(order.get("Order"))
        if number in seen:
            return web.json_response(
                {"title": "Conflict", "detail": f"order {number} already exists"}, status=409
            )
        seen.add(number)
        return web.json_response(
            {"id": f"ord_{next(counter):06d}", "status": "accepted"}, status=201
        )

    app = web.Application()
    app.router.add_post("/orders", create_order)
    return app


async def serve(port: int) -> None:
    runner = web.AppRunner(create_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)  # type: ignore[union-attr]
    await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
