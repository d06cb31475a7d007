"""Make the README's pictures from a real run: the dashboard (SVG) and the report (PNG).

    .venv/bin/python docs/pictures.py     # the PNG needs chromium (apt-get install chromium)

Starts a local API that behaves like a real one on a bad day (uneven latency, some rows
refused, a few seconds down, one Retry-After), sends a generated sheet to it with
`excelfmt run`'s own code, draws the dashboard as it stood at 70% into an SVG, then writes
the run's HTML report and photographs it in headless chromium.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiohttp import web
from openpyxl import Workbook
from rich.console import Console

from excelfmt.engine import runner
from excelfmt.metrics.counters import Snapshot
from excelfmt.policies.resilience import LiveState
from excelfmt.settings.config import load_settings
from excelfmt.store.folder import Store
from excelfmt.ui.dashboard import Board, DashboardView, render
from excelfmt.ui.reportfile import write_report

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
ROWS = 8000


def serve() -> int:
    """The API, in a thread: its port."""
    started: list[float] = []
    rng = random.Random(7)
    told = set()

    async def order(request: web.Request) -> web.Response:
        body = await request.json()
        now = time.monotonic()
        if not started:
            started.append(now)
        elapsed = now - started[0]
        await asyncio.sleep(rng.lognormvariate(-3.3, 0.35) * (2.5 if 9 < elapsed < 12 else 1))
        if 12 < elapsed < 16:
            return web.json_response({"message": "Service Unavailable"}, status=503)
        if elapsed > 6 and "429" not in told:
            told.add("429")
            return web.json_response({}, status=429, headers={"Retry-After": "2"})
        if body["Email"].endswith("example"):
            return web.json_response({"message": "Email is not an email address"}, status=422)
        if body["Amount"] <= 0:
            return web.json_response({"message": "Amount must be above 0"}, status=422)
        return web.json_response({"id": rng.randrange(10**6)}, status=201)

    app = web.Application()
    app.router.add_post("/orders", order)
    ready = threading.Event()
    port: list[int] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        runner_ = web.AppRunner(app)
        loop.run_until_complete(runner_.setup())
        site = web.TCPSite(runner_, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait()
    return port[0]


def sheet(folder: Path) -> Path:
    book = Workbook()
    rows = book.active
    assert rows is not None
    rows.append(["Order", "Email", "Amount"])
    rng = random.Random(3)
    for n in range(ROWS):
        email = f"c{n}@example" if rng.random() < 0.03 else f"c{n}@example.com"
        rows.append([f"A-{n:05d}", email, -1 if rng.random() < 0.02 else rng.randrange(5, 900)])
    path = folder / "orders.xlsx"
    book.save(path)
    return path


class Photographer(DashboardView):
    """The run's own dashboard, photographed once the run is 70% through."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.taken = False

    def progressed(self, snapshot: Snapshot, live: LiveState) -> None:
        super().progressed(snapshot, live)
        if not self.taken and snapshot.done >= ROWS * 0.7:
            self.taken = True
            with open(os.devnull, "w") as nowhere:
                camera = Console(width=80, record=True, file=nowhere)
                title = "orders.xlsx · sheet Sheet"
                camera.print(render(Board(title, snapshot, live, ROWS), 80))
                camera.save_svg(str(IMAGES / "dashboard.svg"), title="excelfmt run")


def main() -> int:
    IMAGES.mkdir(exist_ok=True)
    port = serve()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        settings = load_settings(
            {
                "url": f"http://127.0.0.1:{port}/orders",
                "concurrency": 16,
                "breaker_min_calls": 20,
                "breaker_wait": 1.0,
                "store": str(folder / "store"),
            },
            env={},
            cwd=folder,
        )
        with Store(folder / "store") as store:
            summary = runner.run(
                settings, sheet(folder), observer=Photographer(Console()), store=store
            )
        report = folder / "report.html"
        write_report(folder / "store", summary.session, report)
        print(f"dashboard: {IMAGES / 'dashboard.svg'}")
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            print("no chromium: the report's screenshot was not taken", file=sys.stderr)
            return 1
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--screenshot={IMAGES / 'report.png'}",
                "--window-size=940,1500",
                report.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"report's screenshot: {IMAGES / 'report.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
